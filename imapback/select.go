package imapback

import (
	"context"
	"errors"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// withRW is with for commands that change a mailbox: the connection has
// mailbox SELECTed read-write, and its UIDVALIDITY must still be
// uidValidity (0 skips the check, for commands that name no UID). A
// command naming uid at or above the UIDNEXT the selection knows (a
// message another connection appended since) selects again first: a
// server acts on a UID STORE, EXPUNGE, COPY or MOVE only for messages its
// session has seen, and answers OK having done nothing otherwise.
func (c *Client) withRW(ctx context.Context, mailbox string, uidValidity, uid uint32, fn func(cn *conn) error) error {
	if c.cfg.ReadOnly {
		return errorf("write", ErrReadOnly, "mounted with --read-only")
	}
	cn, err := c.pool.get(ctx, mailbox)
	if err != nil {
		return err
	}
	defer c.pool.put(cn)
	if cn.selected != mailbox || cn.readOnly {
		if err := cn.selectRW(ctx, mailbox); err != nil {
			return err
		}
	}
	if uidValidity != 0 && cn.uidValidity != uidValidity || uid != 0 && uid >= cn.uidNext {
		// Possibly a stale selection: select again before concluding.
		if err := cn.selectRW(ctx, mailbox); err != nil {
			return err
		}
	}
	if uidValidity != 0 && cn.uidValidity != uidValidity {
		return errorf("write", ErrStale, "%s: UIDVALIDITY is %d, message was listed under %d", mailbox, cn.uidValidity, uidValidity)
	}
	return fn(cn)
}

// selectRW selects mailbox read-write.
func (cn *conn) selectRW(ctx context.Context, mailbox string) (err error) {
	var data *imap.SelectData
	cn.selected = ""
	err = cn.run(ctx, "SELECT "+mailbox, func() error {
		data, err = cn.c.Select(mailbox, nil).Wait()
		return err
	})
	if err != nil {
		return err
	}
	cn.selectedNow(mailbox, data, false)
	return nil
}

// selectedNow records a successful SELECT or EXAMINE.
func (cn *conn) selectedNow(mailbox string, data *imap.SelectData, readOnly bool) {
	cn.selected, cn.uidValidity, cn.readOnly = mailbox, data.UIDValidity, readOnly
	cn.exists, cn.uidNext = data.NumMessages, uint32(data.UIDNext)
}

// unselect leaves the selected mailbox without expunging anything
// (UNSELECT; never CLOSE, which would expunge \Deleted messages). Without
// UNSELECT the connection is dropped instead.
func (cn *conn) unselect(ctx context.Context) {
	if cn.selected == "" {
		return
	}
	if !cn.caps.Has(imap.CapUnselect) && !cn.caps.Has(imap.CapIMAP4rev2) {
		cn.broken = true
		return
	}
	if err := cn.run(ctx, "UNSELECT", func() error { return cn.c.Unselect().Wait() }); err == nil {
		cn.selected = ""
	}
}

// isUnder reports whether name is mailbox or may be one of its
// descendants (under any common delimiter: over-matching only costs a
// reconnect).
func isUnder(name, mailbox string) bool {
	if name == mailbox {
		return true
	}
	return strings.HasPrefix(name, mailbox+"/") || strings.HasPrefix(name, mailbox+".")
}

// freshRetry runs fetch, which reports whether it found what it wanted.
// A connection's selection only learns of new messages when the server
// may send updates, so a miss is retried once on a fresh EXAMINE before
// it counts.
func (cn *conn) freshRetry(ctx context.Context, mailbox string, fetch func() (bool, error)) error {
	found, err := fetch()
	if found || (err != nil && !errors.Is(err, ErrNotFound)) || cn.broken {
		return err
	}
	if err := cn.examine(ctx, mailbox); err != nil {
		return err
	}
	_, err = fetch()
	return err
}
