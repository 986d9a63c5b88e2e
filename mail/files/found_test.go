package files

import (
	"testing"

	"mailfs/mail"
	"mailfs/mail/mailtest"
)

// Regression tests: each is a sequence the generated-sequence test
// (property_test.go) found failing, shrunk to its essence.

// An APPEND whose answer was lost, then the file removed before the model
// looked for it: the message it stored is found and removed.
func TestLostAnswerThenRemoved(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	e.fake.Add("INBOX", []byte(msgID("m", "m")))
	e.fake.Fail("APPEND", mailtest.LostAnswer)
	h, _ := e.open("INBOX", "m1.eml", false)
	h.File().Write(bg, []byte(msg("w", "w")), 0)
	h.Release()
	e.q.take(0, false) // the APPEND: stored, answer lost
	if err := e.m.Unlink(bg, e.mb("INBOX"), "m1.eml"); err != nil {
		t.Fatal(err)
	}
	e.settle()
	e.wantHeld("INBOX")
	e.wantHeld("Trash", msgID("m", "m"))
}

// The look for an unanswered APPEND refused (its body could not be
// fetched): tried again, never stored a second time.
func TestLookRefusedIsRetried(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	e.fake.Fail("APPEND", mailtest.LostAnswer)
	e.create("INBOX", "a.eml", msg("a", "a"))
	e.q.take(0, false)
	e.fake.Fail("BODY", mailtest.Refused)
	e.settle()
	e.wantHeld("INBOX", msg("a", "a"))
}

// An APPEND whose answer was lost, then the file renamed over: the look
// comes before the new file takes its versions.
func TestLostAnswerThenRenamedOver(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	e.fake.Add("INBOX", []byte(msgID("m", "m")))
	e.fake.Fail("APPEND", mailtest.LostAnswer)
	e.create("INBOX", "b.eml", msg("b", "b"))
	e.q.take(0, false)
	if _, err := e.m.Rename(bg, e.mb("INBOX"), "m1.eml", e.mb("INBOX"), "b.eml", false); err != nil {
		t.Fatal(err)
	}
	e.settle()
	e.wantHeld("INBOX", msgID("m", "m"))
	if got, _, _ := e.read("INBOX", "b.eml"); got != msgID("m", "m") {
		t.Fatalf("b.eml reads %q", got)
	}
}

// A name kept for a moved message gives way to the file that takes it.
func TestKeptNameGivesWayToFile(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	e.fake.Add("INBOX", []byte(msgID("m", "m")))
	if _, err := e.m.Rename(bg, e.mb("INBOX"), "m1.eml", e.mb("Other"), "b.eml", false); err != nil {
		t.Fatal(err)
	}
	h, err := e.open("Other", "b.eml", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Rename(bg, e.mb("Other"), "b.eml", e.mb("INBOX"), "m1.eml", false); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.m.Lookup(bg, e.mb("Other"), "b.eml"); ok {
		t.Fatal("Other/b.eml is still there after it was renamed away")
	}
	h.Release()
	e.settle()
	e.wantHeld("INBOX", msgID("m", "m"))
	e.wantHeld("Other")
}

// A message renamed over another with another Message-ID (rsync's
// rename onto a name that happens to be another message's) keeps it: the
// file is stored as a new message beside it, and the version it was
// written over goes.
func TestRenameOverAnotherMessageKeepsIt(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	a, b := msgID("a", "a"), msgID("b", "b")
	e.fake.Add("INBOX", []byte(a))
	e.fake.Add("INBOX", []byte(b))
	h, _ := e.open("INBOX", "m1.eml", false)
	h.File().Write(bg, []byte("more\r\n"), int64(len(a)))
	h.Release()
	if _, err := e.m.Rename(bg, e.mb("INBOX"), "m1.eml", e.mb("INBOX"), "m2.eml", false); err != nil {
		t.Fatal(err)
	}
	e.settle()
	e.wantHeld("INBOX", a+"more\r\n", b)
	e.wantHeld("Trash", a)
}

// A backup renamed over another backup: the one renamed over goes.
func TestBackupRenamedOverBackup(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	a, b := msgID("same", "a"), msgID("same", "b")
	e.fake.Add("INBOX", []byte(a))
	e.fake.Add("INBOX", []byte(b))
	for _, n := range []string{"m1.eml", "m2.eml"} {
		if _, err := e.m.Rename(bg, e.mb("INBOX"), n, e.mb("INBOX"), "b~", false); err != nil {
			t.Fatal(err)
		}
	}
	e.settle()
	e.wantHeld("INBOX", b)
	e.wantHeld("Trash", a)
}

// A refused file lets go of what its last stored version replaced.
func TestRefusedFileDropsWhatItReplaced(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	a, b := msgID("same", "a"), msgID("same", "b")
	e.fake.Add("INBOX", []byte(a))
	e.fake.Add("INBOX", []byte(b))
	if _, err := e.m.Rename(bg, e.mb("INBOX"), "m1.eml", e.mb("INBOX"), "m2.eml", false); err != nil {
		t.Fatal(err)
	}
	h, _ := e.open("INBOX", "m2.eml", true)
	h.Release()
	e.settle()
	e.wantHeld("INBOX", a)
	e.wantHeld("Trash", b)
}

// A removal whose answer was lost: tried again, the message is gone and
// no longer listed.
func TestRemovalAnswerLost(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	e.create("Other", "m1.eml", msg("w", "w"))
	e.fake.Fail("EXPUNGE", mailtest.LostAnswer)
	if err := e.m.Unlink(bg, e.mb("Other"), "m1.eml"); err != nil {
		t.Fatal(err)
	}
	e.settle()
	e.wantHeld("Other")
	if _, ok, _ := e.m.Lookup(bg, e.mb("Other"), "m1.eml"); ok {
		t.Fatal("a removed message is still listed")
	}
}

// A message this mount stored, moved to another mailbox, then edited: the
// version superseded is this mount's and is expunged, not trashed.
func TestMovedVersionStaysOurs(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	e.create("INBOX", "a.eml", msg("a", "1"))
	e.settle()
	if _, err := e.m.Rename(bg, e.mb("INBOX"), "a.eml", e.mb("Drafts"), "a.eml", false); err != nil {
		t.Fatal(err)
	}
	h, _ := e.open("Drafts", "a.eml", true)
	h.File().Write(bg, []byte(msg("a", "2")), 0)
	h.Release()
	e.settle()
	e.wantHeld("Drafts", msg("a", "2"))
	e.wantHeld("Trash")
}

// A message renamed over a file whose store is on its way: the message
// takes the name, and what the store put on the server goes.
func TestRenameOverFileBeingStored(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	d := msgID("d", "d")
	e.fake.Add("Drafts", []byte(d))
	e.create("Drafts", "b.eml", msg("w", "w"))
	if _, err := e.m.Rename(bg, e.mb("Drafts"), "m1.eml", e.mb("Drafts"), "b.eml", false); err != nil {
		t.Fatal(err)
	}
	e.q.take(0, false)
	if _, ok, _ := e.m.Lookup(bg, e.mb("Drafts"), "m2.eml"); ok {
		t.Fatal("the store renamed over shows under its own name")
	}
	e.settle()
	e.wantHeld("Drafts", d)
	e.wantHeld("Trash")
}

// A message renamed over another: whether that one is another message
// is asked of the server (its Message-ID); a refusal to answer is asked
// again, never taken for "remove it" or "keep it for good".
func TestRenameOverAsksAgainWhenRefused(t *testing.T) {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	a, b := msgID("same", "a"), msgID("same", "b")
	e.fake.Add("INBOX", []byte(a))
	e.fake.Add("INBOX", []byte(b))
	e.fake.Fail("BODY", mailtest.Refused)
	if _, err := e.m.Rename(bg, e.mb("INBOX"), "m2.eml", e.mb("INBOX"), "m1.eml", false); err != nil {
		t.Fatal(err)
	}
	e.settle()
	e.wantHeld("INBOX", b)
	e.wantHeld("Trash", a)
}
