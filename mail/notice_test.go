package mail

import (
	"context"
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

	deadline := time.Now().Add(10 * time.Second)
	for {
		es, err := mb.Entries(bg)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(uids(es), late) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("listing %v long after the notice of UID %d", uids(es), late)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not a barrier
	}
}
