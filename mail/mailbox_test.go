package mail

import (
	"context"
	"errors"
	"testing"
	"time"
)

func newTestAccount(f *fake) *Account {
	return NewAccount(Options{ID: "test", Backend: f, TTL: time.Hour, Delete: DeleteExpunge})
}

var bg = context.Background()

func uids(es []Entry) []uint32 {
	var out []uint32
	for _, e := range es {
		out = append(out, e.UID)
	}
	return out
}

func equalUIDs(a []uint32, b ...uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestListingAndDelta(t *testing.T) {
	f := newFake("INBOX")
	f.add("INBOX", "a", "A", 1)
	f.add("INBOX", "b", "B", 1)
	a := newTestAccount(f)
	var changes []Change
	a.Observe(func(c Change) { changes = append(changes, c) })
	mb := a.Mailbox("INBOX")
	es, err := mb.Entries(bg)
	if err != nil || !equalUIDs(uids(es), 1, 2) {
		t.Fatalf("first listing: %v %v", uids(es), err)
	}
	// Unchanged: one STATUS, no listing.
	mb.Invalidate()
	if _, err := mb.Entries(bg); err != nil || f.count("STATUS") != 1 || f.count("LISTING") != 1 {
		t.Fatalf("unchanged revalidation: STATUS %d LISTING %d, %v", f.count("STATUS"), f.count("LISTING"), err)
	}
	// New and expunged: a delta, seen by the UID set.
	f.add("INBOX", "c", "C", 1)
	f.expunge("INBOX", 1)
	mb.Invalidate()
	es, _ = mb.Entries(bg)
	if !equalUIDs(uids(es), 2, 3) || f.count("LISTING") != 1 || f.count("SEARCH") != 1 {
		t.Fatalf("after delta: %v (LISTING %d SEARCH %d)", uids(es), f.count("LISTING"), f.count("SEARCH"))
	}
	last := changes[len(changes)-1]
	if !equalUIDs(uids(last.Gone), 1) || !equalUIDs(uids(last.Added), 3) || last.Reset {
		t.Fatalf("change reported: %+v", last)
	}
}

func TestUIDValidityReset(t *testing.T) {
	f := newFake("INBOX")
	f.add("INBOX", "a", "A", 1)
	a := newTestAccount(f)
	var got []Change
	a.Observe(func(c Change) { got = append(got, c) })
	mb := a.Mailbox("INBOX")
	es, _ := mb.Entries(bg)
	old := es[0]
	if _, _, err := mb.Body(bg, old.Ref()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.boxes["INBOX"].validity++
	f.mu.Unlock()
	mb.Invalidate()
	es, err := mb.Entries(bg)
	if err != nil || len(es) != 1 || es[0].UIDValidity == old.UIDValidity {
		t.Fatalf("after reset: %+v %v", es, err)
	}
	if len(got) == 0 || !got[len(got)-1].Reset || !equalUIDs(uids(got[len(got)-1].Gone), 1) {
		t.Fatalf("reset not reported: %+v", got)
	}
	if _, ok := mb.Current(old.Ref()); ok {
		t.Fatal("a message of the old UIDVALIDITY is still current")
	}
}

// A message this mount removed while a listing was in flight does not
// come back with that listing; one it stored meanwhile does not vanish.
func TestChangesDuringListingInFlight(t *testing.T) {
	f := newFake("INBOX")
	f.add("INBOX", "a", "A", 1)
	f.add("INBOX", "b", "B", 1)
	a := newTestAccount(f)
	mb := a.Mailbox("INBOX")
	es, _ := mb.Entries(bg)
	var stored Entry
	f.onMessages = func() {
		if err := mb.Remove(bg, es[0].Ref()); err != nil {
			t.Error(err)
		}
		var err error
		stored, err = mb.Append(bg, []byte("Subject: new\r\n\r\nx"), nil, time.Time{})
		if err != nil {
			t.Error(err)
		}
	}
	// Force a full listing (a reset) that races the changes.
	if err := mb.relist(bg, "INBOX", mb.seq, false); err != nil {
		t.Fatal(err)
	}
	got := uids(mustEntries(t, mb))
	if !equalUIDs(got, 2, stored.UID) {
		t.Fatalf("after a listing that raced rm and APPEND: %v, want [2 %d]", got, stored.UID)
	}
	// The next revalidation confirms both.
	mb.Invalidate()
	if got := uids(mustEntries(t, mb)); !equalUIDs(got, 2, stored.UID) {
		t.Fatalf("after revalidation: %v", got)
	}
}

func mustEntries(t *testing.T, mb *Mailbox) []Entry {
	t.Helper()
	es, err := mb.Entries(bg)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestSizesMeasuredVsReported(t *testing.T) {
	f := newFake("INBOX", "Work")
	f.add("INBOX", "a", "0123456789", 4) // the server lies: 4, not 10
	a := newTestAccount(f)
	mb := a.Mailbox("INBOX")
	e := mustEntries(t, mb)[0]
	if e.SizeKnown || e.Size != 4 {
		t.Fatalf("before reading: %+v", e)
	}
	// A move keeps "reported": the size is still corrected when read.
	moved, err := mb.Move(bg, e, a.Mailbox("Work"))
	if err != nil {
		t.Fatal(err)
	}
	work := a.Mailbox("Work")
	if moved.SizeKnown {
		t.Fatalf("moved entry claims a measured size: %+v", moved)
	}
	_, corrected, err := work.Body(bg, moved.Ref())
	if err != nil || !corrected {
		t.Fatalf("reading the moved message: corrected=%v err=%v", corrected, err)
	}
	now, ok := work.Current(moved.Ref())
	if !ok || !now.SizeKnown || now.Size != 10 {
		t.Fatalf("after reading: %+v %v", now, ok)
	}
	// A message this mount stored has a measured size.
	st, err := work.Append(bg, []byte("Subject: s\n\nbody\n"), nil, time.Time{})
	if err != nil || !st.SizeKnown || st.Size != int64(len("Subject: s\r\n\r\nbody\r\n")) {
		t.Fatalf("appended: %+v %v", st, err)
	}
}

func TestAppendSendsTheDateItReturns(t *testing.T) {
	f := newFake("INBOX")
	a := newTestAccount(f)
	mb := a.Mailbox("INBOX")
	e, err := mb.Append(bg, []byte("Subject: d\r\n\r\nx"), nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	sent := f.boxes["INBOX"].msgs[e.UID].InternalDate
	f.mu.Unlock()
	if sent.IsZero() || !sent.Equal(e.InternalDate) {
		t.Fatalf("APPEND sent %v, entry has %v", sent, e.InternalDate)
	}
}

func TestSetFlagsStoresOnlyTheDifference(t *testing.T) {
	f := newFake("INBOX")
	uid := f.add("INBOX", "a", "A", 1)
	f.boxes["INBOX"].msgs[uid].Flags = []string{`\Seen`}
	a := newTestAccount(f)
	mb := a.Mailbox("INBOX")
	e := mustEntries(t, mb)[0]
	// Another client flags it meanwhile; we add $Work.
	f.boxes["INBOX"].msgs[uid].Flags = []string{`\Seen`, `\Flagged`}
	if err := mb.SetFlags(bg, e, []string{`\Seen`, `$Work`}); err != nil {
		t.Fatal(err)
	}
	got := f.boxes["INBOX"].msgs[uid].Flags
	if len(got) != 3 {
		t.Fatalf("server flags %v: the other client's \\Flagged must survive", got)
	}
	if s := f.stores[len(f.stores)-1]; len(s[0]) != 1 || s[0][0] != "$Work" || len(s[1]) != 0 {
		t.Fatalf("stored add %v remove %v", s[0], s[1])
	}
}

func TestRenameKeepsObjectsAndNewNameGetsNewID(t *testing.T) {
	f := newFake("Work", "Work/Sub")
	a := newTestAccount(f)
	work, sub := a.Mailbox("Work"), a.Mailbox("Work/Sub")
	id := work.ID()
	if err := a.RenameMailbox(bg, "Work", "Job"); err != nil {
		t.Fatal(err)
	}
	if work.Name() != "Job" || sub.Name() != "Job/Sub" || a.Mailbox("Job") != work {
		t.Fatalf("after rename: %q %q", work.Name(), sub.Name())
	}
	if err := a.CreateMailbox(bg, "Work"); err != nil {
		t.Fatal(err)
	}
	if fresh := a.Mailbox("Work"); fresh == work || fresh.ID() == id {
		t.Fatal("a mailbox created under a renamed-away name shares the old identity")
	}
	if NewAccount(Options{ID: "test", Backend: f}).Mailbox("Work").ID() != id {
		t.Fatal("the first object of a name must have the same ID on every mount")
	}
}

func TestReplaceRemovesOnlyAfterStoring(t *testing.T) {
	f := newFake("INBOX")
	f.add("INBOX", "a", "Subject: a\r\n\r\nold", 1)
	a := newTestAccount(f)
	mb := a.Mailbox("INBOX")
	old := mustEntries(t, mb)[0]
	f.appendFailures = 1
	r := old.Ref()
	if _, err := mb.Store(bg, &Commit{Data: []byte("Subject: a\r\n\r\nnew"), Date: old.InternalDate, Replaces: &r}); err == nil {
		t.Fatal("store succeeded although APPEND failed")
	}
	if _, ok := mb.Current(old.Ref()); !ok || f.count("EXPUNGE") != 0 {
		t.Fatal("the original was removed although its new version was not stored")
	}
	e, err := mb.Store(bg, &Commit{Data: []byte("Subject: a\r\n\r\nnew"), Date: old.InternalDate, Replaces: &r})
	if err != nil || f.count("EXPUNGE") != 0 {
		t.Fatal("Store removed the old version itself", err)
	}
	if err := mb.Supersede(bg, r); err != nil || f.count("EXPUNGE") != 1 {
		t.Fatal(err)
	}
	if got := uids(mustEntries(t, mb)); !equalUIDs(got, e.UID) {
		t.Fatalf("after replace: %v", got)
	}
}

func TestInterruptedWhileAnotherRefreshRuns(t *testing.T) {
	f := newFake("INBOX")
	a := newTestAccount(f)
	mb := a.Mailbox("INBOX")
	if err := mb.load.lock(bg); err != nil { // a refresh stuck on the network
		t.Fatal(err)
	}
	defer mb.load.unlock()
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := mb.Entries(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting behind a refresh: %v, want context.Canceled", err)
	}
}

// A fetch that finds the UIDVALIDITY changed makes the mailbox list again
// at once, not when the TTL runs out.
func TestStaleFetchRelists(t *testing.T) {
	f := newFake("INBOX")
	f.add("INBOX", "a", "A", 1)
	a := newTestAccount(f)
	reset := make(chan bool, 4)
	a.Observe(func(c Change) { reset <- c.Reset })
	mb := a.Mailbox("INBOX")
	old := mustEntries(t, mb)[0]
	f.mu.Lock()
	f.boxes["INBOX"].validity++
	f.mu.Unlock()
	if _, _, err := mb.Body(bg, old.Ref()); !errors.Is(err, ErrStale) {
		t.Fatalf("fetch under the old UIDVALIDITY: %v", err)
	}
	for r := false; !r; { // the notice of the stale listing, then the relist's reset
		select {
		case r = <-reset:
		case <-time.After(30 * time.Second):
			t.Fatal("the relist did not report a reset")
		}
	}
	if _, ok := mb.Current(old.Ref()); ok {
		t.Fatal("the old message is still current after the relist")
	}
}

// Without CONDSTORE, every revalidation brings every message's flags, so
// another client's flag change shows without IDLE.
func TestFlagsRefreshedWithoutCondstore(t *testing.T) {
	f := newFake("Work")
	uid := f.add("Work", "a", "A", 1)
	a := newTestAccount(f)
	mb := a.Mailbox("Work")
	mustEntries(t, mb)
	f.mu.Lock()
	f.boxes["Work"].msgs[uid].Flags = []string{`\Flagged`}
	f.mu.Unlock()
	mb.Invalidate()
	if e := mustEntries(t, mb)[0]; len(e.Flags) != 1 || e.Flags[0] != `\Flagged` {
		t.Fatalf("flags after revalidation: %v", e.Flags)
	}
}

// TestMovesKeepFirstIdentity: a message this mount moves on (INBOX, then
// Work, then Archive) has its first identity wherever it is, and every
// identity it left is moved away; once it is gone, so is its history.
func TestMovesKeepFirstIdentity(t *testing.T) {
	f := newFake("INBOX", "Work", "Archive")
	f.add("INBOX", "a", "A", 1)
	a := newTestAccount(f)
	inbox, work, archive := a.Mailbox("INBOX"), a.Mailbox("Work"), a.Mailbox("Archive")
	mustEntries(t, archive)
	first := mustEntries(t, inbox)[0]
	if id, r := a.FirstIdentity(inbox, first.Ref()); id != inbox.ID() || r != first.Ref() || a.MovedAway(inbox, first.Ref()) {
		t.Fatalf("an unmoved message: first %d %+v, moved away %v", id, r, a.MovedAway(inbox, first.Ref()))
	}
	inWork, err := inbox.Move(bg, first, work)
	if err != nil {
		t.Fatal(err)
	}
	inArchive, err := work.Move(bg, inWork, archive)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []struct {
		mb *Mailbox
		r  Ref
	}{{work, inWork.Ref()}, {archive, inArchive.Ref()}} {
		if id, r := a.FirstIdentity(at.mb, at.r); id != inbox.ID() || r != first.Ref() {
			t.Errorf("%s %+v: first identity %d %+v, want INBOX's %+v", at.mb.Name(), at.r, id, r, first.Ref())
		}
	}
	if !a.MovedAway(inbox, first.Ref()) || !a.MovedAway(work, inWork.Ref()) || a.MovedAway(archive, inArchive.Ref()) {
		t.Errorf("moved away: INBOX %v, Work %v, Archive %v; want true, true, false",
			a.MovedAway(inbox, first.Ref()), a.MovedAway(work, inWork.Ref()), a.MovedAway(archive, inArchive.Ref()))
	}
	f.expunge("Archive", inArchive.UID)
	for range 2 { // one that came and went between two revalidations is seen gone at the second
		archive.Invalidate()
		mustEntries(t, archive)
	}
	if id, r := a.FirstIdentity(archive, inArchive.Ref()); id != archive.ID() || r != inArchive.Ref() || a.MovedAway(inbox, first.Ref()) {
		t.Errorf("after it went: first identity %d %+v, INBOX's moved away %v", id, r, a.MovedAway(inbox, first.Ref()))
	}
}
