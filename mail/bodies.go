package mail

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Bodies: a message's bytes never change under its identity, so they are
// cached by (account, mailbox object, UIDVALIDITY, UID) and loaded once
// for all concurrent readers.

// Large messages are read in chunks of ChunkSize with BODY.PEEK[]<off.len>.
const ChunkSize = 256 << 10

func (m *Mailbox) bodyKey(r Ref) string {
	return m.acct.id + "\x00" + strconv.FormatUint(m.id, 16) + "\x00" +
		strconv.FormatUint(uint64(r.UIDValidity), 10) + "\x00" + strconv.FormatUint(uint64(r.UID), 10)
}

// Body returns a message's full bytes, from the cache or the server.
// corrected reports that the size known before was wrong (the server's
// RFC822.SIZE lied): a view must tell the kernel.
func (m *Mailbox) Body(ctx context.Context, r Ref) (body []byte, corrected bool, err error) {
	name := m.Name()
	body, err = m.acct.bodies.GetOrLoad(ctx, m.bodyKey(r), func(ctx context.Context) ([]byte, error) {
		if b, ok := m.fromDisk(r); ok {
			return b, nil
		}
		b, err := m.acct.backend.Body(ctx, name, r.UIDValidity, r.UID)
		if err == nil {
			m.toDisk(r, b)
			m.checkHead(r, b)
		}
		return b, err
	})
	if err != nil {
		m.stale(err)
		return nil, false, err
	}
	if m.measured(r, int64(len(body))) {
		m.acct.log.Debug("server reported a wrong RFC822.SIZE; corrected", "mailbox", name, "uid", r.UID, "size", len(body))
		corrected = true
	}
	return body, corrected, nil
}

// CacheShare is this account's part of the body cache (which several
// accounts may share).
func (a *Account) CacheShare() (bytes int64, entries int) {
	return a.bodies.Share(a.id + "\x00")
}

// CachedBody returns a body only if it is cached.
func (m *Mailbox) CachedBody(r Ref) ([]byte, bool) {
	return m.acct.bodies.Peek(m.bodyKey(r))
}

// HasBody reports whether a body is cached or on its way (read-ahead).
func (m *Mailbox) HasBody(r Ref) bool { return m.acct.bodies.Has(m.bodyKey(r)) }

// Chunk returns chunk i of a message (shorter at its end, empty past it).
// corrected: reading the last chunk found the known size wrong.
func (m *Mailbox) Chunk(ctx context.Context, r Ref, i int64) (chunk []byte, corrected bool, err error) {
	name := m.Name()
	chunk, err = m.acct.bodies.GetOrLoad(ctx, m.bodyKey(r)+"#"+strconv.FormatInt(i, 10), func(ctx context.Context) ([]byte, error) {
		return m.acct.backend.Range(ctx, name, r.UIDValidity, r.UID, i*ChunkSize, ChunkSize)
	})
	if err != nil {
		m.stale(err)
		return nil, false, err
	}
	if len(chunk) < ChunkSize && (len(chunk) > 0 || i == 0) {
		// The last chunk: now the true size is known.
		corrected = m.measured(r, i*ChunkSize+int64(len(chunk)))
	}
	return chunk, corrected, nil
}

// stale reacts to a fetch that found the listing out of date: the
// UIDVALIDITY changed, or the message (or its mailbox) is gone, expunged
// or moved elsewhere before the mount saw it go. The listing is
// revalidated now, in the background, and the kernel told, instead of
// when the TTL runs out, so that ls and stat agree with the open that
// failed.
func (m *Mailbox) stale(err error) {
	if !errors.Is(err, ErrStale) && !errors.Is(err, ErrNotFound) {
		return
	}
	if m.changed(false) {
		m.acct.notify(Change{Mailbox: m, Noticed: true})
	}
	m.acct.goSafe("revalidate a listing found stale", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := m.refresh(ctx); err != nil {
			m.acct.log.Debug("revalidating a listing found stale failed", "mailbox", m.Name(), "err", err)
		}
	})
}
