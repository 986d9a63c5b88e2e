package fs_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailfs/imapback"
)

// TestDecodedViewsNameAsTheMailbox (found by a breaking session): a
// message this mount wrote under a name of its own (cp x Work/mine.eml),
// or renamed, is NAME.txt in .text and NAME/ in .parts under the name
// its mailbox lists it by, so that grep -l over .text gives names that
// lead back to the .eml files.
func TestDecodedViewsNameAsTheMailbox(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		work := filepath.Join(m.dir, "Work")
		raw := "From: a@example.org\r\nSubject: kept name\r\nMessage-ID: <kept@x>\r\n\r\nthe word zanzibar\r\n"
		if err := os.WriteFile(filepath.Join(work, "mine.eml"), []byte(raw), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(work, "mine.eml"), filepath.Join(work, "renamed.eml")); err != nil {
			t.Fatal(err)
		}
		m.settled(t)
		if !names(t, work)["renamed.eml"] {
			t.Fatalf("Work lists %v", names(t, work))
		}
		text := filepath.Join(m.dir, ".text", "Work")
		if got := grepNames(t, "zanzibar", text); len(got) != 1 || filepath.Base(got[0]) != "renamed.txt" {
			t.Fatalf("grep -rl zanzibar .text/Work: %v, want renamed.txt", got)
		}
		b, err := os.ReadFile(filepath.Join(text, "renamed.txt"))
		if err != nil || !strings.Contains(string(b), "zanzibar") {
			t.Fatalf("read .text/Work/renamed.txt: %q, %v", b, err)
		}
		parts, err := os.ReadDir(filepath.Join(m.dir, ".parts", "Work"))
		if err != nil {
			t.Fatal(err)
		}
		var dirs []string
		for _, p := range parts {
			dirs = append(dirs, p.Name())
		}
		if !slices.Contains(dirs, "renamed") {
			t.Fatalf(".parts/Work lists %v, want renamed", dirs)
		}
		if ps, err := os.ReadDir(filepath.Join(m.dir, ".parts", "Work", "renamed")); err != nil || len(ps) == 0 {
			t.Fatalf(".parts/Work/renamed: %v, %v", ps, err)
		}

		// Moved to another mailbox by this mount, under a name of its own
		// (found by a second breaking session: its .txt was listed there
		// and ENOENT to open, its parts directory empty).
		if err := os.Rename(filepath.Join(work, "renamed.eml"), filepath.Join(m.dir, "INBOX", "moved.eml")); err != nil {
			t.Fatal(err)
		}
		m.settled(t)
		b, err = os.ReadFile(filepath.Join(m.dir, ".text", "INBOX", "moved.txt"))
		if err != nil || !strings.Contains(string(b), "zanzibar") {
			t.Fatalf("read .text/INBOX/moved.txt: %q, %v", b, err)
		}
		ps, err := os.ReadDir(filepath.Join(m.dir, ".parts", "INBOX", "moved"))
		if err != nil || len(ps) == 0 {
			t.Fatalf(".parts/INBOX/moved: %v, %v", ps, err)
		}
		if b, err := os.ReadFile(filepath.Join(m.dir, ".parts", "INBOX", "moved", ps[0].Name())); err != nil || !strings.Contains(string(b), "zanzibar") {
			t.Fatalf("read .parts/INBOX/moved/%s: %q, %v", ps[0].Name(), b, err)
		}
	})
}
