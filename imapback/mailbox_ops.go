package imapback

import (
	"context"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Refusals: a NO without a response code, in words sentinelFor does not
// know, answers CREATE and RENAME most often because the server will not
// take the new name (Courier-IMAP: NO "Invalid mailbox name." for a name
// outside its INBOX. namespace): ErrInvalid, EINVAL to mkdir and mv, as a
// local file system answers a name it cannot hold. DELETE names a mailbox
// the server listed, so its refusal is not about the name: ErrDenied
// (EACCES). Either way a refusal, never a server that cannot be reached.

// CreateMailbox makes a mailbox and subscribes to it (CREATE + SUBSCRIBE). A
// failed SUBSCRIBE is logged, not returned: the mailbox exists.
func (c *Client) CreateMailbox(ctx context.Context, name string) error {
	if c.cfg.ReadOnly {
		return errorf("CREATE", ErrReadOnly, "mounted with --read-only")
	}
	return c.with(ctx, "", func(cn *conn) error {
		if err := cn.run(ctx, "CREATE "+name, func() error { return cn.c.Create(name, nil).Wait() }); err != nil {
			return refusedAs(err, ErrInvalid) // see "Refusals" above
		}
		if err := cn.run(ctx, "SUBSCRIBE "+name, func() error { return cn.c.Subscribe(name).Wait() }); err != nil {
			c.cfg.Logger.Warn("created mailbox but could not subscribe to it", "mailbox", name, "err", err)
		}
		return nil
	})
}

// DeleteMailbox removes an empty mailbox: one with no messages (STATUS MESSAGES)
// and no children (LIST). Otherwise ErrNotEmpty and nothing changes.
func (c *Client) DeleteMailbox(ctx context.Context, name string) error {
	if c.cfg.ReadOnly {
		return errorf("DELETE", ErrReadOnly, "mounted with --read-only")
	}
	if strings.EqualFold(name, "INBOX") {
		return errorf("DELETE", ErrDenied, "INBOX cannot be deleted")
	}
	c.pool.forget(name)
	return c.with(ctx, "", func(cn *conn) error {
		var list []*imap.ListData
		err := cn.run(ctx, "LIST "+name, func() error {
			var err error
			list, err = cn.c.List("", name, nil).Collect()
			return err
		})
		if err != nil {
			return err
		}
		// A name holding % or * (another client's) is a pattern to LIST,
		// which cannot escape them: only the answer that is exactly this
		// mailbox counts.
		var self *imap.ListData
		for _, l := range list {
			if l.Mailbox == name {
				self = l
			}
		}
		if self == nil {
			return errorf("DELETE", ErrNotFound, "%s", name)
		}
		delim := self.Delim
		noselect := toMailbox(self).NoSelect
		if delim != 0 {
			err = cn.run(ctx, "LIST children of "+name, func() error {
				var err error
				list, err = cn.c.List("", name+string(delim)+"%", nil).Collect()
				return err
			})
			if err != nil {
				return err
			}
			prefix := name + string(delim)
			for _, l := range list {
				if strings.HasPrefix(l.Mailbox, prefix) && !strings.Contains(l.Mailbox[len(prefix):], string(delim)) {
					return errorf("DELETE", ErrNotEmpty, "%s has child mailboxes", name)
				}
			}
		}
		if !noselect {
			var st *imap.StatusData
			err = cn.run(ctx, "STATUS "+name, func() error {
				var err error
				st, err = cn.c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait()
				return err
			})
			if err != nil {
				return err
			}
			if st.NumMessages != nil && *st.NumMessages > 0 {
				return errorf("DELETE", ErrNotEmpty, "%s holds %d messages", name, *st.NumMessages)
			}
		}
		err = cn.run(ctx, "DELETE "+name, func() error { return cn.c.Delete(name).Wait() })
		return refusedAs(err, ErrDenied) // see "Refusals" above
	})
}

// RenameMailbox renames a mailbox (and so its children) with RENAME.
func (c *Client) RenameMailbox(ctx context.Context, from, to string) error {
	if c.cfg.ReadOnly {
		return errorf("RENAME", ErrReadOnly, "mounted with --read-only")
	}
	if strings.EqualFold(from, "INBOX") {
		// RENAME INBOX moves its messages and leaves INBOX: not a rename.
		return errorf("RENAME", ErrDenied, "INBOX cannot be renamed")
	}
	c.pool.forget(from)
	return c.with(ctx, "", func(cn *conn) error {
		if err := cn.run(ctx, "RENAME "+from, func() error { return cn.c.Rename(from, to, nil).Wait() }); err != nil {
			return refusedAs(err, ErrInvalid) // see "Refusals" above
		}
		if err := cn.run(ctx, "SUBSCRIBE "+to, func() error { return cn.c.Subscribe(to).Wait() }); err != nil {
			c.cfg.Logger.Debug("could not subscribe to renamed mailbox", "mailbox", to, "err", err)
		}
		return nil
	})
}
