package imapback

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Short names for the fetch item types this package switches on.
type (
	imapclientUID     = imapclient.FetchItemDataUID
	imapclientFlags   = imapclient.FetchItemDataFlags
	imapclientSize    = imapclient.FetchItemDataRFC822Size
	imapclientDate    = imapclient.FetchItemDataInternalDate
	imapclientSection = imapclient.FetchItemDataBodySection
)

// Body fetches the whole message with UID FETCH uid BODY.PEEK[]: exactly
// the server's bytes, and never a \Seen flag. uidValidity is the validity
// the UID was listed under; when the mailbox's differs, ErrStale.
func (c *Client) Body(ctx context.Context, mailbox string, uidValidity, uid uint32) ([]byte, error) {
	var body []byte
	err := c.with(ctx, mailbox, func(cn *conn) error {
		if cn.uidValidity != uidValidity {
			// This connection's selection may predate a change of the
			// mailbox: look again before concluding.
			if err := cn.examine(ctx, mailbox); err != nil {
				return err
			}
		}
		if cn.uidValidity != uidValidity {
			return errorf("UID FETCH", ErrStale, "%s: UIDVALIDITY is %d, message was listed under %d", mailbox, cn.uidValidity, uidValidity)
		}
		return cn.freshRetry(ctx, mailbox, func() (bool, error) {
			c.stats.bodyFetches.Add(1)
			err := cn.run(ctx, fmt.Sprintf("UID FETCH %d BODY.PEEK[] (%s)", uid, mailbox), func() error {
				var err error
				body, err = cn.fetchBody(uid)
				return err
			})
			return !errors.Is(err, ErrNotFound), err
		})
	})
	if err != nil {
		return nil, err
	}
	c.stats.bytesFetched.Add(int64(len(body)))
	return body, nil
}

func (cn *conn) fetchBody(uid uint32) ([]byte, error) {
	section := &imap.FetchItemBodySection{Peek: true} // BODY.PEEK[]: never \Seen
	cmd := cn.c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
	var body []byte
	found := false
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		for item := msg.Next(); item != nil; item = msg.Next() {
			if it, ok := item.(imapclientSection); ok && it.Literal != nil {
				b, err := io.ReadAll(it.Literal)
				if err != nil {
					cmd.Close()
					return nil, err
				}
				body, found = b, true
			}
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, err
	}
	if !found {
		return nil, errorf("UID FETCH", ErrNotFound, "UID %d", uid)
	}
	return body, nil
}
