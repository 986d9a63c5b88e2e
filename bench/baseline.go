package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// The raw go-imap baselines: what a client that knows exactly what it
// wants gets out of the same server through the same proxy.

// imapConn is one logged-in go-imap client with a mailbox EXAMINEd.
type imapConn struct {
	c    *imapclient.Client
	stop func() bool
}

// dialIMAP connects to addr (plain IMAP), logs in and EXAMINEs mailbox.
// The connection is closed when ctx ends.
func dialIMAP(ctx context.Context, addr, user, password, mailbox string) (*imapConn, *imap.SelectData, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	ic := &imapConn{c: c, stop: context.AfterFunc(ctx, func() { c.Close() })}
	if err := c.Login(user, password).Wait(); err != nil {
		ic.close()
		return nil, nil, fmt.Errorf("LOGIN: %w", err)
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		ic.close()
		return nil, nil, fmt.Errorf("EXAMINE %s: %w", mailbox, err)
	}
	return ic, sel, nil
}

// close logs out (briefly) and closes.
func (ic *imapConn) close() {
	ic.stop()
	done := make(chan struct{})
	go func() {
		ic.c.Logout().Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	ic.c.Close()
}

// listed is one message of a listing.
type listed struct {
	UID     imap.UID
	Flags   []imap.Flag
	Size    int64
	Date    time.Time
	Subject []byte // raw HEADER.FIELDS (SUBJECT) reply
}

// listing runs the listing mailfs does, in one pipelined command:
// UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)]).
func (ic *imapConn) listing() ([]listed, error) {
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}
	cmd := ic.c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, RFC822Size: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{section},
	})
	var out []listed
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		var l listed
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				l.UID = it.UID
			case imapclient.FetchItemDataFlags:
				l.Flags = it.Flags
			case imapclient.FetchItemDataRFC822Size:
				l.Size = it.Size
			case imapclient.FetchItemDataInternalDate:
				l.Date = it.Time
			case imapclient.FetchItemDataBodySection:
				if it.Literal != nil {
					b, err := io.ReadAll(it.Literal)
					if err != nil {
						cmd.Close()
						return nil, err
					}
					l.Subject = b
				}
			}
		}
		out = append(out, l)
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("UID FETCH (listing): %w", err)
	}
	slices.SortFunc(out, func(a, b listed) int { return int(a.UID) - int(b.UID) })
	return out, nil
}

// bulkBodies fetches every body in one pipelined command,
// UID FETCH 1:* BODY.PEEK[] (go-imap adds UID to the item list, which a
// UID FETCH reply carries anyway). Bodies are read and dropped; each is
// passed to check when it is set.
func (ic *imapConn) bulkBodies(check func(uid imap.UID, body []byte)) (n int, bytes int64, err error) {
	cmd := ic.c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		var uid imap.UID
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					continue
				}
				var k int64
				if check != nil {
					b, rerr := io.ReadAll(it.Literal)
					k, err = int64(len(b)), rerr
					if err == nil {
						check(uid, b)
					}
				} else {
					k, err = io.Copy(io.Discard, it.Literal)
				}
				if err != nil {
					cmd.Close()
					return n, bytes, err
				}
				n++
				bytes += k
			}
		}
	}
	if err := cmd.Close(); err != nil {
		return n, bytes, fmt.Errorf("UID FETCH 1:* BODY.PEEK[]: %w", err)
	}
	return n, bytes, nil
}

// naive fetches the bodies of uids one command at a time, each waiting for
// the previous: UID FETCH <uid> BODY.PEEK[].
func (ic *imapConn) naive(uids []imap.UID) (bytes int64, err error) {
	for _, uid := range uids {
		cmd := ic.c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{
			BodySection: []*imap.FetchItemBodySection{{Peek: true}},
		})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			for item := msg.Next(); item != nil; item = msg.Next() {
				if it, ok := item.(imapclient.FetchItemDataBodySection); ok && it.Literal != nil {
					k, err := io.Copy(io.Discard, it.Literal)
					bytes += k
					if err != nil {
						cmd.Close()
						return bytes, err
					}
				}
			}
		}
		if err := cmd.Close(); err != nil {
			return bytes, fmt.Errorf("UID FETCH %d BODY.PEEK[]: %w", uid, err)
		}
	}
	return bytes, nil
}

// flagState maps UID to its flags (sorted, \Recent left out: it is a
// session flag, not state).
type flagState map[imap.UID]string

// snapshotFlags reads every message's flags in mailbox with a separate
// client talking to the server directly.
func snapshotFlags(ctx context.Context, addr, user, password, mailbox string) (flagState, error) {
	ic, sel, err := dialIMAP(ctx, addr, user, password, mailbox)
	if err != nil {
		return nil, err
	}
	defer ic.close()
	out := flagState{}
	if sel.NumMessages == 0 {
		return out, nil
	}
	msgs, err := ic.c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("UID FETCH 1:* (FLAGS): %w", err)
	}
	for _, m := range msgs {
		var fl []string
		for _, f := range m.Flags {
			if !strings.EqualFold(string(f), `\Recent`) {
				fl = append(fl, string(f))
			}
		}
		slices.Sort(fl)
		out[m.UID] = strings.Join(fl, " ")
	}
	return out, nil
}

// flagChanges compares two snapshots: messages whose flags differ, and of
// those how many gained \Seen.
func flagChanges(before, after flagState) (changed, gainedSeen int, examples []string) {
	for uid, b := range before {
		a, ok := after[uid]
		if ok && a == b {
			continue
		}
		changed++
		if !strings.Contains(b, `\Seen`) && strings.Contains(a, `\Seen`) {
			gainedSeen++
		}
		if len(examples) < 5 {
			examples = append(examples, fmt.Sprintf("UID %d: %q -> %q", uid, b, a))
		}
	}
	for uid := range after {
		if _, ok := before[uid]; !ok {
			changed++
			if len(examples) < 5 {
				examples = append(examples, fmt.Sprintf("UID %d appeared", uid))
			}
		}
	}
	return changed, gainedSeen, examples
}
