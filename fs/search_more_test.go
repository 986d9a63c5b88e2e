package fs_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/fs"
	"mailfs/imapback"
	"mailfs/internal/sample"
)

// listNames is ls of dir, sorted.
func listNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ls %s: %v", dir, err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// TestSearchFreshOnServerNotice: with a listing TTL of an hour, a result
// over a watched mailbox follows the server at once: a matching message
// another client appends shows, and one another client marks read leaves
// is:unread (a flag change, no new message).
func TestSearchFreshOnServerNotice(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		p := s.peek(t)
		m := s.mount(t, imapback.Config{}, func(o *options) { o.TTL = time.Hour })
		m.watch(t, "INBOX")
		word := filepath.Join(m.dir, ".search", "quetzal-9931")
		if got := resultIDs(t, word); len(got) != 0 {
			t.Fatalf("hits before the message exists: %v", got)
		}
		unread := filepath.Join(m.dir, ".search", "is:unread in:INBOX")
		before := resultIDs(t, unread)
		if len(before) == 0 {
			t.Fatal("no unread message in INBOX: the flag half proves nothing")
		}
		appendRaw(t, p, "INBOX", newRaw("quetzal@x", "quetzal-9931 is here"))
		eventually(t, 30*time.Second, "the appended hit shows", func() error {
			if got := resultIDs(t, word); len(got) != 1 || got[0] != "INBOX|<quetzal@x>" {
				return fmt.Errorf("results %v", got)
			}
			return nil
		})
		// Mark every unread INBOX message read from the other client.
		for _, msg := range p.messages("INBOX") {
			p.setFlags("INBOX", msg.UID, imap.FlagSeen)
		}
		eventually(t, 30*time.Second, "is:unread empties", func() error {
			if got := resultIDs(t, unread); len(got) != 0 {
				return fmt.Errorf("still unread: %v", got)
			}
			return nil
		})
	})
}

// TestSearchNamedNestedNonASCII: named searches are listed in .search and
// run their query; in: takes a nested path (%2F for / in a directory
// name) and a non-ASCII mailbox; a non-ASCII term is found.
func TestSearchNamedNestedNonASCII(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		p := s.peek(t)
		if err := p.c.Create("Café", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		raw := "From: x@example.org\r\nSubject: Grüße\r\nMessage-ID: <gruss@x>\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nViele Grüße-7731 aus Köln\r\n"
		appendRaw(t, p, "Café", raw)
		appendRaw(t, p, "INBOX", newRaw("plain@x", "Grüße-7731 is not here: only ASCII words in this one"))
		named := map[string]string{"unread": "is:unread in:INBOX", "projects": "in:Work/Projects"}
		m := s.mount(t, imapback.Config{}, func(o *options) { o.Searches = named })
		search := filepath.Join(m.dir, ".search")
		if got := listNames(t, search); strings.Join(got, " ") != "projects unread" {
			t.Errorf("ls .search: %v", got)
		}
		for _, tc := range []struct {
			dir   string
			boxes []string
			c     *imap.SearchCriteria
		}{
			{"unread", []string{"INBOX"}, &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}},
			{"projects", []string{"Work/Projects"}, &imap.SearchCriteria{}},
			{fs.QueryName("in:Work/Projects " + sample.PlantedWord), []string{"Work/Projects"}, &imap.SearchCriteria{Text: []string{sample.PlantedWord}}},
			{"in:Café", []string{"Café"}, &imap.SearchCriteria{}},
		} {
			want := p.searchIDs(tc.boxes, tc.c)
			if len(want) == 0 {
				t.Fatalf("%s: the second client finds nothing: the case proves nothing", tc.dir)
			}
			if got := resultIDs(t, filepath.Join(search, tc.dir)); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s:\n got %v\nwant %v", tc.dir, got, want)
			}
		}
		// A non-ASCII word: found in the body of the message that has
		// it, under its mailbox's shown name.
		got := resultIDs(t, filepath.Join(search, "body:Köln"))
		if len(got) != 1 || got[0] != "Café|<gruss@x>" {
			t.Errorf("body:Köln: %v", got)
		}
	})
}

// TestSearchAcrossAccounts: MOUNTPOINT/.search/QUERY/ holds each account
// with hits, each the tree its own ACCOUNT/.search/QUERY/ shows; named
// searches of the mount are listed there.
func TestSearchAcrossAccounts(t *testing.T) {
	mem, dc := startMem(t), startDovecot(t)
	mem.seedSample(t)
	dc.seedSample(t)
	appendRaw(t, mem.peek(t), "INBOX", newRaw("only-mem@x", "yodel-5150 at home"))
	dir, _ := mountAccountsSearches(t, map[string]*server{"home": mem, "work": dc}, imapback.Config{},
		map[string]string{"planted": sample.PlantedWord})
	search := filepath.Join(dir, ".search")
	if got := listNames(t, search); strings.Join(got, " ") != "planted" {
		t.Errorf("ls .search: %v", got)
	}
	for _, q := range []string{sample.PlantedWord, "planted"} {
		if got := listNames(t, filepath.Join(search, q)); strings.Join(got, " ") != "home work" {
			t.Fatalf("%s: accounts with hits %v", q, got)
		}
		for _, acct := range []string{"home", "work"} {
			all := resultIDs(t, filepath.Join(search, q, acct))
			own := resultIDs(t, filepath.Join(dir, acct, ".search", sample.PlantedWord))
			if len(own) == 0 || strings.Join(all, "\n") != strings.Join(own, "\n") {
				t.Errorf("%s in %s: across accounts %v, the account's own %v", q, acct, all, own)
			}
		}
	}
	if got := listNames(t, filepath.Join(search, "yodel-5150")); strings.Join(got, " ") != "home" {
		t.Errorf("a word in one account: %v", got)
	}
	if _, err := os.Stat(filepath.Join(search, "(unclosed")); err == nil || !strings.Contains(err.Error(), "invalid argument") {
		t.Errorf("a bad query at the root: %v", err)
	}
	if out, _ := exec.Command("ls", "-a", dir).Output(); strings.Contains(string(out), ".search") {
		t.Error("ls -a of the root lists .search")
	}
}

// TestSearchNamesAsTheMailboxDoes: a message this mount wrote under a
// name of its own (cp x Work/mine.eml) or moved (mv keeps the name) is
// listed in a search result under the name its mailbox lists, and opens
// there: `mailfs search … | xargs cat` works for it (found by a breaking
// session: the result showed its UID name, which the mailbox has not).
func TestSearchNamesAsTheMailboxDoes(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		body := "From: a@example.com\r\nSubject: kept name\r\nMessage-ID: <kept-9931@x>\r\n\r\nwombat-4417 inside\r\n"
		mine := filepath.Join(m.dir, "Work", "mine.eml")
		if err := os.WriteFile(mine, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		moved := listNames(t, filepath.Join(m.dir, "INBOX"))[0]
		if err := os.Rename(filepath.Join(m.dir, "INBOX", moved), filepath.Join(m.dir, "Work", moved)); err != nil {
			t.Fatal(err)
		}
		p := s.peek(t)
		p.await(t, "Work", "<kept-9931@x>")
		work := listNames(t, filepath.Join(m.dir, "Work"))
		for _, want := range []string{"mine.eml", moved} {
			if !slices.Contains(work, want) {
				t.Fatalf("Work lists %v, not %s", work, want)
			}
		}
		eventually(t, 20*time.Second, "the search result names mine.eml as Work does", func() error {
			dir := filepath.Join(m.dir, ".search", "wombat-4417", "Work")
			got, err := os.ReadDir(dir)
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0].Name() != "mine.eml" {
				return fmt.Errorf("%s lists %v", dir, got)
			}
			b, err := os.ReadFile(filepath.Join(dir, "mine.eml"))
			if err != nil || !strings.Contains(string(b), "wombat-4417") {
				return fmt.Errorf("cat mine.eml in the result: %v", err)
			}
			return nil
		})
		// The moved message, found by a word of its own, under its name.
		b, err := os.ReadFile(filepath.Join(m.dir, "Work", moved))
		if err != nil {
			t.Fatal(err)
		}
		id := messageIDOf(b)
		if id == "" {
			t.Fatalf("%s has no Message-ID", moved)
		}
		query := filepath.Join(m.dir, ".search", "header:message-id:"+strings.Trim(id, "<>"), "Work")
		eventually(t, 20*time.Second, "the moved message in a result under its kept name", func() error {
			got := listNamesErr(query)
			if len(got) != 1 || got[0] != moved {
				return fmt.Errorf("%s lists %v, want %s", query, got, moved)
			}
			return nil
		})
	})
}

// listNamesErr is ls of dir, nil when it cannot be listed.
func listNamesErr(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
