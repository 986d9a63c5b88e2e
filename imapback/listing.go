package imapback

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/textproto"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/charset"

	"mailfs/mail"
)

// wordDecoder decodes RFC 2047 words in every charset go-message knows.
var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// nameHeaders are the only header fields a listing fetches: what a file
// name needs (the Date too with Config.Dates). Anything more costs bytes
// per message on every listing.
func nameHeaders(dates bool) []string {
	if dates {
		return []string{"Subject", "Date"}
	}
	return []string{"Subject"}
}

// Messages lists a mailbox's messages with one pipelined
// UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)]),
// (SUBJECT DATE) with Config.Dates. Bodies and envelopes are never
// fetched here.
func (c *Client) Messages(ctx context.Context, mailbox string) (*Listing, error) {
	var l *Listing
	err := c.withAvoiding(ctx, mailbox, func(cn *conn) error {
		if cn.selected == mailbox {
			cn.unselect(ctx) // STATUS must not come from a stale view
		}
		// STATUS, EXAMINE and the listing FETCH go out together: one
		// round trip instead of three. STATUS comes first, so whatever
		// changes while the listing is fetched shows as a change next
		// time.
		c.stats.statuses.Add(1)
		c.stats.listFetches.Add(1)
		return cn.run(ctx, "STATUS+EXAMINE+UID FETCH (listing) "+mailbox, func() error {
			stCmd := cn.c.Status(mailbox, cn.statusOptions())
			cn.selected = ""
			selCmd := cn.c.Select(mailbox, &imap.SelectOptions{ReadOnly: true})
			l = &Listing{}
			fetchErr := cn.fetchListing(l, imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}})
			data, selErr := selCmd.Wait()
			stData, stErr := stCmd.Wait()
			switch {
			case selErr != nil:
				return selErr
			case stErr != nil:
				return stErr
			case fetchErr != nil:
				return fetchErr
			}
			cn.selectedNow(mailbox, data, true)
			st := toState(stData)
			if st.UIDValidity != data.UIDValidity {
				// Changed in between: the next check fetches everything.
				st = MailboxState{UIDValidity: data.UIDValidity, UIDNext: 1}
			}
			l.UIDValidity, l.State = data.UIDValidity, st
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (cn *conn) fetchListing(l *Listing, uids imap.UIDSet) error {
	return cn.collectListing(l, cn.listingCommand(uids))
}

// listingCommand sends UID FETCH of the listing fields.
func (cn *conn) listingCommand(uids imap.UIDSet) *imapclient.FetchCommand {
	section := &imap.FetchItemBodySection{
		Specifier:    imap.PartSpecifierHeader,
		HeaderFields: cn.nameHeaders,
		Peek:         true,
	}
	opts := &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{section}}
	return cn.c.Fetch(uids, opts)
}

// collectListing reads a listing command's answers into l.
func (cn *conn) collectListing(l *Listing, cmd *imapclient.FetchCommand) error {
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		var m Message
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclientUID:
				m.UID = uint32(it.UID)
			case imapclientFlags:
				m.Flags = flagStrings(it.Flags)
			case imapclientSize:
				m.Size = it.Size
			case imapclientDate:
				m.InternalDate = it.Time
			case imapclientSection:
				if it.Literal != nil {
					hdr, err := io.ReadAll(it.Literal)
					if err != nil {
						cn.abandon() // a literal cut short: do not drain it
						return err
					}
					m.Subject, m.DateHeader = decodeNameHeaders(hdr)
				}
			}
		}
		if m.UID != 0 {
			l.Messages = append(l.Messages, m)
		}
	}
	return cmd.Close()
}

// flagStrings is flags as strings, one slice shared by every message
// with the same flags: most messages have one of a handful of sets (none;
// \Seen; \Seen \Answered), and a listing of a million messages should
// not hold a million copies of them. The slices are never changed in
// place (their capacity is their length, so an append copies).
func flagStrings(flags []imap.Flag) []string {
	var buf [256]byte
	key := buf[:0]
	for _, f := range flags {
		key = append(append(key, f...), 0)
	}
	flagSets.Lock()
	defer flagSets.Unlock()
	if out, ok := flagSets.m[string(key)]; ok {
		return out
	}
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = string(f)
	}
	if len(flagSets.m) < maxFlagSets {
		flagSets.m[string(key)] = out
	}
	return out
}

// flagSets are the flag sets flagStrings shares, up to maxFlagSets (a
// server's keywords are many only when something is wrong).
var flagSets = struct {
	sync.Mutex
	m map[string][]string
}{m: map[string][]string{}}

const maxFlagSets = 4096

// decodeNameHeaders reads the Subject out of a HEADER.FIELDS reply,
// decoding RFC 2047 words (undecodable text is returned as it came), and
// the Date, when there is one (mail.ParseHeaderDate).
func decodeNameHeaders(hdr []byte) (subject string, date int64) {
	if !bytes.HasSuffix(hdr, []byte("\r\n\r\n")) && !bytes.HasSuffix(hdr, []byte("\n\n")) {
		hdr = append(hdr, "\r\n\r\n"...)
	}
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(hdr))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return "", 0
	}
	date = mail.ParseHeaderDate(h.Get("Date"))
	raw := strings.TrimSpace(h.Get("Subject"))
	if dec, err := wordDecoder.DecodeHeader(raw); err == nil {
		return dec, date
	}
	return raw, date
}

// Message fetches the listing fields of one message by UID, so that a
// file can be looked up by name without listing a whole mailbox. The
// result says the mailbox's UIDVALIDITY; ok is false when there is no such
// UID.
func (c *Client) Message(ctx context.Context, mailbox string, uid uint32) (uidValidity uint32, msg Message, ok bool, err error) {
	err = c.with(ctx, mailbox, func(cn *conn) error {
		return cn.freshRetry(ctx, mailbox, func() (bool, error) {
			l := &Listing{}
			err := cn.run(ctx, fmt.Sprintf("UID FETCH %d (listing) %s", uid, mailbox), func() error {
				return cn.fetchListing(l, imap.UIDSetNum(imap.UID(uid)))
			})
			if err != nil {
				return false, err
			}
			uidValidity = cn.uidValidity
			for _, m := range l.Messages {
				if m.UID == uid {
					msg, ok = m, true
				}
			}
			return ok, nil
		})
	})
	return uidValidity, msg, ok, err
}
