package imapback

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// counters back Stats; atomics so that hot paths take no lock.
type counters struct {
	dials, bodyFetches, listFetches, bytesFetched, timeouts atomic.Int64
	statuses, deltaFetches, batchFetches, rangeFetches      atomic.Int64
	appends                                                 atomic.Int64
}

// pool hands out connections exclusively and never lets more than max
// of them exist: a slot is held by every connection from the moment it
// is dialled until it is closed, idle or busy, and by a watcher's own
// connection (reserve). --connections is a hard maximum.
type pool struct {
	slots chan struct{} // one token per connection that exists or is being dialled
	dial  func(ctx context.Context) (*conn, error)

	mu     sync.Mutex // protects the following
	idle   []*conn
	closed bool
	wake   chan struct{} // closed (and replaced) when a connection goes idle or a slot frees
}

func newPool(max int, dial func(ctx context.Context) (*conn, error)) *pool {
	return &pool{slots: make(chan struct{}, max), dial: dial, wake: make(chan struct{})}
}

// _wake tells waiters something changed; p.mu held.
func (p *pool) _wake() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// get returns an idle connection (preferring one with mailbox selected)
// or dials a new one when a slot is free, waiting until ctx ends.
func (p *pool) get(ctx context.Context, mailbox string) (*conn, error) {
	return p.take(ctx, func(cn *conn) bool { return mailbox != "" && cn.selected == mailbox })
}

// getAvoiding is get, preferring a connection without mailbox selected.
func (p *pool) getAvoiding(ctx context.Context, mailbox string) (*conn, error) {
	return p.take(ctx, func(cn *conn) bool { return cn.selected != mailbox })
}

// take returns an idle connection, the first that prefer likes or else
// the most recent, or dials a new one in a free slot.
func (p *pool) take(ctx context.Context, prefer func(*conn) bool) (*conn, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, fmt.Errorf("%w: closed", ErrUnavailable)
		}
		if n := len(p.idle); n > 0 {
			pick := n - 1
			for i, cn := range p.idle {
				if prefer(cn) {
					pick = i
					break
				}
			}
			cn := p.idle[pick]
			p.idle = append(p.idle[:pick], p.idle[pick+1:]...)
			p.mu.Unlock()
			if !cn.alive(ctx) {
				cn.c.Close()
				p.release()
				continue
			}
			return cn, nil
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case p.slots <- struct{}{}:
			cn, err := p.dial(ctx)
			if err != nil {
				p.release()
				return nil, err
			}
			return cn, nil
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// reserve takes a slot for a connection of the caller's own (a watcher's,
// a reconnection attempt): a free one, or one an idle connection gives
// up. release gives it back.
func (p *pool) reserve(ctx context.Context) error {
	for {
		select {
		case p.slots <- struct{}{}:
			return nil
		default:
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return fmt.Errorf("%w: closed", ErrUnavailable)
		}
		if len(p.idle) > 0 {
			cn := p.idle[0]
			p.idle = p.idle[1:]
			p.mu.Unlock()
			cn.close() // its slot is the caller's now
			return nil
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case p.slots <- struct{}{}:
			return nil
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release frees a slot.
func (p *pool) release() {
	<-p.slots
	p.mu.Lock()
	p._wake()
	p.mu.Unlock()
}

// put returns a connection (it keeps its slot while idle); a broken one is
// closed and its slot freed.
func (p *pool) put(cn *conn) {
	p.mu.Lock()
	closed := p.closed
	if !cn.broken && !closed {
		p.idle = append(p.idle, cn)
		p._wake()
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	if closed {
		cn.close()
	} else {
		cn.c.Close()
	}
	p.release()
}

// dropIdle closes every idle connection: one connection just went
// silent, so the path to the server is suspect, and a reader must not
// wait out the timeout on each of them in turn. They are dialled again
// when needed.
func (p *pool) dropIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, cn := range idle {
		cn.c.Close()
		p.release()
	}
}

// offer adds a connection dialled in a reserved slot.
func (p *pool) offer(cn *conn) { p.put(cn) }

// prime adds an already-dialled connection (the one that checked the
// credentials at start-up).
func (p *pool) prime(cn *conn) {
	p.slots <- struct{}{}
	p.put(cn)
}

// close logs out of the idle connections; busy ones log out when returned.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p._wake()
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, cn := range idle {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cn.close()
			<-p.slots
		}()
	}
	wg.Wait()
}

// forget closes idle connections that have mailbox (or a child of it)
// selected, before it is deleted or renamed under them.
func (p *pool) forget(mailbox string) {
	p.mu.Lock()
	var drop []*conn
	keep := p.idle[:0]
	for _, cn := range p.idle {
		if isUnder(cn.selected, mailbox) {
			drop = append(drop, cn)
		} else {
			keep = append(keep, cn)
		}
	}
	p.idle = keep
	p.mu.Unlock()
	for _, cn := range drop {
		cn.close()
		p.release()
	}
}

// sizes reports idle connections and the others (busy, dialling, a
// watcher's).
func (p *pool) sizes() (idle, busy int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle), len(p.slots) - len(p.idle)
}
