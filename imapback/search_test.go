package imapback

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/internal/demoserver"
	"mailfs/internal/sample"
	"mailfs/mail"
)

// lockedBuffer is a trace shared by the server's connections.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// searchOn runs a query over every sample mailbox (and one that does not
// exist) on an in-memory server advertising caps, and returns the hits
// and the protocol trace.
func searchOn(t *testing.T, caps imap.CapSet, query string) ([]mail.Found, string) {
	t.Helper()
	trace := &lockedBuffer{}
	srv, err := demoserver.Start(demoserver.Options{User: "alice", Password: "pw", Seed: true, Caps: caps, DebugWriter: trace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ep, err := ParseURL("imap+insecure://alice@" + srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(context.Background(), Config{Endpoint: ep, Password: "pw", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	boxes := append([]string{"No/Such/Mailbox"}, sample.Mailboxes()...)
	q, err := mail.ParseQuery(query, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	found, err := c.Search(context.Background(), boxes, q)
	if err != nil {
		t.Fatalf("search %q: %v", query, err)
	}
	return found, trace.String()
}

// RETURN goes only to a server that advertises ESEARCH; both answer the
// same hits, and a mailbox that does not exist gives none.
func TestSearchReturnOnlyWithESEARCH(t *testing.T) {
	without := demoserver.DefaultCaps()
	delete(without, imap.CapESearch)
	delete(without, imap.CapSearchRes)
	plain, plainTrace := searchOn(t, without, sample.PlantedWord)
	if !strings.Contains(plainTrace, "UID SEARCH") {
		t.Fatalf("no UID SEARCH in the trace: the check below proves nothing:\n%s", plainTrace)
	}
	if strings.Contains(plainTrace, "RETURN") {
		t.Errorf("RETURN sent to a server without ESEARCH")
	}
	es, esTrace := searchOn(t, nil, sample.PlantedWord)
	if !strings.Contains(esTrace, "RETURN (ALL)") {
		t.Errorf("no RETURN (ALL) to a server with ESEARCH")
	}
	summary := func(found []mail.Found) string {
		var b strings.Builder
		for _, f := range found {
			b.WriteString(f.Mailbox)
			for _, m := range f.Messages {
				b.WriteString(" " + m.Subject)
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	if len(plain) == 0 || summary(plain) != summary(es) {
		t.Errorf("hits without ESEARCH:\n%s\nwith:\n%s", summary(plain), summary(es))
	}
	for _, f := range plain {
		if f.Mailbox == "No/Such/Mailbox" {
			t.Error("hits in a mailbox that does not exist")
		}
	}
}
