package imapback

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/mail"
)

// searchBatch bounds the commands in flight on one connection.
const searchBatch = 64

// Search runs a query in every mailbox named, pipelined on one
// connection: EXAMINE and UID SEARCH of each mailbox go out together and
// the answers are read in order (the server executes commands in
// sequence, so each SEARCH runs in the mailbox examined just before it;
// after a failed EXAMINE nothing is selected, so that mailbox's SEARCH
// fails rather than search another). Then, only for mailboxes with hits,
// EXAMINE and UID FETCH of just the hits' listing fields, pipelined the
// same way. RETURN (ALL) goes only to servers that advertise ESEARCH:
// IMAP4rev1-only servers refuse it. A mailbox that has gone away gives no
// hits.
func (c *Client) Search(ctx context.Context, mailboxes []string, q *mail.Query) ([]mail.Found, error) {
	criteria, err := compile(q.Root)
	if err != nil {
		return nil, err
	}
	var found []mail.Found
	err = c.with(ctx, "", func(cn *conn) error {
		for start := 0; start < len(mailboxes); start += searchBatch {
			batch := mailboxes[start:min(start+searchBatch, len(mailboxes))]
			hits, err := cn.searchBatch(ctx, batch, criteria)
			if err != nil {
				return err
			}
			f, err := cn.listHits(ctx, hits)
			if err != nil {
				return err
			}
			found = append(found, f...)
		}
		return nil
	})
	return found, err
}

// boxHits is one mailbox's answer to UID SEARCH.
type boxHits struct {
	mailbox     string
	uidValidity uint32
	uids        []imap.UID
}

// searchBatch sends EXAMINE + UID SEARCH for every mailbox of batch, then
// reads the answers; mailboxes without hits are left out.
func (cn *conn) searchBatch(ctx context.Context, batch []string, criteria *imap.SearchCriteria) ([]boxHits, error) {
	var opts *imap.SearchOptions
	if cn.caps.Has(imap.CapESearch) {
		opts = &imap.SearchOptions{ReturnAll: true}
	}
	var out []boxHits
	op := fmt.Sprintf("UID SEARCH in %d mailboxes (pipelined)", len(batch))
	err := cn.run(ctx, op, func() error {
		type pair struct {
			sel    *imapclient.SelectCommand
			search *imapclient.SearchCommand
		}
		cn.selected = ""
		pairs := make([]pair, len(batch))
		for i, mb := range batch {
			pairs[i] = pair{cn.c.Select(mb, &imap.SelectOptions{ReadOnly: true}), cn.c.UIDSearch(criteria, opts)}
		}
		var first error
		for i, p := range pairs {
			data, selErr := p.sel.Wait()
			res, searchErr := p.search.Wait()
			switch {
			case selErr != nil:
				cn.selected = ""
				if e := classify("EXAMINE "+batch[i], selErr); !errors.Is(e, ErrNotFound) && first == nil {
					first = e
				}
			case searchErr != nil:
				cn.selectedNow(batch[i], data, true)
				if first == nil {
					first = searchErr
				}
			default:
				cn.selectedNow(batch[i], data, true)
				if uids := res.AllUIDs(); len(uids) > 0 {
					out = append(out, boxHits{batch[i], data.UIDValidity, uids})
				}
			}
		}
		return first
	})
	return out, err
}

// listHits fetches the listing fields of the hits: EXAMINE + UID FETCH
// per mailbox, pipelined.
func (cn *conn) listHits(ctx context.Context, hits []boxHits) ([]mail.Found, error) {
	if len(hits) == 0 {
		return nil, nil
	}
	n := 0
	for _, h := range hits {
		n += len(h.uids)
	}
	var out []mail.Found
	op := fmt.Sprintf("UID FETCH (listing of %d hits in %d mailboxes, pipelined)", n, len(hits))
	err := cn.run(ctx, op, func() error {
		type pair struct {
			sel   *imapclient.SelectCommand
			fetch *imapclient.FetchCommand
		}
		cn.selected = ""
		pairs := make([]pair, len(hits))
		for i, h := range hits {
			pairs[i] = pair{cn.c.Select(h.mailbox, &imap.SelectOptions{ReadOnly: true}), cn.listingCommand(imap.UIDSetNum(h.uids...))}
		}
		var first error
		for i, p := range pairs {
			data, selErr := p.sel.Wait()
			l := &Listing{}
			fetchErr := cn.collectListing(l, p.fetch)
			switch {
			case selErr != nil:
				cn.selected = ""
				if e := classify("EXAMINE "+hits[i].mailbox, selErr); !errors.Is(e, ErrNotFound) && first == nil {
					first = e
				}
			case fetchErr != nil:
				cn.selectedNow(hits[i].mailbox, data, true)
				if first == nil {
					first = fetchErr
				}
			default:
				cn.selectedNow(hits[i].mailbox, data, true)
				// A mailbox recreated between the two commands: its hits
				// are gone.
				if data.UIDValidity == hits[i].uidValidity && len(l.Messages) > 0 {
					out = append(out, mail.Found{Mailbox: hits[i].mailbox, UIDValidity: data.UIDValidity, Messages: l.Messages})
				}
			}
			if cn.broken {
				return first
			}
		}
		return first
	})
	return out, err
}

// compile turns a query tree into SEARCH criteria.
func compile(n mail.Node) (*imap.SearchCriteria, error) {
	c := &imap.SearchCriteria{}
	switch x := n.(type) {
	case nil:
		// every message: the empty criteria (SEARCH ALL)
	case mail.Match:
		if err := compileMatch(c, x); err != nil {
			return nil, err
		}
	case mail.Not:
		inner, err := compile(x.X)
		if err != nil {
			return nil, err
		}
		c.Not = append(c.Not, *inner)
	case mail.And:
		for _, y := range x {
			inner, err := compile(y)
			if err != nil {
				return nil, err
			}
			c.And(inner)
		}
	case mail.Or:
		acc, err := compile(x[0])
		if err != nil {
			return nil, err
		}
		for _, y := range x[1:] {
			next, err := compile(y)
			if err != nil {
				return nil, err
			}
			acc = &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{*acc, *next}}}
		}
		c = acc
	default:
		return nil, fmt.Errorf("%w: query node %T", ErrInvalid, n)
	}
	return c, nil
}

func compileMatch(c *imap.SearchCriteria, m mail.Match) error {
	switch m.Field {
	case "text":
		c.Text = append(c.Text, m.Value)
	case "body":
		c.Body = append(c.Body, m.Value)
	case "from", "to", "cc", "bcc", "subject":
		c.Header = append(c.Header, imap.SearchCriteriaHeaderField{Key: strings.ToUpper(m.Field[:1]) + m.Field[1:], Value: m.Value})
	case "header":
		c.Header = append(c.Header, imap.SearchCriteriaHeaderField{Key: m.Name, Value: m.Value})
	case "since":
		c.Since = m.Date
	case "before":
		c.Before = m.Date
	case "on":
		c.Since, c.Before = m.Date, m.Date.AddDate(0, 0, 1)
	case "larger":
		c.Larger = m.Size
	case "smaller":
		c.Smaller = m.Size
	case "flag":
		c.Flag = append(c.Flag, imap.Flag(m.Value))
	case "noflag":
		c.NotFlag = append(c.NotFlag, imap.Flag(m.Value))
	default:
		return fmt.Errorf("%w: search field %s", ErrInvalid, m.Field)
	}
	return nil
}
