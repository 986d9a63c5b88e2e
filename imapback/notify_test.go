package imapback

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/internal/testenv"
)

// TestNotifyReportsEveryMailbox: one NOTIFY connection reports new mail,
// a flag change and an expunge in a mailbox nobody has selected, and a
// mailbox made and renamed by another client (Dovecot).
func TestNotifyReportsEveryMailbox(t *testing.T) {
	d := testenv.StartDovecot(t)
	c, other := dovecotClients(t, d, Config{Connections: 2, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !c.HasNotify() {
		t.Fatalf("Dovecot offers no NOTIFY: %v", c.Capabilities())
	}
	got := make(chan Notice, 100)
	done := c.Notify(ctx, func(n Notice) { got <- n })
	defer func() { cancel(); <-done }()
	want := func(what string, ok func(Notice) bool) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case n := <-got:
				if ok(n) {
					return
				}
				t.Logf("notice %+v (waiting for %s)", n, what)
			case <-deadline:
				t.Fatalf("no notice of %s", what)
			}
		}
	}
	want("the start", func(n Notice) bool { return n.Resync && n.Initial })

	if err := other.Create("Lists", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	want("a mailbox made", func(n Notice) bool { return n.Tree })
	body := []byte("From: a@example.com\r\nSubject: s\r\n\r\nbody\r\n")
	cmd := other.Append("Lists", int64(len(body)), nil)
	cmd.Write(body)
	cmd.Close()
	data, err := cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	want("new mail", func(n Notice) bool { return n.Mailbox == "Lists" && !n.Flags })
	if _, err := other.Select("Lists", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	uids := imap.UIDSetNum(data.UID)
	if err := other.Store(uids, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	want("a flag change", func(n Notice) bool { return n.Mailbox == "Lists" && n.Flags })
	if err := other.Store(uids, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.UIDExpunge(uids).Close(); err != nil {
		t.Fatal(err)
	}
	want("an expunge", func(n Notice) bool { return n.Mailbox == "Lists" && !n.Flags })
	if err := other.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	if err := other.Rename("Lists", "Lists2", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	want("a mailbox renamed", func(n Notice) bool { return n.Tree })
}
