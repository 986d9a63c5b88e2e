package imapback

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"
)

func hasCondStore(caps imap.CapSet) bool {
	return caps.Has(imap.CapCondStore) || caps.Has(imap.CapQResync)
}

// Status asks STATUS (UIDVALIDITY UIDNEXT MESSAGES [HIGHESTMODSEQ]).
func (c *Client) Status(ctx context.Context, mailbox string) (MailboxState, error) {
	var st MailboxState
	err := c.withAvoiding(ctx, mailbox, func(cn *conn) error {
		var err error
		st, err = cn.status(ctx, mailbox)
		return err
	})
	return st, err
}

func (cn *conn) status(ctx context.Context, mailbox string) (MailboxState, error) {
	if cn.selected == mailbox {
		// Dovecot answers STATUS of the selected mailbox from the
		// session's view, which can lag (and outlive a DELETE and
		// re-CREATE of the mailbox): leave it first.
		cn.unselect(ctx)
		if cn.broken {
			return MailboxState{}, errorf("STATUS", ErrUnavailable, "could not leave %s", mailbox)
		}
	}
	var data *imap.StatusData
	cn.stats.statuses.Add(1)
	err := cn.run(ctx, "STATUS "+mailbox, func() error {
		var err error
		data, err = cn.c.Status(mailbox, cn.statusOptions()).Wait()
		return err
	})
	if err != nil {
		return MailboxState{}, err
	}
	return toState(data), nil
}

// statusOptions asks what MailboxState holds.
func (cn *conn) statusOptions() *imap.StatusOptions {
	return &imap.StatusOptions{UIDValidity: true, UIDNext: true, NumMessages: true,
		HighestModSeq: hasCondStore(cn.caps)}
}

func toState(data *imap.StatusData) MailboxState {
	st := MailboxState{UIDValidity: data.UIDValidity, UIDNext: uint32(data.UIDNext), HighestModSeq: data.HighestModSeq}
	if data.NumMessages != nil {
		st.Messages = *data.NumMessages
	}
	return st
}

// Changes revalidates a mailbox listed at state since, of which the caller
// knows known messages. An unchanged mailbox costs one STATUS and nothing
// else. A changed one costs only the difference: the new UIDs' listing
// fields, a UID SEARCH when messages went away, and, with CONDSTORE, the
// flags changed since. allFlags asks for every message's flags where
// CONDSTORE cannot say which changed (after an IDLE flag notice).
func (c *Client) Changes(ctx context.Context, mailbox string, since MailboxState, known int, allFlags bool) (*Delta, error) {
	d := &Delta{}
	err := c.withAvoiding(ctx, mailbox, func(cn *conn) error {
		st, err := cn.status(ctx, mailbox)
		if err != nil {
			return err
		}
		d.State = st
		if st.UIDValidity != since.UIDValidity {
			d.Reset = true
			return nil
		}
		condstore := hasCondStore(cn.caps)
		if st == since && !(allFlags && !condstore) {
			d.Unchanged = true
			return nil
		}
		if cn.selected != mailbox {
			if err := cn.examine(ctx, mailbox); err != nil {
				return err
			}
		}
		if cn.uidValidity != since.UIDValidity {
			d.Reset = true
			return nil
		}
		if st.UIDNext > since.UIDNext {
			l := &Listing{}
			cn.stats.deltaFetches.Add(1)
			err := cn.run(ctx, "UID FETCH (new) "+mailbox, func() error {
				return cn.fetchListing(l, imap.UIDSet{imap.UIDRange{Start: imap.UID(since.UIDNext), Stop: 0}})
			})
			if err != nil {
				return err
			}
			// "n:*" always matches the highest UID, even below n.
			for _, m := range l.Messages {
				if m.UID >= since.UIDNext {
					d.New = append(d.New, m)
				}
			}
		}
		if int(st.Messages) != known+len(d.New) {
			cn.stats.deltaFetches.Add(1)
			present, err := cn.allUIDs(ctx)
			if err != nil {
				return err
			}
			d.Present = present
		}
		switch {
		case condstore && st.HighestModSeq != since.HighestModSeq && since.HighestModSeq != 0:
			d.Flags, err = cn.fetchFlags(ctx, since.HighestModSeq)
		case allFlags && !condstore:
			d.Flags, err = cn.fetchFlags(ctx, 0)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// allUIDs is UID SEARCH ALL (compact with ESEARCH).
func (cn *conn) allUIDs(ctx context.Context) (map[uint32]bool, error) {
	var data *imap.SearchData
	var opts *imap.SearchOptions
	if cn.caps.Has(imap.CapESearch) || cn.caps.Has(imap.CapIMAP4rev2) {
		opts = &imap.SearchOptions{ReturnAll: true}
	}
	err := cn.run(ctx, "UID SEARCH ALL", func() error {
		var err error
		data, err = cn.c.UIDSearch(&imap.SearchCriteria{}, opts).Wait()
		return err
	})
	if err != nil {
		return nil, err
	}
	out := map[uint32]bool{}
	for _, uid := range data.AllUIDs() {
		out[uint32(uid)] = true
	}
	return out, nil
}

// fetchFlags fetches the flags of messages changed since modseq
// (CHANGEDSINCE), or of all messages when modseq is 0.
func (cn *conn) fetchFlags(ctx context.Context, modseq uint64) (map[uint32][]string, error) {
	out := map[uint32][]string{}
	cn.stats.deltaFetches.Add(1)
	err := cn.run(ctx, fmt.Sprintf("UID FETCH (FLAGS) CHANGEDSINCE %d", modseq), func() error {
		cmd := cn.c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, ChangedSince: modseq})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			var uid uint32
			var flags []string
			for item := msg.Next(); item != nil; item = msg.Next() {
				switch it := item.(type) {
				case imapclientUID:
					uid = uint32(it.UID)
				case imapclientFlags:
					flags = flagStrings(it.Flags)
				}
			}
			if uid != 0 {
				out[uid] = flags
			}
		}
		return cmd.Close()
	})
	return out, err
}
