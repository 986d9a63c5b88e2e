package fs_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailfs/imapback"
)

// TestGitInitInMailbox: a directory whose name starts with a dot, made in
// a mailbox (git init's .git), lives in this mount only: no CREATE on the
// server, git works in it, and rm -r removes it.
func TestGitInitInMailbox(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("MAILFS_TEST_STRICT") != "0" {
			t.Fatal("git not found: apt-get install git")
		}
		t.Skip("git not found")
	}
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		before := p.mailboxes()
		work := filepath.Join(m.dir, "Work")
		git := func(args ...string) string {
			t.Helper()
			cmd := exec.Command("git", append([]string{"-C", work, "-c", "user.email=a@example.com", "-c", "user.name=a"}, args...)...)
			cmd.Dir = t.TempDir()
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
			return string(out)
		}
		git("init", "-q")
		git("add", "-A")
		git("commit", "-q", "-m", "mail as it was")
		if out := git("log", "--oneline"); !strings.Contains(out, "mail as it was") {
			t.Fatalf("git log: %q", out)
		}
		after := p.mailboxes()
		if len(after) != len(before) {
			t.Fatalf("mailboxes before %v, after %v", before, after)
		}
		for mb := range after {
			if strings.Contains(mb, ".git") {
				t.Fatalf("a mailbox %q was made on the server", mb)
			}
		}
		if err := os.RemoveAll(filepath.Join(work, ".git")); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(work, ".git")); !os.IsNotExist(err) {
			t.Fatalf(".git after rm -r: %v", err)
		}
	})
}

// TestEditThroughSearchResult: sed -i on a message reached through a
// .search result saves a new version of that message (its temporary file
// is a scratch file of the mailbox), and vim's swap file can be made.
func TestEditThroughSearchResult(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		dir := filepath.Join(m.dir, ".search", "from:alice", "INBOX")
		ents, err := os.ReadDir(dir)
		if err != nil || len(ents) == 0 {
			t.Fatalf("search result: %v %v", ents, err)
		}
		path := filepath.Join(dir, ents[0].Name())
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		id := messageIDOf(b)
		count := len(p.messages("INBOX"))
		if out, err := exec.Command("sed", "-i", "s/^Subject: /Subject: Edited /", path).CombinedOutput(); err != nil {
			t.Fatalf("sed -i in a search result: %v %s", err, out)
		}
		want := strings.Replace(string(b), "Subject: ", "Subject: Edited ", 1)
		onlyVersion(t, p, "INBOX", id, want, count)
		// vi (vim-tiny) saves through the result as well, with its swap
		// file and its backup by rename.
		var now string // the new version's name in the result
		eventually(t, 20*time.Second, "the saved version in the result", func() error {
			if !hasFileWith(dir, strings.Trim(id, "<>")) {
				return fmt.Errorf("not listed yet")
			}
			now = fileWith(t, dir, id)
			return nil
		})
		vi := exec.Command("ex", "-s", "-c", "set backup backupcopy=no", "-c", "%s/Subject: Edited /Subject: Again /", "-c", "wq", now)
		vi.Dir = t.TempDir()
		if out, err := vi.CombinedOutput(); err != nil {
			t.Fatalf("ex in a search result: %v %s", err, out)
		}
		onlyVersion(t, p, "INBOX", id, strings.Replace(want, "Subject: Edited ", "Subject: Again ", 1), count)
		swap := filepath.Join(dir, "."+ents[0].Name()+".swp")
		if err := os.WriteFile(swap, []byte("vim"), 0o600); err != nil {
			t.Fatalf("a swap file in a search result: %v", err)
		}
		if err := os.Remove(swap); err != nil {
			t.Fatal(err)
		}
	})
}
