package fs_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailfs/imapback"
)

// tmuxSession drives a terminal program in tmux, as a user would.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	args := append([]string{"-S", s.socket, "send-keys", "-t", s.name}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys %v: %v %s", keys, err, out)
	}
}

func (s *tmuxSession) screen() string {
	out, _ := exec.Command("tmux", "-S", s.socket, "capture-pane", "-p", "-t", s.name).Output()
	return string(out)
}

// await waits until the screen shows re (generous deadline; no sleeps).
func (s *tmuxSession) await(what string, re *regexp.Regexp) string {
	s.t.Helper()
	var scr string
	eventually(s.t, 30*time.Second, what, func() error {
		if scr = s.screen(); !re.MatchString(scr) {
			return fmt.Errorf("screen:\n%s", scr)
		}
		return nil
	})
	return scr
}

// TestNeomuttOnMaildir: neomutt, driven in tmux, uses .maildir/INBOX as
// its own Maildir: it lists every message, reading one leaves it unseen
// on the server until neomutt marks it read itself (a rename), a flag is
// a flag on the server, a deletion removes the message as rm does, and a
// save to another mailbox stores it there and removes it here.
func TestNeomuttOnMaildir(t *testing.T) {
	for _, prog := range []string{"neomutt", "tmux"} {
		if _, err := exec.LookPath(prog); err != nil {
			if os.Getenv("MAILFS_TEST_STRICT") != "0" {
				t.Fatalf("%s not found: apt-get install neomutt tmux", prog)
			}
			t.Skipf("%s not found", prog)
		}
	}
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		home := t.TempDir()
		rc := filepath.Join(home, "muttrc")
		os.WriteFile(rc, []byte(strings.Join([]string{
			"set folder = " + filepath.Join(m.dir, ".maildir"),
			"set spoolfile = +INBOX", "set mbox_type = Maildir", `set header_cache = ""`,
			"set confirmappend = no", "set delete = yes", "set move = no", "set mark_old = no",
			"set sort = date", "set wait_key = no", `set index_format = "%4C %Z %i"`, ""}, "\n")), 0o600)
		tm := &tmuxSession{t: t, socket: filepath.Join(home, "tmux.sock"), name: "nm"}
		cmd := exec.Command("tmux", "-S", tm.socket, "new-session", "-d", "-s", tm.name, "-x", "200", "-y", "60",
			"env", "HOME="+home, "TERM=xterm", "neomutt", "-n", "-F", rc)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tmux: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("tmux", "-S", tm.socket, "kill-server").Run() })
		inbox := p.messages("INBOX")
		scr := tm.await("neomutt shows INBOX", regexp.MustCompile(`NeoMutt: =INBOX \[Msgs:`+itoa(len(inbox))))

		// Index lines: "   3 N   <message-id>"; pick messages by line.
		byLine := func(n int) string {
			m := regexp.MustCompile(`(?m)^\s*` + itoa(n) + `\s.*?(<[^>]+>)`).FindStringSubmatch(scr)
			if m == nil {
				t.Fatalf("no index line %d:\n%s", n, scr)
			}
			return m[1]
		}
		var unseenLine int
		for n := 1; n <= len(inbox); n++ {
			if id := byLine(n); id != "" {
				if v, _ := p.find("INBOX", id); !strings.Contains(v.Flags, `\seen`) {
					unseenLine = n
					break
				}
			}
		}
		if unseenLine == 0 || unseenLine+3 > len(inbox) {
			t.Fatalf("setup: no unseen message with three after it:\n%s", scr)
		}
		readID, flagID, delID, saveID := byLine(unseenLine), byLine(unseenLine+1), byLine(unseenLine+2), byLine(unseenLine+3)

		tm.keys(itoa(unseenLine), "Enter")
		tm.keys("Enter") // read it
		tm.await("the pager", regexp.MustCompile(`(?m)^Subject: `))
		if v, _ := p.find("INBOX", readID); strings.Contains(v.Flags, `\seen`) {
			t.Error("reading through .maildir set \\Seen before neomutt did")
		}
		tm.keys("q")
		tm.await("back in the index", regexp.MustCompile(`NeoMutt: =INBOX`))
		tm.keys(itoa(unseenLine+1), "Enter", "F")
		tm.keys(itoa(unseenLine+2), "Enter", "d")
		tm.keys(itoa(unseenLine+3), "Enter", "s")
		tm.await("the save prompt", regexp.MustCompile(`Save to mailbox`))
		tm.keys("C-u", "=Work", "Enter")
		tm.await("saved", regexp.MustCompile(`Del:2`))
		tm.keys("$")
		eventually(t, 30*time.Second, "neomutt's changes on the server", func() error {
			if v, ok := p.find("INBOX", readID); !ok || !strings.Contains(v.Flags, `\seen`) {
				return fmt.Errorf("read message: %q %v", v.Flags, ok)
			}
			if v, ok := p.find("INBOX", flagID); !ok || !strings.Contains(v.Flags, `\flagged`) {
				return fmt.Errorf("flagged message: %q %v", v.Flags, ok)
			}
			if _, ok := p.find("INBOX", delID); ok {
				return fmt.Errorf("deleted message still in INBOX")
			}
			if _, ok := p.find("INBOX", saveID); ok {
				return fmt.Errorf("saved message still in INBOX")
			}
			if _, ok := p.find("Work", saveID); !ok {
				return fmt.Errorf("saved message not in Work")
			}
			return nil
		})
		tm.keys("q")
	})
}
