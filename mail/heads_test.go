package mail

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestHeadOf(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"A: b\r\nC: d\r\n\r\nbody\r\n", "A: b\r\nC: d\r\n\r\n"},
		{"A: b\nC: d\n\nbody\n", "A: b\nC: d\n\n"},
		{"A: b\r\n", "A: b\r\n"},
		{"\r\nbody", "\r\n"},
		{"", ""},
	} {
		if got := string(HeadOf([]byte(c.in))); got != c.want {
			t.Errorf("HeadOf(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestHeadsInOneFetch: the heads of a mailbox, read in any order, come
// in one fetch of headers, never a body; a body read afterwards is the
// server's, and a server whose headers are not its bodies' first bytes
// gets no more heads served.
func TestHeadsInOneFetch(t *testing.T) {
	f := newFake("INBOX")
	var bodies []string
	for i := range 20 {
		b := fmt.Sprintf("Subject: m%d\r\nX: y\r\n\r\nbody %d\r\n", i, i)
		bodies = append(bodies, b)
		f.add("INBOX", fmt.Sprint(i), b, int64(len(b)))
	}
	a := newTestAccount(f)
	mb := a.Mailbox("INBOX")
	es := mustEntries(t, mb)
	heads := map[int][]byte{}
	for _, i := range []int{7, 3, 19, 0, 12} {
		h, err := mb.Head(bg, es[i].Ref())
		if err != nil {
			t.Fatal(err)
		}
		heads[i] = h
	}
	// The fake's Heads reads each body through Body: all 20 in one call.
	if f.count("HEADS") != 1 || f.count("BODY") != 20 {
		t.Fatalf("heads of 5 messages: %d header fetches, %d bodies read by the fake", f.count("HEADS"), f.count("BODY"))
	}
	for i, h := range heads {
		if want := HeadOf([]byte(bodies[i])); !bytes.Equal(h, want) {
			t.Fatalf("head of %d: %q, want %q", i, h, want)
		}
	}
	// A server whose header differs from its body's start.
	f.mu.Lock()
	f.boxes["INBOX"].msgs[es[7].UID].body = []byte("Subject: other\r\n\r\nx\r\n")
	f.mu.Unlock()
	if _, _, err := mb.Body(bg, es[7].Ref()); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Head(bg, es[8].Ref()); !errors.Is(err, ErrNoHead) {
		t.Fatalf("after a header that was not the body's start: %v", err)
	}
}
