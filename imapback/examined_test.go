package imapback

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailfs/internal/demoserver"
)

// TestAppendIntoExaminedMailbox: a server that refuses an APPEND into the
// mailbox the connection has EXAMINEd (Courier-IMAP) still gets every
// APPEND, even with one connection that has just listed that mailbox.
func TestAppendIntoExaminedMailbox(t *testing.T) {
	trace := &lockedBuffer{}
	srv, err := demoserver.Start(demoserver.Options{User: "alice", Password: "pw", Seed: true, Courier: true, DebugWriter: trace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ep, err := ParseURL("imap+insecure://alice@" + srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := Dial(ctx, Config{Endpoint: ep, Password: "pw", Timeout: 10 * time.Second, Connections: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 2 {
		if _, err := c.Messages(ctx, "Drafts"); err != nil {
			t.Fatal(err)
		}
		body := []byte("From: a@example.com\r\nSubject: s\r\n\r\nbody\r\n")
		if _, err := c.Append(ctx, "Drafts", body, nil, time.Now()); err != nil {
			t.Fatalf("APPEND %d into the mailbox just listed: %v", i, err)
		}
	}
	if !strings.Contains(trace.String(), "EXAMINE") {
		t.Fatal("the listing did not EXAMINE: the test shows nothing")
	}
}
