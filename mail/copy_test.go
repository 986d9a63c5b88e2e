package mail

import (
	"strings"
	"testing"
	"time"
)

func msgWithID(id, body string) string {
	return "Subject: s\r\nMessage-ID: <" + id + ">\r\n\r\n" + body
}

// Bytes written over a message: its own bytes store nothing, another
// message's are stored beside it, a version replaces it.
func TestStoreOverAMessage(t *testing.T) {
	f := newFake("INBOX")
	raw := msgWithID("a@x", "A\r\n")
	f.add("INBOX", "s", raw, int64(len(raw)))
	a := newTestAccount(f)
	mb := a.Mailbox("INBOX")
	old := mustEntries(t, mb)[0]
	r := old.Ref()

	e, err := mb.Store(bg, &Commit{Data: []byte(raw), Replaces: &r})
	if err != nil || e.Ref() != r || !e.Same || f.count("APPEND")+f.count("EXPUNGE") != 0 {
		t.Fatalf("own bytes: %+v %v, %d APPENDs", e, err, f.count("APPEND"))
	}
	other := msgWithID("b@x", "B\r\n")
	e, err = mb.Store(bg, &Commit{Data: []byte(other), Replaces: &r})
	if err != nil || e.Ref() == r || !e.KeptOld {
		t.Fatal(err)
	}
	if _, ok := mb.Current(r); !ok || f.count("EXPUNGE") != 0 {
		t.Fatal("a different message written over one removed it")
	}
	version := msgWithID("a@x", "A, edited\r\n")
	e, err = mb.Store(bg, &Commit{Data: []byte(version), Replaces: &r})
	if err != nil || e.Ref() == r || e.Same || e.KeptOld {
		t.Fatalf("version: %+v %v", e, err)
	}
	if _, ok := mb.Current(r); !ok || f.count("EXPUNGE") != 0 {
		t.Fatal("Store removed the old version itself (the file model does, once it is stored)")
	}
	if err := mb.Supersede(bg, r); err != nil {
		t.Fatal(err)
	}
	if _, ok := mb.Current(r); ok || f.count("EXPUNGE") != 1 {
		t.Fatal("a version did not replace the message")
	}
	if got := len(mustEntries(t, mb)); got != 2 {
		t.Fatalf("INBOX holds %d, want 2 (the other message and the version)", got)
	}
}

// A new file with the bytes of a message the view opened is a UID COPY
// (flags and date come with it); with another date asked for, an APPEND.
func TestStoreCopyOfAnOpenedMessage(t *testing.T) {
	f := newFake("INBOX", "Copy")
	raw := msgWithID("c@x", "C\r\n")
	uid := f.add("INBOX", "s", raw, int64(len(raw)))
	f.boxes["INBOX"].msgs[uid].Flags = []string{`\Seen`}
	a := newTestAccount(f)
	in, cp := a.Mailbox("INBOX"), a.Mailbox("Copy")
	src := mustEntries(t, in)[0]
	if _, _, err := in.Body(bg, src.Ref()); err != nil {
		t.Fatal(err)
	}
	in.Opened(src.UID)
	e, err := cp.Store(bg, &Commit{Data: []byte(raw)})
	if err != nil || f.count("COPY") != 1 || f.count("APPEND") != 0 {
		t.Fatalf("copy: %v, %d COPY, %d APPEND", err, f.count("COPY"), f.count("APPEND"))
	}
	if len(e.Flags) != 1 || !e.InternalDate.Equal(src.InternalDate) {
		t.Errorf("the copy has flags %v date %v", e.Flags, e.InternalDate)
	}
	if _, err := cp.Store(bg, &Commit{Data: []byte(raw), Date: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), DateChosen: true}); err != nil {
		t.Fatal(err)
	}
	if f.count("APPEND") != 1 {
		t.Error("a copy with another date asked for was not an APPEND")
	}
}

// A write over a large message that is not cached compares with its
// first chunk only when the sizes differ: no whole-body fetch.
func TestStoreOverALargeMessageFetchesItsHeadOnly(t *testing.T) {
	f := newFake("INBOX")
	raw := msgWithID("big@x", strings.Repeat("0123456789abcdef\r\n", 40000))
	f.add("INBOX", "s", raw, int64(len(raw)))
	a := newTestAccount(f)
	mb := a.Mailbox("INBOX")
	r := mustEntries(t, mb)[0].Ref()
	edited := msgWithID("big@x", "short now\r\n")
	s, err := mb.Store(bg, &Commit{Data: []byte(edited), Replaces: &r})
	if err != nil {
		t.Fatal(err)
	}
	if f.count("BODY") != 0 || f.count("RANGE") != 1 {
		t.Errorf("%d whole bodies and %d ranges fetched to compare", f.count("BODY"), f.count("RANGE"))
	}
	if s.Same || s.KeptOld {
		t.Error("the edited version was not taken for a version of the message")
	}
}
