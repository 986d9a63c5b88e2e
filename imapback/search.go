package imapback

import (
	"context"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailfs/mail"
)

// Search runs a query in one mailbox: UID SEARCH of the compiled criteria
// (CHARSET UTF-8 when a term needs it; never RETURN, which IMAP4rev1-only
// servers refuse), then, only when there are hits, the listing fields of
// just those UIDs. A mailbox without hits costs one round trip and no
// listing.
func (c *Client) Search(ctx context.Context, mailbox string, q *mail.Query) (uidValidity uint32, hits []Message, err error) {
	criteria, err := compile(q.Root)
	if err != nil {
		return 0, nil, err
	}
	err = c.with(ctx, mailbox, func(cn *conn) error {
		return cn.freshRetry(ctx, mailbox, func() (bool, error) {
			var uids []imap.UID
			err := cn.run(ctx, "UID SEARCH "+mailbox, func() error {
				data, err := cn.c.UIDSearch(criteria, nil).Wait()
				if err != nil {
					return err
				}
				uids = data.AllUIDs()
				return nil
			})
			if err != nil {
				return false, err
			}
			uidValidity = cn.uidValidity
			hits = nil
			if len(uids) == 0 {
				return true, nil
			}
			l := &Listing{}
			err = cn.run(ctx, fmt.Sprintf("UID FETCH (listing of %d hits) %s", len(uids), mailbox), func() error {
				return cn.fetchListing(l, imap.UIDSetNum(uids...))
			})
			hits = l.Messages
			return true, err
		})
	})
	return uidValidity, hits, err
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
