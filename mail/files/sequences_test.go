package files

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"mailfs/mail"
	"mailfs/mail/mailtest"
)

// The command lines of issue 19, at the file model, each with its store
// still on its way when the next command comes (a step not taken yet).

// printf > Drafts/r.eml && rm Drafts/r.eml: nothing stays on the server.
func TestRemoveWhileStoring(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	e.create("Drafts", "r.eml", msg("x", "foo"))
	if err := e.m.Unlink(bg, e.mb("Drafts"), "r.eml"); err != nil {
		t.Fatal(err)
	}
	e.settle()
	e.wantHeld("Drafts")
	e.wantHeld("Trash")
	if e.fake.Calls("APPEND") > 1 {
		t.Errorf("%d APPENDs", e.fake.Calls("APPEND"))
	}
}

// The same with the store landing first, then rm: the copy this mount
// stored is expunged, not sent to Trash.
func TestRemoveAfterStoring(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	e.create("Drafts", "r.eml", msg("x", "foo"))
	e.settle()
	e.wantHeld("Drafts", msg("x", "foo"))
	if err := e.m.Unlink(bg, e.mb("Drafts"), "r.eml"); err != nil {
		t.Fatal(err)
	}
	e.settle()
	e.wantHeld("Drafts")
	e.wantHeld("Trash", msg("x", "foo")) // rm of a stored message: as rm does
}

// cp s.eml Drafts/s.eml && sed -i s/foo/bar/ Drafts/s.eml: one message,
// bar, listed once.
func TestSedRightAfterCopy(t *testing.T) {
	for _, landFirst := range []bool{false, true} {
		e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
		e.create("Drafts", "s.eml", msg("s", "foo"))
		if landFirst {
			e.settle()
		}
		if got, _, err := e.read("Drafts", "s.eml"); err != nil || got != msg("s", "foo") {
			t.Fatalf("read %q %v", got, err)
		}
		e.create("Drafts", "sedAbc123", msg("s", "bar"))
		if _, err := e.m.Rename(bg, e.mb("Drafts"), "sedAbc123", e.mb("Drafts"), "s.eml", false); err != nil {
			t.Fatal(err)
		}
		e.settle()
		e.wantHeld("Drafts", msg("s", "bar"))
		e.wantHeld("Trash")
		items, err := e.m.List(bg, e.mb("Drafts"))
		if err != nil || len(items) != 1 || items[0].Name != "s.eml" {
			t.Fatalf("listing %+v %v", items, err)
		}
	}
}

// printf > Drafts/n.eml && mv Drafts/n.eml Other/: Other gets it once,
// Drafts keeps nothing, and no command names a UID of another mailbox.
func TestMoveWhileStoring(t *testing.T) {
	for _, landFirst := range []bool{false, true} {
		e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
		e.create("Drafts", "n.eml", msg("n", "no message-id"))
		if landFirst {
			e.settle()
		}
		if _, err := e.m.Rename(bg, e.mb("Drafts"), "n.eml", e.mb("Other"), "n.eml", false); err != nil {
			t.Fatal(err)
		}
		e.settle()
		e.wantHeld("Drafts")
		e.wantHeld("Other", msg("n", "no message-id"))
		if v := e.fake.Violations(); len(v) > 0 {
			t.Fatal(v)
		}
		if got, ok, err := e.read("Other", "n.eml"); !ok || err != nil || got != msg("n", "no message-id") {
			t.Fatalf("Other/n.eml: %q %v %v", got, ok, err)
		}
	}
}

// exec 7>Drafts/z.eml; cat a >&7; cp b Drafts/y.tmp && mv Drafts/y.tmp
// Drafts/z.eml; exec 7>&-: only b is stored.
func TestRenameOverOpenFile(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	h, err := e.m.Create(e.mb("Drafts"), "z.eml")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.File().Write(bg, []byte(msg("a", "a")), 0); err != nil {
		t.Fatal(err)
	}
	e.create("Drafts", "y.tmp", msg("b", "b"))
	if _, err := e.m.Rename(bg, e.mb("Drafts"), "y.tmp", e.mb("Drafts"), "z.eml", false); err != nil {
		t.Fatal(err)
	}
	h.Release()
	e.settle()
	e.wantHeld("Drafts", msg("b", "b"))
}

// A write that fails (EFBIG) stores nothing: not the bytes before it,
// and an original written over stays, with --delete=expunge too.
func TestFailedWriteStoresNothing(t *testing.T) {
	e := newEnv(t, mail.DeleteExpunge, &queue{}, nil)
	orig := msgID("o", "original")
	e.fake.Add("INBOX", []byte(orig))
	for _, name := range []string{"huge.eml", "m1.eml"} {
		box := "Drafts"
		if name == "m1.eml" {
			box = "INBOX"
		}
		h, err := e.open(box, name, true)
		if err != nil {
			t.Fatal(err)
		}
		f := h.File()
		if err := f.Write(bg, []byte(msgID("o", "prefix")), 0); err != nil {
			t.Fatal(err)
		}
		if err := f.Write(bg, []byte("x"), mail.MaxMessageBytes); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("write past the bound: %v", err)
		}
		if err := f.Write(bg, []byte("more"), 10); !errors.Is(err, ErrBroken) {
			t.Fatalf("write after a failed one: %v", err)
		}
		if err := f.Check(); !errors.Is(err, ErrBroken) {
			t.Fatalf("close after a failed write: %v", err)
		}
		h.Release()
	}
	e.settle()
	e.wantHeld("Drafts")
	e.wantHeld("INBOX", orig)
	if ns := e.m.NotStored(); len(ns) != 2 || ns[0].By != "mailfs" {
		t.Fatalf("not stored: %+v", ns)
	}
	// Rewritten from the start, it is a file again.
	h, err := e.open("Drafts", "huge.eml", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.File().Write(bg, []byte(msg("h", "fine")), 0); err != nil {
		t.Fatal(err)
	}
	h.Release()
	e.settle()
	e.wantHeld("Drafts", msg("h", "fine"))
}

// : > INBOX/msg.eml is refused (not a message) and changes nothing; rm
// and mv of it work afterwards (moved, it is still not a message; the
// message it was written over moves with it).
func TestRefusedFileCanBeRemovedAndMoved(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	a, b := msgID("a", "a"), msgID("b", "b")
	e.fake.Add("INBOX", []byte(a))
	e.fake.Add("INBOX", []byte(b))
	for _, name := range []string{"m1.eml", "m2.eml"} {
		h, err := e.open("INBOX", name, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.File().Check(); !errors.Is(err, mail.ErrInvalid) {
			t.Fatalf("close of an emptied message: %v", err)
		}
		h.Release()
	}
	e.settle()
	e.wantHeld("INBOX", a, b)
	if err := e.m.Unlink(bg, e.mb("INBOX"), "m1.eml"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Rename(bg, e.mb("INBOX"), "m2.eml", e.mb("Other"), "m2.eml", false); err != nil {
		t.Fatal(err)
	}
	e.settle()
	e.wantHeld("INBOX")
	e.wantHeld("Other", b)
	e.wantHeld("Trash", a)
	if ns := e.m.NotStored(); len(ns) != 1 || ns[0].Label != "Other/m2.eml" {
		t.Fatalf("not stored: %+v", e.m.NotStored())
	}
}

// A store whose removal of the old version fails for now retries only
// the removal: one new version, never two.
func TestRemovalRetriedAlone(t *testing.T) {
	e := newEnv(t, mail.DeleteExpunge, &queue{}, nil)
	e.fake.Add("INBOX", []byte(msgID("o", "old")))
	e.fake.Fail("EXPUNGE", mailtest.Unreachable)
	e.fake.Fail("EXPUNGE", mailtest.Unreachable)
	h, err := e.open("INBOX", "m1.eml", true)
	if err != nil {
		t.Fatal(err)
	}
	h.File().Write(bg, []byte(msgID("o", "new")), 0)
	h.Release()
	e.settle()
	e.wantHeld("INBOX", msgID("o", "new"))
	if n := e.fake.Calls("APPEND"); n != 1 {
		t.Fatalf("%d APPENDs", n)
	}
}

// An APPEND whose answer was lost is looked for before it is sent again.
func TestAppendAnswerLost(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	e.fake.Fail("APPEND", mailtest.LostAnswer)
	e.create("Drafts", "a.eml", msg("a", "once"))
	e.settle()
	e.wantHeld("Drafts", msg("a", "once"))
	if n := e.fake.Calls("APPEND"); n != 1 {
		t.Fatalf("%d APPENDs", n)
	}
}

// touch, open(p, 'r+') without a write: nothing fetched, kept or stored.
func TestOpenWithoutWriteKeepsNothing(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	orig := msgID("o", "original")
	e.fake.Add("INBOX", []byte(orig))
	for range 3 {
		h, err := e.open("INBOX", "m1.eml", false)
		if err != nil {
			t.Fatal(err)
		}
		h.Release()
	}
	e.settle()
	if e.fake.Calls("BODY") != 0 || e.m.o.Budget.Used() != 0 || e.fake.Calls("APPEND") != 0 {
		t.Fatalf("%d bodies fetched, %d bytes kept, %d APPENDs", e.fake.Calls("BODY"), e.m.o.Budget.Used(), e.fake.Calls("APPEND"))
	}
	e.wantHeld("INBOX", orig)
}

// An edit whose message went stale (new UIDVALIDITY) before it was
// stored is stored as a new message, not refused.
func TestStaleEditIsStoredAsNew(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	orig := msgID("o", "original")
	e.fake.Add("INBOX", []byte(orig))
	h, err := e.open("INBOX", "m1.eml", true)
	if err != nil {
		t.Fatal(err)
	}
	h.File().Write(bg, []byte(msgID("o", "edited")), 0)
	e.fake.NewValidity("INBOX")
	h.Release()
	e.settle()
	e.wantHeld("INBOX", orig, msgID("o", "edited"))
	if len(e.m.NotStored()) != 0 || len(e.fake.Violations()) != 0 {
		t.Fatalf("not stored %+v, violations %v", e.m.NotStored(), e.fake.Violations())
	}
}

// A `>>` loop: every close stores, each new version replaces the last;
// Trash gets only the message as it was before, not the drafts between.
func TestAppendLoopTrashesOnlyTheOriginal(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	orig := msgID("o", "line 0")
	e.fake.Add("INBOX", []byte(orig))
	want := orig
	name := "m1.eml"
	for i := 1; i <= 5; i++ {
		h, err := e.open("INBOX", name, false)
		if err != nil {
			t.Fatal(err)
		}
		line := []byte("line\r\n")
		size := h.File().Attr().Size
		if err := h.File().Write(bg, line, size); err != nil {
			t.Fatal(err)
		}
		want += string(line)
		h.Release()
		if i%2 == 0 {
			e.settle()
		}
	}
	e.settle()
	e.wantHeld("INBOX", want)
	e.wantHeld("Trash", orig)
}

// cp X copy.eml within X's mailbox is a copy: X stays where it was, and
// removing or editing the copy never touches X. (A file whose bytes a
// message of the mailbox has already is stored again, not taken for that
// message: that would give one message two names, and rm of one of them,
// or rsync --delete, would remove it.)
func TestCopyWithinMailboxKeepsOriginal(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	x := msgID("x", "the original")
	e.fake.Add("Other", []byte(x))
	e.create("Other", "copy.eml", x)
	e.settle()
	e.wantHeld("Other", x, x)
	if got, ok, _ := e.read("Other", "m1.eml"); !ok || got != x {
		t.Fatalf("the original reads %q (found %v)", got, ok)
	}
	if err := e.m.Unlink(bg, e.mb("Other"), "copy.eml"); err != nil {
		t.Fatal(err)
	}
	e.settle()
	e.wantHeld("Other", x)
	if _, ok, _ := e.read("Other", "m1.eml"); !ok {
		t.Fatal("removing the copy removed the original")
	}
}

// An unmount while a file waits to be tried again (the server
// unreachable) waits for it: the model is quiet for an instant between
// the end of the wait and the next try, and Close must not take that
// for the end (it saved the file as not stored and stopped trying).
func TestCloseWaitsThroughRetries(t *testing.T) {
	for i := range 50 {
		q := &queue{}
		e := newEnv(t, mail.DeleteTrash, q, nil)
		e.fake.Fail("APPEND", mailtest.Unreachable)
		e.fake.Fail("APPEND", mailtest.Unreachable)
		e.create("Drafts", "a.eml", msg("a", "later"))
		q.take(0, false) // the first APPEND: unreachable, a wait
		closed := make(chan error, 1)
		go func() { closed <- e.m.Close(context.Background()) }()
		for q.take(0, true) || q.take(0, false) { // the waits end, the tries run
			for range 100 {
				runtime.Gosched() // Close would see the instant of quiet here
			}
		}
		if err := <-closed; err != nil {
			t.Fatalf("run %d: Close gave up on a file it could store: %v", i, err)
		}
		e.wantHeld("Drafts", msg("a", "later"))
	}
}

// A file written while the server could not be reached is tried again
// as soon as it answers (RetryNow), not at the end of its wait.
func TestRetryNowWhenTheServerIsBack(t *testing.T) {
	q := &queue{}
	e := newEnv(t, mail.DeleteTrash, q, nil)
	e.fake.Fail("APPEND", mailtest.Unreachable)
	e.create("Drafts", "a.eml", msg("a", "offline"))
	q.take(0, false) // the APPEND: unreachable, a wait
	if e.fake.Calls("APPEND") != 1 {
		t.Fatal("no APPEND tried")
	}
	e.m.RetryNow()
	for q.take(0, false) { // steps only: the wait's timer never fires
	}
	if n := e.fake.Calls("APPEND"); n != 2 {
		t.Fatalf("%d APPENDs after RetryNow, want 2", n)
	}
	e.wantHeld("Drafts", msg("a", "offline"))
}
