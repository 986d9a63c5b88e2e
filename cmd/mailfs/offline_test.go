package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/internal/sample"
	"mailfs/internal/testenv"
)

// TestCLIOfflineFromDiskCache: with a warm disk cache and the server
// down, a single-account mount comes up (a URL, --daemon, a one-account
// config, --account of a config), serves what the cache kept, keeps a
// file written meanwhile, and once the server is back stores the file
// and shows mail that arrived meanwhile, without a remount. Without a
// cache, the same mount fails fast with exit 4.
func TestCLIOfflineFromDiskCache(t *testing.T) {
	testenv.RequireFUSE(t)
	d := testenv.StartDovecot(t)
	s := &server{kind: "dovecot", addr: d.Addr, user: d.User, pass: d.Password}
	s.seedSample(t)
	url := "imap+insecure://" + s.user + "@" + s.addr
	config := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(config, fmt.Appendf(nil, `
[accounts.one]
url = %q
password-command = "printf %%s %s"
`, url, s.pass), 0o600); err != nil {
		t.Fatal(err)
	}
	twoConfig := filepath.Join(t.TempDir(), "two.toml")
	if err := os.WriteFile(twoConfig, fmt.Appendf(nil, `
[accounts.one]
url = %q
password-command = "printf %%s %s"

[accounts.other]
url = "imap+insecure://nobody@127.0.0.1:1"
password-command = "printf x"
`, url, s.pass), 0o600); err != nil {
		t.Fatal(err)
	}
	// The four ways run side by side, so that the server stops and
	// starts once and their waits for it overlap.
	type way struct {
		how, cacheDir, dir, root string
		env                      []string
		cmd                      *exec.Cmd
		stderr                   *bytes.Buffer
		inbox                    []string
	}
	var ways []*way
	for _, how := range []string{"url", "daemon", "config", "account"} {
		ways = append(ways, &way{how: how, cacheDir: filepath.Join(t.TempDir(), "cache"),
			env: []string{"MAILFS_PASSWORD=" + s.pass, "XDG_STATE_HOME=" + t.TempDir()}})
	}
	args := func(w *way) []string {
		// Listings are kept 10 minutes: only pushed changes show within
		// the test's deadlines.
		a := []string{"mount", "--disk-cache", "1GiB", "--cache-dir", w.cacheDir, "--poll-interval", "10m"}
		switch w.how {
		case "url", "daemon":
			a = append(a, url, w.dir)
		case "config":
			a = append(a, "--config", config, w.dir)
		case "account":
			a = append(a, "--config", twoConfig, "--account", "one", w.dir)
		}
		if w.how == "daemon" {
			a = append(a[:1], append([]string{"--daemon"}, a[1:]...)...)
		}
		return a
	}
	// A config's account is its own directory unless it is mounted alone
	// at the root.
	rootOf := func(dir string) string {
		if _, err := os.Stat(filepath.Join(dir, "INBOX")); err == nil {
			return dir
		}
		return filepath.Join(dir, "one")
	}
	mount := func(w *way) {
		t.Helper()
		w.dir = t.TempDir()
		w.cmd, w.stderr = startMount(t, w.dir, w.env, args(w)...)
		if w.how == "daemon" {
			waitExit(t, w.cmd, w.stderr) // the parent exits 0 once mounted
		}
		w.root = rootOf(w.dir)
	}
	unmount := func(w *way) {
		t.Helper()
		unmountCLI(t, w.dir)
		if w.how != "daemon" {
			if code := waitExit(t, w.cmd, w.stderr); code != 0 {
				t.Fatalf("%s: exit %d: %s", w.how, code, w.stderr)
			}
		}
	}
	// Warm each cache: a mount that reads everything.
	for _, w := range ways {
		mount(w)
		if out, err := exec.Command("grep", "-rl", sample.PlantedWord, w.root).CombinedOutput(); err != nil {
			t.Fatalf("%s: grep while online: %v %s", w.how, err, out)
		}
		w.inbox = messagesIn(t, w.root, "INBOX")
		unmount(w)
	}

	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			d.Start()
		}
	})
	// Without the cache: exit 4 at once.
	code, msg := runCLIEnv(t, ways[0].env, "mount", url, t.TempDir())
	if code != exitUnreachable || !strings.Contains(msg, "cannot reach") {
		t.Fatalf("offline without a disk cache: exit %d, %q", code, msg)
	}
	for _, w := range ways {
		mount(w)
		if got := messagesIn(t, w.root, "INBOX"); strings.Join(got, "\n") != strings.Join(w.inbox, "\n") {
			t.Fatalf("%s: INBOX offline:\n%v\nwant\n%v", w.how, got, w.inbox)
		}
		if out, err := exec.Command("grep", "-rl", sample.PlantedWord, w.root).CombinedOutput(); err != nil || !strings.Contains(string(out), "Projects") {
			t.Fatalf("%s: grep offline: %v %s", w.how, err, out)
		}
		st, err := exec.Command(mailfsBin, "status", w.dir).Output()
		if err != nil || !strings.Contains(string(st), "DISCONNECTED") {
			t.Fatalf("%s: status offline: %v\n%s", w.how, err, st)
		}
		// A file written offline waits for the server.
		note := "From: me@example.com\r\nSubject: written offline\r\nMessage-ID: <offline-" + w.how + "@example.com>\r\n\r\nkept\r\n"
		if err := os.WriteFile(filepath.Join(w.root, "Drafts", "offline.eml"), []byte(note), 0o600); err != nil {
			t.Fatalf("%s: writing offline: %v", w.how, err)
		}
		if st, _ := exec.Command(mailfsBin, "status", w.dir).Output(); !strings.Contains(string(st), "offline.eml") {
			t.Errorf("%s: status does not list the file waiting for the server:\n%s", w.how, st)
		}
	}
	// The server comes back with new mail in INBOX.
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	appendTo(t, s, "INBOX", "From: b@example.com\r\nSubject: while away\r\nMessage-ID: <away@example.com>\r\n\r\nnew\r\n")
	for _, w := range ways {
		waitFor(t, 60*time.Second, w.how+": the offline file stored", func() error {
			if !serverHas(t, s, "Drafts", "<offline-"+w.how+"@example.com>") {
				return fmt.Errorf("not on the server yet")
			}
			return nil
		})
		waitFor(t, 90*time.Second, w.how+": the new mail listed", func() error {
			if got := messagesIn(t, w.root, "INBOX"); len(got) != len(w.inbox)+1 {
				return fmt.Errorf("%d messages, want %d", len(got), len(w.inbox)+1)
			}
			return nil
		})
		// The server offers NOTIFY; learnt once it answered.
		waitFor(t, 30*time.Second, w.how+": status saying NOTIFY after the server came back", func() error {
			st, err := exec.Command(mailfsBin, "status", w.dir).Output()
			if err != nil || !strings.Contains(string(st), "changes:        NOTIFY") {
				return fmt.Errorf("%v: %s", err, st)
			}
			return nil
		})
	}
	work := make([][]string, len(ways))
	for i, w := range ways {
		work[i] = messagesIn(t, w.root, "Work")
	}
	appendTo(t, s, "Work", "From: c@example.com\r\nSubject: pushed\r\nMessage-ID: <pushed@example.com>\r\n\r\nnew\r\n")
	for i, w := range ways {
		waitFor(t, 30*time.Second, w.how+": new mail in Work, pushed by NOTIFY started after the server came back", func() error {
			if got := messagesIn(t, w.root, "Work"); len(got) != len(work[i])+1 {
				return fmt.Errorf("%d messages, want %d", len(got), len(work[i])+1)
			}
			return nil
		})
	}
	for _, w := range ways {
		unmount(w)
	}
}

func messagesIn(t *testing.T, root, mailbox string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, mailbox))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".eml") {
			names = append(names, e.Name())
		}
	}
	return names
}

func unmountCLI(t *testing.T, dir string) {
	t.Helper()
	if code, msg := runCLI(t, "", "umount", dir); code != 0 {
		t.Fatalf("umount: %d %s", code, msg)
	}
	waitFor(t, 20*time.Second, "unmounted", func() error {
		if testenv.IsMounted(dir) {
			return fmt.Errorf("still mounted")
		}
		return nil
	})
}

func imapLogin(t *testing.T, s *server) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(s.user, s.pass).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func appendTo(t *testing.T, s *server, mailbox, body string) {
	t.Helper()
	c := imapLogin(t, s)
	defer c.Close()
	cmd := c.Append(mailbox, int64(len(body)), nil)
	cmd.Write([]byte(body))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func serverHas(t *testing.T, s *server, mailbox, msgID string) bool {
	t.Helper()
	c := imapLogin(t, s)
	defer c.Close()
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: msgID}}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return len(found.AllUIDs()) > 0
}
