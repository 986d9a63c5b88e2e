package imapback

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"

	"github.com/emersion/go-imap/v2/imapclient"
	"mailfs/mail"
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
	err := c.withValid(ctx, mailbox, uidValidity, func(cn *conn) error {
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
				b, err := readLiteral(it.Literal)
				if err != nil {
					cn.abandon() // a literal cut short: do not drain it
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

// Bodies fetches many messages with one pipelined
// UID FETCH uid,uid,… BODY.PEEK[] and hands each body to each as soon as
// it has arrived, so a reader waiting for the first need not wait for the
// last. UIDs the server does not return are simply not handed over.
func (c *Client) Bodies(ctx context.Context, mailbox string, uidValidity uint32, uids []uint32, each func(uid uint32, body []byte)) error {
	section := &imap.FetchItemBodySection{Peek: true} // never \Seen
	return c.sections(ctx, mailbox, uidValidity, uids, section, "BODY.PEEK[]", each)
}

// Heads fetches the headers of many messages (each up to and including
// the blank line that ends it, the first bytes of its body) in one
// pipelined command, handing each to each as it arrives.
func (c *Client) Heads(ctx context.Context, mailbox string, uidValidity uint32, uids []uint32, each func(uid uint32, head []byte)) error {
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	return c.sections(ctx, mailbox, uidValidity, uids, section, "BODY.PEEK[HEADER]", each)
}

// sections fetches one body section of many messages in one command.
func (c *Client) sections(ctx context.Context, mailbox string, uidValidity uint32, uids []uint32, section *imap.FetchItemBodySection, what string, each func(uid uint32, b []byte)) error {
	if len(uids) == 0 {
		return nil
	}
	return c.withValid(ctx, mailbox, uidValidity, func(cn *conn) error {
		var set imap.UIDSet
		for _, u := range uids {
			set.AddNum(imap.UID(u))
		}
		c.stats.batchFetches.Add(1)
		return cn.run(ctx, fmt.Sprintf("UID FETCH (%d messages) %s (%s)", len(uids), what, mailbox), func() error {
			cmd := cn.c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
			for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
				var uid uint32
				var body []byte
				for item := msg.Next(); item != nil; item = msg.Next() {
					switch it := item.(type) {
					case imapclientUID:
						uid = uint32(it.UID)
					case imapclientSection:
						if it.Literal == nil {
							continue
						}
						b, err := readLiteral(it.Literal)
						if err != nil {
							cn.abandon() // a literal cut short: do not drain it
							return err
						}
						body = b
					}
				}
				if uid != 0 && body != nil {
					c.stats.bytesFetched.Add(int64(len(body)))
					each(uid, body)
				}
			}
			return cmd.Close()
		})
	})
}

// maxLiteral bounds a literal read: a message is at most
// mail.MaxMessageBytes.
const maxLiteral = mail.MaxMessageBytes

// readLiteral reads a literal into a buffer of exactly its size (io.ReadAll
// would grow one by doubling, up to twice the memory for large bodies).
// A literal cut short is an error: a partial body is never returned.
func readLiteral(lit imap.LiteralReader) ([]byte, error) {
	size := lit.Size()
	if size < 0 || size > maxLiteral {
		// Not allocated: a server announcing gigabytes gets an error,
		// not the memory.
		return nil, errorf("FETCH", ErrTooBig, "the server announced a literal of %d bytes; a message is at most %d", size, maxLiteral)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(lit, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// Range fetches part of a message: UID FETCH uid BODY.PEEK[]<off.n>. The
// result is shorter than n at the end of the message (empty past it).
func (c *Client) Range(ctx context.Context, mailbox string, uidValidity, uid uint32, off, n int64) ([]byte, error) {
	var out []byte
	err := c.withValid(ctx, mailbox, uidValidity, func(cn *conn) error {
		return cn.freshRetry(ctx, mailbox, func() (bool, error) {
			c.stats.rangeFetches.Add(1)
			section := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: off, Size: n}}
			found := false
			err := cn.run(ctx, fmt.Sprintf("UID FETCH %d BODY.PEEK[]<%d.%d> (%s)", uid, off, n, mailbox), func() error {
				cmd := cn.c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
				for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
					for item := msg.Next(); item != nil; item = msg.Next() {
						if it, ok := item.(imapclientSection); ok {
							if it.Literal == nil {
								// NIL, not "": the message is gone (Dovecot
								// answers so for one expunged meanwhile). An
								// offset past the end is an empty string.
								continue
							}
							found = true
							b, err := readLiteral(it.Literal)
							if err != nil {
								cn.abandon() // a literal cut short: do not drain it
								return err
							}
							out = b
						}
					}
				}
				return cmd.Close()
			})
			if err == nil && !found {
				err = errorf("UID FETCH", ErrNotFound, "UID %d", uid)
			}
			return !errors.Is(err, ErrNotFound), err
		})
	})
	if err != nil {
		return nil, err
	}
	c.stats.bytesFetched.Add(int64(len(out)))
	return out, nil
}

// withValid is with for fetches by UID: the connection has mailbox
// selected under uidValidity. A selection that predates a change of the
// mailbox is refreshed before concluding ErrStale (safety rule 3).
func (c *Client) withValid(ctx context.Context, mailbox string, uidValidity uint32, fn func(cn *conn) error) error {
	return c.with(ctx, mailbox, func(cn *conn) error {
		if cn.uidValidity != uidValidity {
			if err := cn.examine(ctx, mailbox); err != nil {
				return err
			}
		}
		if cn.uidValidity != uidValidity {
			return errorf("UID FETCH", ErrStale, "%s: UIDVALIDITY is %d, UIDs were listed under %d", mailbox, cn.uidValidity, uidValidity)
		}
		return fn(cn)
	})
}
