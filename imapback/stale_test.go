package imapback

import (
	"context"
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
	ep, err := ParseURL("imap+insecure://" + d.User + "@" + d.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := Dial(ctx, Config{Endpoint: ep, Password: d.Password, Timeout: 10 * time.Second, Connections: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := []byte("From: a@example.com\r\nSubject: s\r\n\r\nbody\r\n")
	first, err := c.Append(ctx, "INBOX", body, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The one connection now has INBOX selected read-write.
	if err := c.StoreFlags(ctx, "INBOX", first.UIDValidity, first.UID, []string{`\Flagged`}, nil); err != nil {
		t.Fatal(err)
	}
	other, err := imapclient.DialInsecure(d.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Login(d.User, d.Password).Wait(); err != nil {
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
	if err := c.Expunge(ctx, "INBOX", first.UIDValidity, uid); err != nil {
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
