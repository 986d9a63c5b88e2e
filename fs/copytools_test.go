package fs_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/imapback"
)

// settled waits until every file written through m is stored or refused.
func (m *mounted) settled(t testing.TB) {
	t.Helper()
	m.fs.Settle()
	eventually(t, 30*time.Second, "every write stored", func() error {
		if p := m.files.Pending(); len(p) > 0 {
			return fmt.Errorf("pending: %v", p)
		}
		return nil
	})
}

// summary is what a copy must keep of a message: bytes, flags, date.
func summary(msgs []peekMsg) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, fmt.Sprintf("%s|%s|%s|%d", messageIDOf(m.Body), m.Flags, m.Date.UTC().Format(time.RFC3339), len(m.Body)))
	}
	sort.Strings(out)
	return out
}

// TestCopyToolsKeepEverything: cp -a and rsync -a of a mailbox directory,
// into a new mailbox and into one that already holds a different message
// under one of the source's names (same date, subject and UID): each exits
// 0, every source message arrives once with its flags and INTERNALDATE,
// and the message that was there is unchanged.
func TestCopyToolsKeepEverything(t *testing.T) {
	tools := map[string]func(src, dst string) *exec.Cmd{
		"cp -a":    func(src, dst string) *exec.Cmd { return exec.Command("cp", "-a", src+"/.", dst+"/") },
		"rsync -a": func(src, dst string) *exec.Cmd { return exec.Command("rsync", "-a", src+"/", dst+"/") },
	}
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		p := s.peek(t)
		source := p.messages("Work/Projects")
		if len(source) < 3 {
			t.Fatalf("sample Work/Projects has %d messages", len(source))
		}
		// Flags that must travel, on every source message.
		for i, msg := range source {
			p.setFlags("Work/Projects", msg.UID, []imap.Flag{imap.FlagSeen, imap.FlagFlagged, "$Todo"}[:1+i%3]...)
		}
		source = p.messages("Work/Projects")
		want := summary(source)
		for _, tool := range []string{"cp -a", "rsync -a"} {
			t.Run(tool, func(t *testing.T) {
				tag := strings.ReplaceAll(tool, " -a", "")
				fresh, overlap := "Fresh-"+tag, "Overlap-"+tag
				// The overlap mailbox holds, as UID 1, a different message
				// with the date and subject of source UID 1: the same name.
				if err := p.c.Create(overlap, nil).Wait(); err != nil {
					t.Fatal(err)
				}
				first := source[0]
				subject := ""
				for _, line := range strings.Split(string(first.Body), "\r\n") {
					if strings.HasPrefix(line, "Subject:") {
						subject = line
						break
					}
				}
				other := subject + "\r\nFrom: z@example.org\r\nMessage-ID: <unrelated-" + tag + "@example.org>\r\n\r\nnot the source\r\n"
				cmd := p.c.Append(overlap, int64(len(other)), &imap.AppendOptions{Time: first.Date, Flags: []imap.Flag{"$Keep"}})
				cmd.Write([]byte(other))
				cmd.Close()
				if _, err := cmd.Wait(); err != nil {
					t.Fatal(err)
				}
				otherBefore := summary(p.messages(overlap))

				m := s.mount(t, imapback.Config{}, nil)
				src := filepath.Join(m.dir, "Work", "Projects")
				srcNames := names(t, src)
				ovNames := names(t, filepath.Join(m.dir, overlap))
				collide := false
				for n := range ovNames {
					collide = collide || srcNames[n]
				}
				if !collide {
					t.Fatalf("setup: no name collides: %v vs %v", srcNames, ovNames)
				}
				if err := os.Mkdir(filepath.Join(m.dir, fresh), 0o700); err != nil {
					t.Fatal(err)
				}
				for _, dst := range []string{fresh, overlap} {
					if out, err := tools[tool](src, filepath.Join(m.dir, dst)).CombinedOutput(); err != nil {
						t.Fatalf("%s into %s: %v\n%s", tool, dst, err, out)
					}
				}
				m.settled(t)
				if got := summary(p.messages(fresh)); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s into a new mailbox:\n got %v\nwant %v", tool, got, want)
				}
				got := summary(p.messages(overlap))
				wantOverlap := append(append([]string{}, want...), otherBefore...)
				sort.Strings(wantOverlap)
				if strings.Join(got, "\n") != strings.Join(wantOverlap, "\n") {
					t.Errorf("%s into a mailbox with a colliding name:\n got %v\nwant %v", tool, got, wantOverlap)
				}
			})
		}
	})
}

// TestCopyOntoAnotherMessage: cp of a message onto a name that is a
// different message stores the copy and never changes the message that
// was there; cp of a message onto itself (same bytes) stores nothing.
func TestCopyOntoAnotherMessage(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		work := p.messages("Work")
		victim, intruder := work[0], work[1]
		victimPath := fileWith(t, filepath.Join(m.dir, "Work"), messageIDOf(victim.Body))
		outside := filepath.Join(t.TempDir(), "intruder.eml")
		if err := os.WriteFile(outside, intruder.Body, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cp", outside, victimPath).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		m.settled(t)
		after := p.messages("Work")
		if v, ok := p.find("Work", messageIDOf(victim.Body)); !ok || string(v.Body) != string(victim.Body) || v.Flags != victim.Flags {
			t.Errorf("the message written over was changed or removed: %v", ok)
		}
		if len(after) != len(work)+1 {
			t.Errorf("Work holds %d messages, want %d (the copy beside the one it was written over)", len(after), len(work)+1)
		}
		// The same bytes onto the message itself: nothing new on the server.
		appends := m.client.Stats().Appends
		self := fileWith(t, filepath.Join(m.dir, "Work"), messageIDOf(intruder.Body))
		b, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(self, b, 0o600); err != nil {
			t.Fatal(err)
		}
		m.settled(t)
		if n := len(p.messages("Work")); n != len(after) || m.client.Stats().Appends != appends {
			t.Errorf("writing a message's own bytes over it stored something: %d messages (was %d), %d APPENDs (was %d)",
				n, len(after), m.client.Stats().Appends, appends)
		}
	})
}
