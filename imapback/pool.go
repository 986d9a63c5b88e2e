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

// pool hands out connections exclusively, opens at most max of them, and
// prefers one that already has the wanted mailbox selected.
type pool struct {
	slots chan struct{} // one token per connection that may exist
	dial  func(ctx context.Context) (*conn, error)

	mu     sync.Mutex // protects the following
	idle   []*conn
	closed bool
}

func newPool(max int, dial func(ctx context.Context) (*conn, error)) *pool {
	return &pool{slots: make(chan struct{}, max), dial: dial}
}

// get returns a connection, ideally one with mailbox selected. It waits for
// a free slot until ctx ends.
func (p *pool) get(ctx context.Context, mailbox string) (*conn, error) {
	return p.take(ctx, func(cn *conn) bool { return mailbox != "" && cn.selected == mailbox })
}

// getAvoiding is get, preferring a connection without mailbox selected.
func (p *pool) getAvoiding(ctx context.Context, mailbox string) (*conn, error) {
	return p.take(ctx, func(cn *conn) bool { return cn.selected != mailbox })
}

// take waits for a slot and returns an idle connection, the first that
// prefer likes or else the most recent, or dials a new one.
func (p *pool) take(ctx context.Context, prefer func(*conn) bool) (*conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
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
		return cn, nil
	}
	p.mu.Unlock()
	cn, err := p.dial(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return cn, nil
}

// put returns a connection; a broken one is closed and its slot freed.
func (p *pool) put(cn *conn) {
	p.mu.Lock()
	closed := p.closed
	if !cn.broken && !closed {
		p.idle = append(p.idle, cn)
		p.mu.Unlock()
		<-p.slots
		return
	}
	p.mu.Unlock()
	if closed {
		cn.close()
	} else {
		cn.c.Close()
	}
	<-p.slots
}

// offer adds a connection dialled in the background if a slot is free.
func (p *pool) offer(cn *conn) bool {
	select {
	case p.slots <- struct{}{}:
	default:
		return false
	}
	p.put(cn)
	return true
}

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
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, cn := range idle {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cn.close()
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
	}
}

// sizes reports idle connections and slots in use (busy or dialling).
func (p *pool) sizes() (idle, busy int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle), len(p.slots)
}
