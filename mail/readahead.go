package mail

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Read-ahead: when a directory's messages are opened in listing order
// (grep -r, find -exec, a script), the next ones are fetched before they
// are opened, in batches of one pipelined UID FETCH each, several at once
// over the pool. The window starts small, doubles while the pattern holds,
// is bounded in messages and bytes (a quarter of the cache), and starts
// over when the pattern breaks. Round trips, not bandwidth, decide how fast
// a scan goes: this turns one round trip per message into one per batch.
const (
	raMinWindow  = 16       // messages ahead when a scan is first seen
	raMaxWindow  = 4096     // messages ahead at most
	raBatchBytes = 8 << 20  // bytes per UID FETCH (a bigger message goes alone)
	raBatchCount = 512      // messages per UID FETCH
	raMaxAhead   = 64 << 20 // bytes ahead at most (and cache/4)
	raStreak     = 2        // sequential opens before reading ahead
)

// readahead is a mailbox's scan detector.
type readahead struct {
	mu     sync.Mutex // protects the following
	last   int        // listing index of the last open; -1 none
	streak int        // consecutive sequential opens
	window int        // messages to keep ahead
	ahead  int        // highest listing index requested
	epoch  int        // the mailbox epoch the indexes belong to
}

// Opened records that a view opened message uid for reading: when it
// continues a scan in listing order, what comes next is fetched ahead;
// and a file written with its bytes is stored as a copy of it.
func (m *Mailbox) Opened(uid uint32) {
	m.OpenedForHead(uid)
	m.Reading(uid)
}

// OpenedForHead records that a view opened message uid for reading and
// may read only its head (see Head): a copy source, but no read-ahead of
// bodies until Reading.
func (m *Mailbox) OpenedForHead(uid uint32) { m.acct.opens.note(m, uid) }

// Reading records that a view reads message uid's body: when it
// continues a scan in listing order, what comes next is fetched ahead.
func (m *Mailbox) Reading(uid uint32) {
	a := m.acct
	if a.prefetch == nil {
		return
	}
	m.mu.Lock()
	i, ok := m._at(uid)
	if !ok || m.listing == nil {
		m.mu.Unlock()
		return
	}
	epoch := m.epoch
	m.mu.Unlock()

	ra := &m.ra
	ra.mu.Lock()
	if ra.epoch != epoch { // indexes of an older listing mean nothing now
		ra.last, ra.streak, ra.window, ra.ahead, ra.epoch = -1, 0, 0, 0, epoch
	}
	if i > ra.last && i <= ra.last+raMinWindow && ra.last >= 0 {
		ra.streak++
	} else if i != ra.last {
		ra.streak, ra.window, ra.ahead = 0, raMinWindow, i
	}
	ra.last = i
	if ra.window == 0 {
		ra.window = raMinWindow
	}
	if ra.streak < raStreak-1 || i+ra.window/2 < ra.ahead {
		ra.mu.Unlock()
		return
	}
	from, to := max(ra.ahead+1, i), i+ra.window
	ra.window = min(ra.window*2, raMaxWindow)
	ra.mu.Unlock()
	covered := m.fetchAhead(a, i, from, to, epoch)
	ra.mu.Lock()
	if ra.epoch == epoch && covered > ra.ahead {
		ra.ahead = covered
	}
	ra.mu.Unlock()
}

// fetchAhead claims the uncached messages of listing indexes [from, to]
// (fewer when the byte bound stops it: what lies between the reader at
// index reader and from counts too) and fetches them in batches in the
// background. It returns the last index it covered.
func (m *Mailbox) fetchAhead(a *Account, reader, from, to, epoch int) int {
	m.mu.Lock()
	if m.listing == nil || m.epoch != epoch {
		m.mu.Unlock()
		return from - 1
	}
	validity, name := m.listing.UIDValidity, m.name
	limit := min(int64(raMaxAhead), a.bodies.Stats().MaxBytes/4)
	for i := reader; i < from && i < len(m.listing.Messages); i++ {
		limit -= m.listing.Messages[i].Size
	}
	if limit < raBatchBytes/2 {
		m.mu.Unlock()
		return from - 1 // enough is on its way
	}
	var batches [][]Message
	var cur []Message
	var curBytes, total int64
	covered := from - 1
	for i := from; i <= to && i < len(m.listing.Messages); i++ {
		msg := m.listing.Messages[i]
		if _, gone := m.gone[msg.UID]; gone {
			covered = i
			continue
		}
		if total+msg.Size > limit && total > 0 {
			break
		}
		covered = i
		total += msg.Size
		if len(cur) > 0 && (curBytes+msg.Size > raBatchBytes || len(cur) >= raBatchCount) {
			batches, cur, curBytes = append(batches, cur), nil, 0
		}
		cur = append(cur, msg)
		curBytes += msg.Size
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	m.mu.Unlock()
	for _, batch := range batches {
		keys := make([]string, len(batch))
		byKey := make(map[string]uint32, len(batch))
		for i, msg := range batch {
			keys[i] = m.bodyKey(Ref{validity, msg.UID})
			byKey[keys[i]] = msg.UID
		}
		claimed := a.bodies.Expect(keys)
		if len(claimed) == 0 {
			continue
		}
		uids := make([]uint32, len(claimed))
		for i, k := range claimed {
			uids[i] = byKey[k]
		}
		if !a.goSafe("read-ahead", func() { m.runBatch(a, name, validity, uids, claimed) }) {
			for _, k := range claimed { // closing: nobody will fill them
				a.bodies.Abandon(k)
			}
		}
	}
	return covered
}

// runBatch fetches one batch; every claimed key is filled or abandoned.
func (m *Mailbox) runBatch(a *Account, name string, validity uint32, uids []uint32, keys []string) {
	a.prefetch <- struct{}{}
	defer func() { <-a.prefetch }()
	filled := make(map[string]bool, len(keys))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// While the mailbox's text view is being read, texts are made as the
	// bodies arrive, on goroutines of their own (one per CPU: decoding
	// is the work), off the reader's path.
	var texts chan Ref
	if m.textWanted() {
		texts = make(chan Ref, len(uids))
		for range runtime.GOMAXPROCS(0) {
			a.goSafe("texts ahead", func() {
				for r := range texts {
					m.Text(ctx, r)
				}
			})
		}
		defer close(texts)
	}
	// What the disk cache holds comes from there. Unless texts are to be
	// made of them, only checked, not loaded: the views open such a
	// message on its file (passthrough where the kernel allows), so a scan
	// of a remounted cache neither fills memory nor pushes out of it what
	// is there.
	fetch := uids[:0:0]
	for _, uid := range uids {
		r := Ref{validity, uid}
		if texts == nil {
			if size, ok := m.verifyOnDisk(r); ok {
				m.measured(r, size)
				continue // unfilled: abandoned below; a reader of the bytes reads the file
			}
		}
		if body, ok := m.fromDisk(r); ok {
			k := m.bodyKey(r)
			a.bodies.Fill(k, body)
			m.measured(r, int64(len(body)))
			filled[k] = true
			if texts != nil {
				texts <- r
			}
			continue
		}
		fetch = append(fetch, uid)
	}
	var err error
	if len(fetch) > 0 {
		err = a.backend.Bodies(ctx, name, validity, fetch, func(uid uint32, body []byte) {
			r := Ref{validity, uid}
			k := m.bodyKey(r)
			a.bodies.Fill(k, body)
			m.checkHead(r, body)
			m.measured(r, int64(len(body)))
			m.toDisk(r, body)
			filled[k] = true
			if texts != nil {
				texts <- r
			}
		})
	}
	if err != nil {
		a.log.Debug("read-ahead failed", "mailbox", name, "messages", len(uids), "err", err)
	}
	for _, k := range keys {
		if !filled[k] {
			a.bodies.Abandon(k)
		}
	}
}
