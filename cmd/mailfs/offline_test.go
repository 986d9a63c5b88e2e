package main

import (
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
	for _, how := range []string{"url", "daemon", "config", "account"} {
		t.Run(how, func(t *testing.T) {
			cacheDir := filepath.Join(t.TempDir(), "cache")
			state := t.TempDir()
			args := func(dir string) []string {
				// Listings are kept 10 minutes: only pushed changes show
				// within the test's deadlines.
				a := []string{"mount", "--disk-cache", "1GiB", "--cache-dir", cacheDir, "--poll-interval", "10m"}
				switch how {
				case "url", "daemon":
					a = append(a, url, dir)
				case "config":
					a = append(a, "--config", config, dir)
				case "account":
					a = append(a, "--config", twoConfig, "--account", "one", dir)
				}
				if how == "daemon" {
					a = append(a[:1], append([]string{"--daemon"}, a[1:]...)...)
				}
				return a
			}
			env := []string{"MAILFS_PASSWORD=" + s.pass, "XDG_STATE_HOME=" + state}
			// A config's account is its own directory unless it is
			// mounted alone at the root.
			rootOf := func(dir string) string {
				if _, err := os.Stat(filepath.Join(dir, "INBOX")); err == nil {
					return dir
				}
				return filepath.Join(dir, "one")
			}

			// Warm the cache: a mount that reads everything.
			dir := t.TempDir()
			cmd, stderr := startMount(t, dir, env, args(dir)...)
			if how == "daemon" {
				// startMount waited for the mount; the daemon parent exits 0.
				waitExit(t, cmd, stderr)
			}
			if out, err := exec.Command("grep", "-rl", sample.PlantedWord, rootOf(dir)).CombinedOutput(); err != nil {
				t.Fatalf("grep while online: %v %s", err, out)
			}
			inbox := messagesIn(t, rootOf(dir), "INBOX")
			unmountCLI(t, dir)

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
			code, msg := runCLIEnv(t, env, "mount", url, t.TempDir())
			if code != exitUnreachable || !strings.Contains(msg, "cannot reach") {
				t.Fatalf("offline without a disk cache: exit %d, %q", code, msg)
			}
			dir = t.TempDir()
			cmd, stderr = startMount(t, dir, env, args(dir)...)
			if how == "daemon" {
				waitExit(t, cmd, stderr)
			}
			root := rootOf(dir)
			if got := messagesIn(t, root, "INBOX"); strings.Join(got, "\n") != strings.Join(inbox, "\n") {
				t.Fatalf("INBOX offline:\n%v\nwant\n%v", got, inbox)
			}
			if out, err := exec.Command("grep", "-rl", sample.PlantedWord, root).CombinedOutput(); err != nil || !strings.Contains(string(out), "Projects") {
				t.Fatalf("grep offline: %v %s", err, out)
			}
			st, err := exec.Command(mailfsBin, "status", dir).Output()
			if err != nil || !strings.Contains(string(st), "DISCONNECTED") {
				t.Fatalf("status offline: %v\n%s", err, st)
			}
			// A file written offline waits for the server.
			note := "From: me@example.com\r\nSubject: written offline\r\nMessage-ID: <offline-" + how + "@example.com>\r\n\r\nkept\r\n"
			if err := os.WriteFile(filepath.Join(root, "Drafts", "offline.eml"), []byte(note), 0o600); err != nil {
				t.Fatalf("writing offline: %v", err)
			}
			if st, _ := exec.Command(mailfsBin, "status", dir).Output(); !strings.Contains(string(st), "offline.eml") {
				t.Errorf("status does not list the file waiting for the server:\n%s", st)
			}
			// The server comes back with new mail in INBOX.
			if err := d.Start(); err != nil {
				t.Fatal(err)
			}
			restarted = true
			appendTo(t, s, "INBOX", "From: b@example.com\r\nSubject: while away\r\nMessage-ID: <away-"+how+"@example.com>\r\n\r\nnew\r\n")
			waitFor(t, 60*time.Second, "the offline file stored", func() error {
				if !serverHas(t, s, "Drafts", "<offline-"+how+"@example.com>") {
					return fmt.Errorf("not on the server yet")
				}
				return nil
			})
			waitFor(t, 90*time.Second, "the new mail listed", func() error {
				if got := messagesIn(t, root, "INBOX"); len(got) != len(inbox)+1 {
					return fmt.Errorf("%d messages, want %d", len(got), len(inbox)+1)
				}
				return nil
			})
			// The server offers NOTIFY; learnt once it answered.
			waitFor(t, 30*time.Second, "status saying NOTIFY after the server came back", func() error {
				st, err := exec.Command(mailfsBin, "status", dir).Output()
				if err != nil || !strings.Contains(string(st), "changes:        NOTIFY") {
					return fmt.Errorf("%v: %s", err, st)
				}
				return nil
			})
			work := messagesIn(t, root, "Work")
			appendTo(t, s, "Work", "From: c@example.com\r\nSubject: pushed\r\nMessage-ID: <pushed-"+how+"@example.com>\r\n\r\nnew\r\n")
			waitFor(t, 30*time.Second, "new mail in Work, pushed by NOTIFY started after the server came back", func() error {
				if got := messagesIn(t, root, "Work"); len(got) != len(work)+1 {
					return fmt.Errorf("%d messages, want %d", len(got), len(work)+1)
				}
				return nil
			})
			unmountCLI(t, dir)
			if how != "daemon" {
				if code := waitExit(t, cmd, stderr); code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
			}
		})
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
