package cache

import (
	"context"
	"math"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/sync/singleflight"
)

// Bodies is a byte-bounded LRU of message bodies with single-flight loads.
type Bodies struct {
	max   int64
	group singleflight.Group

	mu      sync.Mutex // protects the following
	lru     *simplelru.LRU[string, []byte]
	bytes   int64
	pending map[string]*pending // keys a batch (prefetch) is loading

	hits, misses, loads atomic.Int64
	waiting             atomic.Int64 // callers blocked for a load
}

// pending is a key promised by a batch load.
type pending struct {
	done chan struct{} // closed when filled or abandoned
	val  []byte        // nil when abandoned
}

// Stats is a snapshot of the cache's counters.
type Stats struct {
	Bytes, MaxBytes int64
	Entries         int
	Hits, Misses    int64
	Loads           int64 // loader calls (one per single-flight group)
	Waiting         int64 // callers waiting for a load now
}

// New returns a cache holding at most maxBytes of bodies. A body larger
// than maxBytes is served but not kept.
func New(maxBytes int64) *Bodies {
	b := &Bodies{max: maxBytes, pending: map[string]*pending{}}
	// The entry count is not the bound; bytes are (see add).
	lru, err := simplelru.NewLRU[string, []byte](math.MaxInt32, func(_ string, v []byte) {
		b.bytes -= int64(len(v))
	})
	if err != nil {
		panic(err) // only for a non-positive size
	}
	b.lru = lru
	return b
}

// Get returns a cached body.
func (b *Bodies) Get(key string) ([]byte, bool) {
	b.mu.Lock()
	v, ok := b.lru.Get(key)
	b.mu.Unlock()
	if ok {
		b.hits.Add(1)
	}
	return v, ok
}

// Peek is Get without counting a hit or refreshing recency.
func (b *Bodies) Peek(key string) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lru.Peek(key)
}

// GetOrLoad returns the cached body for key, or calls load once for all
// concurrent callers of the same key and caches its result. load runs with
// a context that outlives any one caller's; ctx only bounds this caller's
// wait. Errors are not cached.
func (b *Bodies) GetOrLoad(ctx context.Context, key string, load func(context.Context) ([]byte, error)) ([]byte, error) {
	if v, ok := b.Get(key); ok {
		return v, nil
	}
	if v, ok, err := b.awaitPending(ctx, key); ok || err != nil {
		return v, err
	}
	b.misses.Add(1)
	ch := b.group.DoChan(key, func() (any, error) {
		// A caller that arrived between our miss and this call may
		// have filled the cache already.
		if v, ok := b.Peek(key); ok {
			return v, nil
		}
		b.loads.Add(1)
		v, err := load(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		b.add(key, v)
		return v, nil
	})
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]byte), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *Bodies) add(key string, v []byte) {
	n := int64(len(v))
	if n > b.max {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.lru.Peek(key); ok {
		b.bytes -= int64(len(old))
	}
	b.lru.Add(key, v)
	b.bytes += n
	for b.bytes > b.max {
		if _, _, ok := b.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// awaitPending waits for a key a batch is loading. ok is false when no
// batch has it (or the batch gave up on it): the caller loads it itself.
func (b *Bodies) awaitPending(ctx context.Context, key string) ([]byte, bool, error) {
	b.mu.Lock()
	p, ok := b.pending[key]
	b.mu.Unlock()
	if !ok {
		return nil, false, nil
	}
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	select {
	case <-p.done:
		if p.val == nil {
			return nil, false, nil
		}
		b.hits.Add(1)
		return p.val, true, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// Expect claims keys for a batch load: it returns those neither cached nor
// already claimed. Readers of a claimed key wait for Fill or Abandon
// instead of loading it themselves. Every claimed key must be filled or
// abandoned.
func (b *Bodies) Expect(keys []string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var claimed []string
	for _, k := range keys {
		if _, cached := b.lru.Peek(k); cached {
			continue
		}
		if _, busy := b.pending[k]; busy {
			continue
		}
		b.pending[k] = &pending{done: make(chan struct{})}
		claimed = append(claimed, k)
	}
	return claimed
}

// Fill delivers a claimed key: cached (within the bound) and handed to
// its waiters.
func (b *Bodies) Fill(key string, v []byte) {
	b.loads.Add(1)
	b.add(key, v)
	b.release(key, v)
}

// Abandon gives up a claimed key; its waiters load it themselves.
func (b *Bodies) Abandon(key string) { b.release(key, nil) }

func (b *Bodies) release(key string, v []byte) {
	b.mu.Lock()
	p, ok := b.pending[key]
	delete(b.pending, key)
	b.mu.Unlock()
	if ok {
		p.val = v
		close(p.done)
	}
}

// Has reports whether key is cached or being loaded by a batch.
func (b *Bodies) Has(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.lru.Peek(key); ok {
		return true
	}
	_, ok := b.pending[key]
	return ok
}

// Stats returns the current figures.
func (b *Bodies) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{Bytes: b.bytes, MaxBytes: b.max, Entries: b.lru.Len(),
		Hits: b.hits.Load(), Misses: b.misses.Load(), Loads: b.loads.Load(), Waiting: b.waiting.Load()}
}

// Share reports the bytes and entries whose keys start with prefix (one
// account's part of a cache shared by several). It walks the cache: for
// status output, not for the read path.
func (b *Bodies) Share(prefix string) (bytes int64, entries int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range b.lru.Keys() {
		if strings.HasPrefix(k, prefix) {
			v, _ := b.lru.Peek(k)
			bytes += int64(len(v))
			entries++
		}
	}
	return bytes, entries
}
