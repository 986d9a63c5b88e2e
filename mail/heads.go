package mail

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Heads: a mail client opening a mailbox (neomutt on a Maildir, mscan,
// aerc) reads the head of every file, not the bodies. A small first
// read of a message whose body is not here is answered with its header
// alone (BODY.PEEK[HEADER]); a miss fetches it together with the
// headers of the messages after it in listing order, and the rest of the
// mailbox's (wrapping around, up to headsAhead) in pipelined background
// batches, as a mail client over IMAP fetches every header when it opens
// a mailbox: the heads cost a few round trips in whatever order they are
// read (neomutt reads a Maildir in inode order). A read past the header
// fetches the body.
const (
	headsNow   = 64     // headers fetched with the one missed
	headsBatch = 500    // headers per background UID FETCH
	headsAhead = 10_000 // headers fetched in the background after a miss
	// MaxHeadRead is the largest first read answered with the header:
	// stdio and mail clients read a head in 4–12 KiB; grep, cat and
	// whole-file readers ask for far more and get the body.
	MaxHeadRead = 16 << 10
)

// ErrNoHead: the header alone is not served (the server's headers were
// found not to be the first bytes of its bodies); read the body.
var ErrNoHead = errors.New("headers alone are not served for this account")

// headState is how the mailbox's messages are being read: whether a
// reader last wanted heads alone (a mail client) or whole bodies (grep,
// cat), and how many head misses there were.
type headState struct {
	bodies atomic.Bool  // the last first read wanted the body
	opens  atomic.Int64 // opens while bodies: every 16th tries heads again
	misses atomic.Int64
}

// PreferHead says whether a message opened with its body not here should
// be opened for its head first (see Head): yes, unless readers of this
// mailbox lately read whole bodies (then the page cache serves them
// better), except every 16th open, to notice when that changes.
func (m *Mailbox) PreferHead() bool {
	if !m.heads.bodies.Load() {
		return true
	}
	return m.heads.opens.Add(1)%16 == 0
}

// ReadHead and ReadBody record what a reader opened for its head first
// did: read the head alone, or went on to the body.
func (m *Mailbox) ReadHead() { m.heads.bodies.Store(false) }
func (m *Mailbox) ReadBody() { m.heads.bodies.Store(true) }

func (m *Mailbox) headKey(r Ref) string { return m.bodyKey(r) + "\x00head" }

// HeadOf is the header of a message: its bytes up to and including the
// first empty line (all of it when there is none).
func HeadOf(body []byte) []byte {
	for i := 0; i < len(body); {
		j := bytes.IndexByte(body[i:], '\n')
		if j < 0 {
			break
		}
		line := body[i : i+j]
		i += j + 1
		if len(line) == 0 || len(line) == 1 && line[0] == '\r' {
			return body[:i]
		}
	}
	return body
}

// Head returns a message's header: from its cached body if that is here,
// else from the heads cache or the server (with the next messages' heads,
// see above).
func (m *Mailbox) Head(ctx context.Context, r Ref) ([]byte, error) {
	a := m.acct
	if a.headsOff.Load() {
		return nil, ErrNoHead
	}
	if body, ok := m.CachedBody(r); ok {
		return HeadOf(body), nil
	}
	name := m.Name()
	head, err := a.bodies.GetOrLoad(ctx, m.headKey(r), func(ctx context.Context) ([]byte, error) {
		now, later := m.headsAfter(r)
		mine, err := m.fetchHeads(ctx, name, r.UIDValidity, r.UID, now)
		for i := 0; i < len(later); i += headsBatch {
			batch := later[i:min(i+headsBatch, len(later))]
			started := a.goSafe("heads ahead", func() {
				a.prefetch <- struct{}{}
				defer func() { <-a.prefetch }()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				m.fetchHeads(ctx, name, r.UIDValidity, 0, batch)
			})
			for _, uid := range batch {
				if !started { // closing: nobody will fill them
					a.bodies.Abandon(m.headKey(Ref{r.UIDValidity, uid}))
				}
			}
		}
		if err == nil && mine == nil {
			err = ErrNotFound
		}
		return mine, err
	})
	if err != nil {
		m.stale(err)
		return nil, err
	}
	return head, nil
}

// headsAfter claims the heads to fetch with r's: the messages after it in
// listing order (then from the first) whose body and head are neither here nor on their way,
// some now and the rest in background batches.
func (m *Mailbox) headsAfter(r Ref) (now, later []uint32) {
	most := headsNow + headsAhead
	if m.acct.prefetch == nil || m.heads.misses.Add(1) == 1 {
		// Read-ahead off, or the mailbox's first miss (one head read,
		// as head -c does, need not fetch them all): no background.
		most = headsNow
	}
	m.mu.Lock()
	var uids []uint32
	if l := m.listing; l != nil && l.UIDValidity == r.UIDValidity {
		if i, ok := m._at(r.UID); ok {
			// After it, then from the start: in whatever order the
			// heads are read, each miss covers a window of them.
			for k := 1; k < len(l.Messages) && len(uids) < most; k++ {
				msg := l.Messages[(i+k)%len(l.Messages)]
				if _, gone := m.gone[msg.UID]; !gone {
					uids = append(uids, msg.UID)
				}
			}
		}
	}
	m.mu.Unlock()
	keys := make([]string, 0, len(uids))
	byKey := make(map[string]uint32, len(uids))
	for _, uid := range uids {
		ref := Ref{r.UIDValidity, uid}
		if m.HasBody(ref) {
			continue
		}
		k := m.headKey(ref)
		keys, byKey[k] = append(keys, k), uid
	}
	claimed := m.acct.bodies.Expect(keys)
	for i, k := range claimed {
		if i < headsNow {
			now = append(now, byKey[k])
		} else {
			later = append(later, byKey[k])
		}
	}
	return now, later
}

// fetchHeads fetches the head of own (0: none), returned, and those of
// claimed (keys claimed with Expect), filled into the cache: every
// claimed key is filled or abandoned.
func (m *Mailbox) fetchHeads(ctx context.Context, name string, validity, own uint32, others []uint32) ([]byte, error) {
	a := m.acct
	claimed := map[uint32]bool{}
	uids := make([]uint32, 0, len(others)+1)
	if own != 0 {
		uids = append(uids, own)
	}
	for _, uid := range others {
		claimed[uid] = true
		uids = append(uids, uid)
	}
	var mine []byte
	err := a.backend.Heads(ctx, name, validity, uids, func(uid uint32, h []byte) {
		if uid == own {
			mine = h
		} else if claimed[uid] {
			delete(claimed, uid)
			a.bodies.Fill(m.headKey(Ref{validity, uid}), h)
		}
	})
	for uid := range claimed {
		a.bodies.Abandon(m.headKey(Ref{validity, uid}))
	}
	if err != nil {
		a.log.Debug("fetching headers failed", "mailbox", name, "messages", len(uids), "err", err)
	}
	return mine, err
}

// checkHead compares a body just fetched with its head served before:
// a server whose headers are not the first bytes of its bodies gets no
// more heads served (a reader that went on past the head would have read
// a mix of the two).
func (m *Mailbox) checkHead(r Ref, body []byte) {
	a := m.acct
	head, ok := a.bodies.Peek(m.headKey(r))
	if !ok || bytes.HasPrefix(body, head) {
		return
	}
	if !a.headsOff.Swap(true) {
		a.log.Warn("the server's headers are not the first bytes of its messages; heads are no longer read alone", "mailbox", m.Name(), "uid", r.UID)
	}
}
