package imapback

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Append stores a new message with APPEND. date zero lets the server
// choose the INTERNALDATE (now).
func (c *Client) Append(ctx context.Context, mailbox string, body []byte, flags []string, date time.Time) (Placed, error) {
	placed := Placed{Mailbox: mailbox}
	if c.cfg.ReadOnly {
		return placed, errorf("APPEND", ErrReadOnly, "mounted with --read-only")
	}
	err := c.with(ctx, "", func(cn *conn) error {
		if cn.selected == mailbox && cn.readOnly {
			// Some servers (Courier-IMAP) refuse an APPEND into the
			// mailbox the connection has EXAMINEd: leave it first, or,
			// without UNSELECT, select it read-write.
			cn.unselect(ctx)
			if cn.selected != "" {
				if err := cn.selectRW(ctx, mailbox); err != nil {
					return err
				}
			}
		}
		c.stats.appends.Add(1)
		return cn.run(ctx, "APPEND "+mailbox, func() error {
			cmd := cn.c.Append(mailbox, int64(len(body)), &imap.AppendOptions{Flags: toFlags(flags), Time: date})
			if _, err := cmd.Write(body); err != nil {
				cn.abandon() // a literal half sent cannot be finished
				return err
			}
			if err := cmd.Close(); err != nil {
				return err
			}
			data, err := cmd.Wait()
			if err != nil {
				return err
			}
			placed.UIDValidity, placed.UID = data.UIDValidity, uint32(data.UID)
			return nil
		})
	})
	return placed, err
}

// StoreFlags adds and removes flags of one message (UID STORE +FLAGS.SILENT
// and -FLAGS.SILENT, pipelined), leaving every other flag as it is on the
// server: a change another client made meanwhile is not overwritten.
func (c *Client) StoreFlags(ctx context.Context, mailbox string, uidValidity, uid uint32, add, remove []string) error {
	return c.withRW(ctx, mailbox, uidValidity, uid, func(cn *conn) error {
		return cn.run(ctx, fmt.Sprintf("UID STORE %d +FLAGS/-FLAGS", uid), func() error {
			set := imap.UIDSetNum(imap.UID(uid))
			var cmds []*imapclient.FetchCommand
			if len(add) > 0 {
				cmds = append(cmds, cn.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: toFlags(add)}, nil))
			}
			if len(remove) > 0 {
				cmds = append(cmds, cn.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: toFlags(remove)}, nil))
			}
			var first error
			for _, cmd := range cmds {
				if err := cmd.Close(); err != nil && first == nil {
					first = err
				}
			}
			return first
		})
	})
}

// Expunge removes exactly one message: \Deleted + UID EXPUNGE of that
// UID. Never a bare EXPUNGE or CLOSE, which would also remove other
// clients' \Deleted mail; without UIDPLUS it is refused with ErrUnsafe.
// Where rm sends mail (Trash or expunge) is the model's choice.
func (c *Client) Expunge(ctx context.Context, mailbox string, uidValidity, uid uint32) error {
	return c.withRW(ctx, mailbox, uidValidity, uid, func(cn *conn) error {
		return cn.expungeUID(ctx, uid)
	})
}

// expungeUID removes exactly one UID from the selected mailbox.
func (cn *conn) expungeUID(ctx context.Context, uid uint32) error {
	caps := cn.caps
	if !caps.Has(imap.CapUIDPlus) && !caps.Has(imap.CapIMAP4rev2) {
		return errorf("UID EXPUNGE", ErrUnsafe, "server lacks UIDPLUS; a plain EXPUNGE would also remove other clients' \\Deleted messages")
	}
	set := imap.UIDSetNum(imap.UID(uid))
	err := cn.run(ctx, fmt.Sprintf("UID STORE %d +FLAGS (\\Deleted)", uid), func() error {
		return cn.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	})
	if err != nil {
		return err
	}
	return cn.run(ctx, fmt.Sprintf("UID EXPUNGE %d", uid), func() error {
		return cn.c.UIDExpunge(set).Close()
	})
}

// Copy copies one message with UID COPY; the copy keeps its flags and
// INTERNALDATE. The UID is 0 without UIDPLUS.
func (c *Client) Copy(ctx context.Context, from string, uidValidity, uid uint32, to string) (Placed, error) {
	placed := Placed{Mailbox: to}
	err := c.withRW(ctx, from, uidValidity, uid, func(cn *conn) error {
		return cn.run(ctx, fmt.Sprintf("UID COPY %d %s", uid, to), func() error {
			data, err := cn.c.Copy(imap.UIDSetNum(imap.UID(uid)), to).Wait()
			if err != nil {
				return err
			}
			placed.UIDValidity, placed.UID = data.UIDValidity, firstUID(data.DestUIDs)
			return nil
		})
	})
	return placed, err
}

// Move moves one message with UID MOVE. Without MOVE it copies (UID COPY),
// and only once the copy is confirmed marks and expunges exactly the
// source UID. go-imap's own fallback pipelines all three without checking
// the COPY, so it is never used.
func (c *Client) Move(ctx context.Context, from string, uidValidity, uid uint32, to string) (Placed, error) {
	placed := Placed{Mailbox: to}
	err := c.withRW(ctx, from, uidValidity, uid, func(cn *conn) error {
		caps := cn.caps
		set := imap.UIDSetNum(imap.UID(uid))
		if cn.c.Caps().Has(imap.CapMove) {
			// Exactly the test go-imap's Move makes (on the client's own
			// capabilities, IMAP4rev2 implying MOVE) before it would fall
			// back, so its unchecked COPY fallback cannot run here: the
			// connection is ours alone between the two.
			return cn.run(ctx, fmt.Sprintf("UID MOVE %d %s", uid, to), func() error {
				data, err := cn.c.Move(set, to).Wait()
				if err != nil {
					return err
				}
				placed.UIDValidity, placed.UID = data.UIDValidity, firstUID(data.DestUIDs)
				return movedNothing(caps, placed, from)
			})
		}
		if !caps.Has(imap.CapUIDPlus) {
			return errorf("UID MOVE", ErrUnsafe, "server has neither MOVE nor UIDPLUS; the source could not be removed safely after copying")
		}
		err := cn.run(ctx, fmt.Sprintf("UID COPY %d %s", uid, to), func() error {
			data, err := cn.c.Copy(set, to).Wait()
			if err != nil {
				return err
			}
			placed.UIDValidity, placed.UID = data.UIDValidity, firstUID(data.DestUIDs)
			return movedNothing(caps, placed, from)
		})
		if err != nil {
			return err // nothing was removed
		}
		if err := cn.expungeUID(ctx, uid); err != nil {
			return fmt.Errorf("copied to %s but the original stays in %s: %w", to, from, err)
		}
		return nil
	})
	return placed, err
}

// movedNothing: a server with UIDPLUS says where a copied or moved
// message went (COPYUID); an OK without it moved nothing, the UID being
// gone already (another client moved or expunged it: Dovecot answers
// "OK No messages found").
func movedNothing(caps imap.CapSet, placed Placed, from string) error {
	if caps.Has(imap.CapUIDPlus) && placed.UID == 0 {
		return errorf("UID MOVE", ErrNotFound, "the message is no longer in %s", from)
	}
	return nil
}

func firstUID(ns imap.NumSet) uint32 {
	if set, ok := ns.(imap.UIDSet); ok && len(set) > 0 {
		return uint32(set[0].Start)
	}
	return 0
}

func toFlags(flags []string) []imap.Flag {
	out := make([]imap.Flag, 0, len(flags))
	for _, f := range flags {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, imap.Flag(f))
		}
	}
	return out
}
