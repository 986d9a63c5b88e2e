package imapback

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/internal/testenv"
)

// TestActOnMessageAppendedElsewhere: a UID STORE or UID EXPUNGE of a
// message another connection appended after this connection selected
// the mailbox is acted on. Dovecot answers OK and does nothing for a UID
// its session has not seen; found by the Maildir view's test with
// Python's mailbox (a replaced message stayed on the server).
func TestActOnMessageAppendedElsewhere(t *testing.T) {
	d := testenv.StartDovecot(t)
	c, other := dovecotClients(t, d, Config{Connections: 1})
	body := []byte("From: a@example.com\r\nSubject: s\r\n\r\nbody\r\n")
	first, err := c.Append(context.Background(), "INBOX", body, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The one connection now has INBOX selected read-write.
	if err := c.StoreFlags(context.Background(), "INBOX", first.UIDValidity, first.UID, []string{`\Flagged`}, nil); err != nil {
		t.Fatal(err)
	}
	cmd := other.Append("INBOX", int64(len(body)), nil)
	cmd.Write(body)
	cmd.Close()
	data, err := cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	uid := uint32(data.UID)
	if err := c.Expunge(context.Background(), "INBOX", first.UIDValidity, uid); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	found, err := other.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(imap.UID(uid))}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(found.AllUIDs()) != 0 {
		t.Fatalf("UID %d, appended by another connection, is still there after its expunge said OK", uid)
	}
}

// dovecotClients dials cfg (endpoint, password and a timeout filled in)
// to d, and a second, plain go-imap client as "another client"; both
// are closed at the end of the test.
func dovecotClients(t *testing.T, d *testenv.Dovecot, cfg Config) (*Client, *imapclient.Client) {
	t.Helper()
	ep, err := ParseURL("imap+insecure://" + d.User + "@" + d.Addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Endpoint, cfg.Password, cfg.Timeout = ep, d.Password, 10*time.Second
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	other, err := imapclient.DialInsecure(d.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	if err := other.Login(d.User, d.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return c, other
}

// TestMoveOfAMessageMovedElsewhere: a UID MOVE of a message another
// client has just moved away is not a success. Dovecot answers "OK No
// messages found" (no COPYUID) and moves nothing; mv said it worked
// (found by a breaking session).
func TestMoveOfAMessageMovedElsewhere(t *testing.T) {
	d := testenv.StartDovecot(t)
	c, other := dovecotClients(t, d, Config{Connections: 1})
	ctx := context.Background()
	for _, box := range []string{"Archive", "Work"} {
		if err := c.CreateMailbox(ctx, box); err != nil {
			t.Fatal(err)
		}
	}
	body := []byte("From: a@example.com\r\nSubject: s\r\n\r\nbody\r\n")
	placed, err := c.Append(ctx, "INBOX", body, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// This connection has INBOX selected, and knows the UID.
	if err := c.StoreFlags(ctx, "INBOX", placed.UIDValidity, placed.UID, []string{`\Flagged`}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Move(imap.UIDSetNum(imap.UID(placed.UID)), "Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	got, err := c.Move(ctx, "INBOX", placed.UIDValidity, placed.UID, "Work")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("moving a message already moved away: %+v, %v; want ErrNotFound", got, err)
	}
	// A UID this session never saw: Dovecot's "OK No messages found".
	if got, err := c.Move(ctx, "INBOX", placed.UIDValidity, placed.UID+1000, "Work"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("moving a UID that is not there: %+v, %v; want ErrNotFound", got, err)
	}
	list, err := c.Messages(ctx, "Work")
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Messages) != 0 {
		t.Errorf("Work holds %d messages", len(list.Messages))
	}
}
