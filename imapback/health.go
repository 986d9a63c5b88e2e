package imapback

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Health is the account's connection state, for `mailfs status`.
type Health struct {
	Connected bool
	Since     time.Time // when Connected last changed
	LastError string    // the last dial or command failure, "" if none
	ErrorAt   time.Time
	NextTry   time.Time // while disconnected: the next background attempt
}

// Reconnection backoff: doubling from minBackoff, at most maxBackoff, with
// ±20% jitter so that many clients do not return in step.
const (
	minBackoff = time.Second
	maxBackoff = 60 * time.Second
	// probeAfter: while disconnected, a user operation tries to connect
	// itself at most this often; in between it fails at once.
	probeAfter = 2 * time.Second
)

func backoff(attempt int) time.Duration {
	d := minBackoff << min(attempt, 10)
	if d > maxBackoff {
		d = maxBackoff
	}
	jitter := time.Duration((rand.Float64()*0.4 - 0.2) * float64(d))
	return d + jitter
}

// health tracks reachability and runs the background reconnection.
type health struct {
	mu        sync.Mutex // protects the following
	connected bool
	since     time.Time
	lastErr   error
	errAt     time.Time
	attempts  int
	lastTry   time.Time
	nextTry   time.Time
	retrying  bool // the background loop runs
	// hung: commands time out although connecting works (a server that
	// accepts but does not answer, e.g. stuck on a lock). Each attempt
	// may leave a session behind on the server, so new connections wait
	// for the backoff schedule instead of the 2 s probes.
	hung bool
	back chan struct{} // closed when the server answers again (Reconnected)
}

// gate says whether a user operation may dial now. While the server is
// known to be down it fails fast, except for one probe every probeAfter.
func (h *health) gate() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hung {
		if time.Now().Before(h.nextTry) {
			return fmt.Errorf("%w: server not answering since %s (%v); waiting before trying again", ErrUnavailable, h.since.Format(time.TimeOnly), h.lastErr)
		}
		h.lastTry = time.Now()
		h.nextTry = h.lastTry.Add(backoff(h.attempts))
		h.attempts++
		return nil
	}
	if h.connected || h.lastErr == nil {
		return nil
	}
	if time.Since(h.lastTry) >= probeAfter {
		h.lastTry = time.Now()
		return nil
	}
	return fmt.Errorf("%w: server unreachable since %s (%v); retrying in the background", ErrUnavailable, h.since.Format(time.TimeOnly), h.lastErr)
}

// result records a dial's outcome. It returns true when the caller must
// start the background loop.
func (h *health) result(err error) (startLoop bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if err == nil {
		if !h.connected {
			h.connected, h.since = true, now
			if h.back != nil {
				close(h.back)
				h.back = nil
			}
		}
		h.attempts = 0
		return false
	}
	if h.connected || h.since.IsZero() {
		h.connected, h.since = false, now
	}
	h.lastErr, h.errAt, h.lastTry = err, now, now
	h.attempts++
	h.nextTry = now.Add(backoff(h.attempts - 1))
	if !h.retrying {
		h.retrying = true
		return true
	}
	return false
}

// failed records a command failure that cost a connection. A timeout
// marks the server as hung (see health.hung).
func (h *health) failed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	h.lastErr, h.errAt = err, now
	if errors.Is(err, ErrTimeout) && !h.hung {
		h.hung, h.since = true, now
		h.nextTry = now.Add(backoff(h.attempts))
		h.attempts++
	}
}

// answered records a command that completed: the server works.
func (h *health) answered() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hung {
		h.hung, h.attempts, h.since = false, 0, time.Now()
	}
}

func (h *health) snapshot() Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := Health{Connected: h.connected && !h.hung, Since: h.since, ErrorAt: h.errAt}
	if h.lastErr != nil {
		s.LastError = h.lastErr.Error()
	}
	if !s.Connected {
		s.NextTry = h.nextTry
	}
	return s
}

// reconnectLoop dials in the background with backoff until a connection
// succeeds, then hands it to the pool. It ends with the client.
func (c *Client) reconnectLoop() {
	defer c.bg.Done()
	defer recovered(c.cfg.Logger, "reconnect")
	for {
		c.health.mu.Lock()
		wait := time.Until(c.health.nextTry)
		c.health.mu.Unlock()
		select {
		case <-c.done:
			c.health.mu.Lock()
			c.health.retrying = false
			c.health.mu.Unlock()
			return
		case <-time.After(max(wait, 0)):
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-c.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		// The attempt is a connection like any other: it needs a slot.
		if err := c.pool.reserve(ctx); err != nil {
			cancel()
			continue
		}
		cn, err := dial(ctx, &c.cfg, &c.stats, nil)
		cancel()
		if err != nil {
			c.pool.release()
		}
		c.health.result(err)
		if err == nil {
			c.cfg.Logger.Info("reconnected", "server", c.cfg.Endpoint.Addr())
			c.setCaps(cn)
			c.health.mu.Lock()
			c.health.retrying = false
			c.health.mu.Unlock()
			c.pool.offer(cn)
			return
		}
		c.cfg.Logger.Debug("reconnect failed", "server", c.cfg.Endpoint.Addr(), "err", err)
	}
}
