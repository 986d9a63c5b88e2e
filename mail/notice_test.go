package mail

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// heldChanges answers one Changes with what the server held when it was
// asked, then holds the answer until released: a notice of new mail can
// come while a revalidation is on its way back.
type heldChanges struct {
	*fake
	hold             atomic.Bool
	entered, release chan struct{}
}

func (h *heldChanges) Changes(ctx context.Context, mailbox string, since State, known int, allFlags bool) (*Delta, error) {
	d, err := h.fake.Changes(ctx, mailbox, since, known, allFlags)
	if h.hold.CompareAndSwap(true, false) {
		h.entered <- struct{}{}
		<-h.release
	}
	return d, err
}

// TestNoticeDuringARevalidation (found by a breaking session: the last
// of a burst of new messages in the watched INBOX showed only at the
// next poll): a notice of new mail that comes while a revalidation is
// on its way is not swallowed by it; the listing is asked for again.
func TestNoticeDuringARevalidation(t *testing.T) {
	f := newFake("INBOX")
	f.add("INBOX", "a", "A", 1)
	h := &heldChanges{fake: f, entered: make(chan struct{}), release: make(chan struct{})}
	a := NewAccount(Options{ID: "test", Backend: h, TTL: time.Hour, Delete: DeleteExpunge})
	changes := observe(a)
	mb := a.Mailbox("INBOX")
	if _, err := mb.Entries(bg); err != nil {
		t.Fatal(err)
	}
	h.hold.Store(true)
	f.add("INBOX", "b", "B", 1)
	a.Changed("INBOX", false) // revalidates; its answer is held
	<-h.entered
	late := f.add("INBOX", "c", "C", 1)
	a.Changed("INBOX", false) // comes while the answer is on its way
	close(h.release)

	waitChange(t, changes, fmt.Sprintf("UID %d seen to come", late), func(c Change) bool {
		return slices.ContainsFunc(c.Added, func(e Entry) bool { return e.UID == late })
	})
	if es, err := mb.Entries(bg); err != nil || !slices.Contains(uids(es), late) {
		t.Fatalf("listing %v, %v: want UID %d", uids(es), err, late)
	}
}

// waitChange waits for a change the model reports that ok accepts.
func waitChange(t *testing.T, changes <-chan Change, what string, ok func(Change) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case c := <-changes:
			if ok(c) {
				return
			}
		case <-deadline:
			t.Fatalf("never reported: %s", what)
		}
	}
}

// observe reports every change of a's mailboxes on the channel returned.
func observe(a *Account) <-chan Change {
	changes := make(chan Change, 256)
	a.Observe(func(c Change) { changes <- c })
	return changes
}

// TestGoneFetchRevalidates (found by a breaking session: cat said ENOENT
// while stat and ls went on showing the message until the next poll): a
// fetch that finds a listed message gone revalidates the listing at
// once, so the message goes from it too.
func TestGoneFetchRevalidates(t *testing.T) {
	f := newFake("Work")
	f.add("Work", "a", "A", 1)
	b := f.add("Work", "b", "B", 1)
	a := newTestAccount(f)
	changes := observe(a)
	mb := a.Mailbox("Work")
	es, err := mb.Entries(bg)
	if err != nil || len(es) != 2 {
		t.Fatalf("listing %v, %v", uids(es), err)
	}
	f.expunge("Work", b)
	if _, _, err := mb.Body(bg, es[1].Ref()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fetch of a message expunged elsewhere: %v, want ErrNotFound", err)
	}
	waitChange(t, changes, "the message seen to go", func(c Change) bool {
		return slices.ContainsFunc(c.Gone, func(e Entry) bool { return e.UID == b })
	})
	if _, ok := mb.Current(es[1].Ref()); ok {
		t.Fatal("the listing still has the message the fetch found gone")
	}
}
