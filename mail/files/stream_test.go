package files

import (
	"fmt"
	"testing"

	"mailfs/mail"
	"mailfs/mail/mailtest"
)

// TestStreamReadsPartsAsTheyAre: a directory read a part at a time
// (Stream, as the kernel reads one) lists each name once: this mount's
// files as they were when it began, then each message as it is when its
// part is read, leaving out one removed before, and never one of its
// own files twice.
func TestStreamReadsPartsAsTheyAre(t *testing.T) {
	e := newEnv(t, mail.DeleteExpunge, nil, nil)
	for i := range 10 {
		e.fake.Add("Drafts", []byte(fmt.Sprintf("Subject: %d\r\nMessage-ID: <%d@x>\r\n\r\nbody\r\n", i, i)))
	}
	e.create("Drafts", "mine.eml", msg("mine", "mine"))
	e.settle()
	all, err := e.m.List(bg, e.mb("Drafts"))
	if err != nil || len(all) != 11 {
		t.Fatalf("listing: %d items, %v; want 10 messages and mine.eml", len(all), err)
	}

	s, err := e.m.Stream(bg, e.mb("Drafts"))
	if err != nil {
		t.Fatal(err)
	}
	got := s.Next(nil, 4)
	if len(got) != 4 {
		t.Fatalf("first part: %v; want 4 items", itemNames(got))
	}
	// Before the rest is read: a message not read yet goes, a new file
	// appears (after the stream began: not in it).
	gone := ""
	for _, it := range all[4:] {
		if it.Name != "mine.eml" && it.Message && it.File == nil {
			gone = it.Name
		}
	}
	if gone == "" {
		t.Fatalf("no message left to remove in %v", itemNames(all))
	}
	if err := e.m.Unlink(bg, e.mb("Drafts"), gone); err != nil {
		t.Fatal(err)
	}
	e.create("Drafts", "later.eml", msg("later", "later"))
	e.settle()
	for {
		n := len(got)
		if got = s.Next(got, 3); len(got) == n {
			break
		}
	}
	seen := map[string]bool{}
	for _, it := range got {
		if seen[it.Name] {
			t.Fatalf("%s listed twice: %v", it.Name, itemNames(got))
		}
		seen[it.Name] = true
	}
	if seen[gone] || seen["later.eml"] || !seen["mine.eml"] || len(got) != 10 {
		t.Fatalf("read %v; want the 11 listed before less %s", itemNames(got), gone)
	}
	if more := s.Next(nil, 5); len(more) != 0 {
		t.Fatalf("read after the end: %v", itemNames(more))
	}
}

func itemNames(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

// TestOwnNameKeptForAnother (found by TestFileModelProperty): a file
// whose first APPEND failed keeps its name when stored later; a message
// another client delivered meanwhile, whose own name is that name, does
// not list it a second time (Lookup finds the file's message).
func TestOwnNameKeptForAnother(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	e.fake.Fail("APPEND", mailtest.Unreachable)
	e.create("Other", "m1.eml", msg("mine", "mine"))
	for e.q.take(0, false) { // the APPEND fails; it is tried again later (a timer, not taken)
	}
	if uid := e.fake.Add("Other", []byte(msg("theirs", "theirs"))); uid != 1 {
		t.Fatalf("the other client's message has UID %d, want 1", uid)
	}
	e.settle()
	items, err := e.m.List(bg, e.mb("Other"))
	if err != nil || len(items) != 1 || items[0].Name != "m1.eml" {
		t.Fatalf("listing %v, %v; want m1.eml once", itemNames(items), err)
	}
	if got, found, err := e.read("Other", "m1.eml"); err != nil || !found || got != msg("mine", "mine") {
		t.Fatalf("m1.eml reads %q (found %v, %v), want the file written", got, found, err)
	}
}
