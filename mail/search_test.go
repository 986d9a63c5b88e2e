package mail

import (
	"testing"
	"time"
)

// A search touches only the mailboxes it names (and their children),
// lists none, and returns hits with their UIDVALIDITY, sorted.
func TestSearchCostsHitsOnly(t *testing.T) {
	f := newFake("INBOX", "Work", "Work/Projects", "Other")
	f.add("INBOX", "a", "lunch on friday", 1)
	f.add("Work", "b", "invoice 42", 1)
	f.add("Work/Projects", "c", "the invoice for atlas", 1)
	f.add("Other", "d", "invoice elsewhere", 1)
	a := newTestAccount(f)
	q, err := ParseQuery("invoice in:Work", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	hits, err := a.Search(bg, q, q.Boxes)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hits {
		for _, e := range h.Entries {
			got = append(got, h.Mailbox.Name()+"/"+e.Subject)
			if e.UIDValidity == 0 {
				t.Error("a hit without its UIDVALIDITY")
			}
		}
	}
	if len(got) != 2 || got[0] != "Work/b" || got[1] != "Work/Projects/c" {
		t.Fatalf("hits %v", got)
	}
	if f.count("SEARCH Other") != 0 || f.count("SEARCH INBOX") != 0 {
		t.Error("searched mailboxes outside in:")
	}
	if f.count("LISTING") != 0 {
		t.Error("a search listed a mailbox")
	}
	// A hit found by search is known to the model by UID afterwards.
	if _, ok := hits[0].Mailbox.Current(hits[0].Entries[0].Ref()); !ok {
		t.Error("the model does not know the hit")
	}
}
