package mail

import (
	"context"
	"errors"
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

// TestGoneFetchRevalidates (found by a breaking session: cat said ENOENT
// while stat and ls went on showing the message until the next poll): a
// fetch that finds a listed message gone revalidates the listing at
// once, so the message goes from it too.
func TestGoneFetchRevalidates(t *testing.T) {
	f := newFake("Work")
	f.add("Work", "a", "A", 1)
	b := f.add("Work", "b", "B", 1)
	a := newTestAccount(f)
	mb := a.Mailbox("Work")
	es, err := mb.Entries(bg)
	if err != nil || len(es) != 2 {
		t.Fatalf("listing %v, %v", uids(es), err)
	}
	f.expunge("Work", b)
	if _, _, err := mb.Body(bg, es[1].Ref()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fetch of a message expunged elsewhere: %v, want ErrNotFound", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := mb.Current(es[1].Ref()); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the listing still has the message the fetch found gone")
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not a barrier
	}
}
