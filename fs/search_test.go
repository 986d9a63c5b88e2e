package fs_test

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/imapback"
	"mailfs/internal/sample"
	"mailfs/mail"
)

// searchIDs is a second client's answer: "mailbox|Message-ID" of every
// message of every mailbox in boxes (nil: all) matching criteria.
func (p *peek) searchIDs(boxes []string, criteria *imap.SearchCriteria) []string {
	p.t.Helper()
	if boxes == nil {
		for mb := range p.mailboxes() {
			boxes = append(boxes, mb)
		}
	}
	var out []string
	for _, mb := range boxes {
		if _, err := p.c.Select(mb, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			continue // \Noselect
		}
		data, err := p.c.UIDSearch(criteria, nil).Wait()
		if err != nil {
			p.t.Fatalf("search %s: %v", mb, err)
		}
		hit := map[uint32]bool{}
		for _, u := range data.AllUIDs() {
			hit[uint32(u)] = true
		}
		p.c.Unselect().Wait()
		for _, m := range p.messages(mb) {
			if hit[m.UID] {
				out = append(out, mb+"|"+messageIDOf(m.Body))
			}
		}
	}
	sort.Strings(out)
	return out
}

// resultIDs walks a result tree: "mailbox|Message-ID" of every file.
func resultIDs(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, filepath.Dir(path))
		out = append(out, rel+"|"+messageIDOf(b))
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	sort.Strings(out)
	return out
}

// TestSearchDirectories: queries as directories on both servers, each
// compared with a second client's SEARCH; results are the message files
// themselves; writes are EPERM, bad queries EINVAL; results follow the
// server.
func TestSearchDirectories(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		p := s.peek(t)
		m := s.mount(t, imapback.Config{}, func(o *options) { o.TTL = time.Second })
		search := filepath.Join(m.dir, ".search")
		work := []string{"Work", "Work/Projects"}
		hdr := func(k, v string) *imap.SearchCriteria {
			return &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: k, Value: v}}}
		}
		day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
		older, err := mail.ParseQuery("older_than:6m", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		sixMonths := older.Root.(mail.Match).Date
		for _, tc := range []struct {
			query    string
			boxes    []string
			criteria *imap.SearchCriteria
		}{
			{"from:alice", nil, hdr("From", "alice")},
			{"to:demo", nil, hdr("To", "demo")},
			{"cc:carol", nil, hdr("Cc", "carol")},
			{"body:ramen", nil, &imap.SearchCriteria{Body: []string{"ramen"}}},
			{"header:X-Mailer:atlas", nil, hdr("X-Mailer", "atlas")},
			{"before:2025-10-01", nil, &imap.SearchCriteria{Before: day("2025-10-01")}},
			{"on:2025-09-02", nil, &imap.SearchCriteria{Since: day("2025-09-02"), Before: day("2025-09-03")}},
			{"older_than:6m", nil, &imap.SearchCriteria{Before: sixMonths}},
			{"is:answered", nil, &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagAnswered}}},
			{"is:draft", nil, &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagDraft}}},
			{"keyword:$Label2", nil, &imap.SearchCriteria{Flag: []imap.Flag{"$Label2"}}},
			{"smaller:2K", nil, &imap.SearchCriteria{Smaller: 2 << 10}},
			{"(from:alice OR cc:carol) -is:flagged", nil, &imap.SearchCriteria{
				Or:      [][2]imap.SearchCriteria{{*hdr("From", "alice"), *hdr("Cc", "carol")}},
				NotFlag: []imap.Flag{imap.FlagFlagged}}},
			{sample.PlantedWord, nil, &imap.SearchCriteria{Text: []string{sample.PlantedWord}}},
			{"is:unread", nil, &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}},
			{"is:flagged in:INBOX", []string{"INBOX"}, &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}},
			{"subject:invoice OR subject:lunch", nil, &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{
				{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "invoice"}}},
				{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "lunch"}}}}}}},
			{"-is:read in:Work", work, &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}},
			{"larger:100K", nil, &imap.SearchCriteria{Larger: 100 << 10}},
			{"since:2026-01-01 -is:flagged", nil, &imap.SearchCriteria{Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotFlag: []imap.Flag{imap.FlagFlagged}}},
		} {
			want := p.searchIDs(tc.boxes, tc.criteria)
			got := resultIDs(t, filepath.Join(search, tc.query))
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%q:\n got %v\nwant %v", tc.query, got, want)
			}
			if len(want) == 0 {
				t.Errorf("%q: the second client finds nothing: the case proves nothing", tc.query)
			}
		}
		// A result is the message file itself.
		res := filepath.Join(search, sample.PlantedWord)
		var hitPath string
		filepath.WalkDir(res, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				hitPath = path
			}
			return nil
		})
		rel, _ := filepath.Rel(res, hitPath)
		view := filepath.Join(m.dir, rel)
		var a, b syscall.Stat_t
		if err := syscall.Stat(hitPath, &a); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Stat(view, &b); err != nil {
			t.Fatalf("the result's path %s is not in the mailbox view: %v", rel, err)
		}
		if a.Ino != b.Ino || a.Size != b.Size {
			t.Errorf("result inode/size %d/%d, mailbox view %d/%d", a.Ino, a.Size, b.Ino, b.Size)
		}
		if out, err := exec.Command("grep", "-rl", sample.PlantedWord, res).Output(); err != nil || len(strings.Fields(string(out))) != 1 {
			t.Errorf("grep -r over the result: %q %v", out, err)
		}
		// Flags set through the result are the message's.
		if err := syscall.Setxattr(hitPath, "user.mail.flags", []byte(`\Seen $Found`), 0); err != nil {
			t.Fatalf("setxattr on a result: %v", err)
		}
		buf := make([]byte, 64)
		n, err := syscall.Getxattr(view, "user.mail.flags", buf)
		if err != nil || !strings.Contains(string(buf[:n]), "$Found") {
			t.Errorf("the mailbox view does not show the flag set through the result: %q %v", buf[:n], err)
		}
		// Writes are refused; the message stays.
		wantErrno(t, "rm in a result", os.Remove(hitPath), syscall.EPERM)
		// Also while it is open for writing (a breaking session found it
		// removed then, the versions stored by this mount with it).
		w, err := os.OpenFile(hitPath, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatalf("open a result's message for writing: %v", err)
		}
		wantErrno(t, "rm in a result while it is open for writing", os.Remove(hitPath), syscall.EPERM)
		w.Close()
		wantErrno(t, "create in a result", os.WriteFile(filepath.Join(filepath.Dir(hitPath), "x.eml"), []byte("Subject: x\r\n\r\nx"), 0o600), syscall.EPERM)
		wantErrno(t, "mkdir in a result", os.Mkdir(filepath.Join(res, "New"), 0o700), syscall.EPERM)
		wantErrno(t, "mv out of a result", os.Rename(hitPath, filepath.Join(m.dir, "INBOX", filepath.Base(hitPath))), syscall.EPERM)
		if _, err := os.Stat(view); err != nil {
			t.Errorf("the message went away: %v", err)
		}
		// Bad queries.
		for _, bad := range []string{"from:", "(a OR b", "is:shiny", "nosuch:x"} {
			_, err := os.Stat(filepath.Join(search, bad))
			wantErrno(t, "query "+bad, err, syscall.EINVAL)
		}
		// .search is reached by name only.
		ls, _ := exec.Command("ls", "-a", m.dir).Output()
		if strings.Contains(string(ls), ".search") {
			t.Error("ls -a lists .search")
		}
		// Fresh: a matching message appended by another client shows.
		appendRaw(t, p, "Work", newRaw("found-later@x", "zanzibar-4711 arrives"))
		eventually(t, 20*time.Second, "the new hit shows", func() error {
			got := resultIDs(t, filepath.Join(search, "zanzibar-4711"))
			if len(got) != 1 || got[0] != "Work|<found-later@x>" {
				return fmt.Errorf("results %v", got)
			}
			return nil
		})
	})
}
