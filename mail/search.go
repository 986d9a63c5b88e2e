package mail

import (
	"context"
	"sort"
	"strings"
	"time"
)

// Hit is a mailbox with messages matching a query.
type Hit struct {
	Mailbox *Mailbox
	Entries []Entry // ascending UID
}

// Search runs q in the mailboxes named (full names; each with its
// children), or in every mailbox when none are. Mailboxes without hits
// are left out; the cost grows with the hits, not with the account.
func (a *Account) Search(ctx context.Context, q *Query, boxes []string) ([]Hit, error) {
	names, err := a.searchable(ctx, boxes)
	if err != nil {
		return nil, err
	}
	found, err := a.backend.Search(ctx, names, q)
	if err != nil {
		return nil, err
	}
	var hits []Hit
	for _, f := range found {
		m := a.Mailbox(f.Mailbox)
		h := Hit{Mailbox: m}
		for _, msg := range f.Messages {
			r := Ref{f.UIDValidity, msg.UID}
			if e, ok := m.Current(r); ok {
				h.Entries = append(h.Entries, e) // its size may be measured already
				continue
			}
			h.Entries = append(h.Entries, m.remember(Entry{Message: msg, UIDValidity: f.UIDValidity}))
		}
		sort.Slice(h.Entries, func(i, j int) bool { return h.Entries[i].UID < h.Entries[j].UID })
		hits = append(hits, h)
	}
	return hits, nil
}

// searchable lists the selectable mailboxes under boxes (all when empty).
func (a *Account) searchable(ctx context.Context, boxes []string) ([]string, error) {
	if err := a.tree.refresh(ctx); err != nil {
		return nil, err
	}
	delim := string(a.tree.delimiter())
	a.tree.mu.Lock()
	defer a.tree.mu.Unlock()
	var out []string
	for name, f := range a.tree.folders {
		if name == "" || !f.Selectable {
			continue
		}
		in := len(boxes) == 0
		for _, b := range boxes {
			in = in || name == b || strings.HasPrefix(name, b+delim) || (strings.EqualFold(b, "INBOX") && strings.EqualFold(name, "INBOX"))
		}
		if in {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// remember keeps a message found outside the listing (a search hit) as a
// single, so that its node can follow it as it does a looked-up one.
func (m *Mailbox) remember(e Entry) Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listing == nil {
		m.singles[e.UID] = single{e: e, at: time.Now()}
	}
	return e
}
