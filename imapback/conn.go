package imapback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/internal/sockq"
)

// conn is one authenticated connection and what it has selected. A conn is
// used by one goroutine at a time (the pool hands it out exclusively).
type conn struct {
	c       *imapclient.Client
	raw     *activityConn
	timeout time.Duration
	stats   *counters
	caps    imap.CapSet // read with CAPABILITY after login (fetchCaps)
	// nameHeaders are the header fields listings fetch (nameHeaders).
	nameHeaders []string

	// Selected-mailbox state, valid while broken is false.
	selected    string
	uidValidity uint32
	readOnly    bool
	exists      uint32 // EXISTS at selection time
	uidNext     uint32

	broken bool // closed or not trustworthy: never reuse
}

// activityConn records when bytes last moved, so that the deadline
// measures silence rather than the length of a large transfer (a big
// FETCH, or a big APPEND on a slow uplink).
type activityConn struct {
	net.Conn
	lastIO atomic.Int64 // unix nanoseconds
	moved  atomic.Int64 // bytes read and written, for the overall deadline
}

func (a *activityConn) Read(p []byte) (int, error) {
	n, err := a.Conn.Read(p)
	if n > 0 {
		a.lastIO.Store(time.Now().UnixNano())
		a.moved.Add(int64(n))
	}
	return n, err
}

func (a *activityConn) Write(p []byte) (int, error) {
	n, err := a.Conn.Write(p)
	if n > 0 {
		a.lastIO.Store(time.Now().UnixNano())
		a.moved.Add(int64(n))
	}
	return n, err
}

// slowestRate is the slowest transfer a command may make past its
// timeout: a server trickling a byte every few seconds is never silent
// for the timeout, but is given up once the command has taken its
// timeout plus the time its bytes would take at this rate.
const slowestRate = 16 << 10 // bytes per second

// drainCheck is how often a command whose bytes are still leaving the
// send buffer looks again whether they do.
const drainCheck = 5 * time.Second

// overall is how long a command may take in all when it has moved n
// bytes so far.
func overall(timeout time.Duration, n int64) time.Duration {
	return timeout + time.Duration(n)*time.Second/slowestRate
}

// run executes fn, which sends one command and waits for its completion,
// under a watchdog. When the server stays silent for the timeout, or ctx
// ends, the watchdog closes the connection: go-imap then fails the pending
// command and fn returns. The conn is marked broken and the error says why.
func (cn *conn) run(ctx context.Context, op string, fn func() error) error {
	if cn.broken {
		return fmt.Errorf("%s: %w: connection closed", op, ErrUnavailable)
	}
	const (
		running = iota
		finished
		aborted
	)
	timeout := cn.timeout // read once: the watchdog must not race a change of it
	var state atomic.Int32
	var why error
	stop := make(chan struct{})
	start := time.Now().UnixNano()
	movedBefore := cn.raw.moved.Load()
	go func() {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		queued := -1 // bytes the server had not acknowledged at the last look
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				why = ctx.Err()
			case <-timer.C:
				now := time.Now().UnixNano()
				// Bytes leaving the send buffer are the command's
				// progress too: an upload written into it at once
				// drains at the uplink's pace, and the server answers
				// only when it has it all.
				if q, ok := sockq.Unacked(cn.raw.Conn); ok {
					if queued >= 0 && q < queued {
						cn.raw.lastIO.Store(now) // drained since the last look
					}
					if q > 0 && (queued < 0 || q < queued) {
						queued = q
						timer.Reset(min(timeout, drainCheck))
						continue
					}
					queued = q
				}
				last := max(cn.raw.lastIO.Load(), start)
				took, limit := time.Duration(now-start), overall(timeout, cn.raw.moved.Load()-movedBefore)
				if idle := time.Duration(now - last); idle < timeout && took < limit {
					timer.Reset(min(timeout-idle, limit-took))
					continue
				}
				why = fmt.Errorf("%s: %w: no answer for %v", op, ErrTimeout, timeout)
				if took >= limit {
					why = fmt.Errorf("%s: %w: %v for %d bytes, slower than %d bytes/s", op, ErrTimeout, took.Round(time.Second), cn.raw.moved.Load()-movedBefore, slowestRate)
				}
			}
			if state.CompareAndSwap(running, aborted) {
				// Given up: what is still queued (the rest of an
				// APPEND) must not reach the server after this.
				sockq.Drop(cn.raw.Conn)
				cn.c.Close()
			}
			return
		}
	}()
	err := fn()
	close(stop)
	if !state.CompareAndSwap(running, finished) {
		cn.broken = true
		if ctx.Err() == nil {
			cn.stats.timeouts.Add(1)
		}
		return why
	}
	if err != nil {
		err = classify(op, err)
		if isConnectionError(err) {
			cn.broken = true
		}
	}
	return err
}

// isConnectionError reports whether err leaves the connection unusable.
func isConnectionError(err error) bool {
	return errors.Is(err, ErrUnavailable)
}

// quietProbe is how long a pooled connection may sit silent before it
// is checked with a NOOP before use: long enough that a busy mount never
// pays for it, short enough that a connection whose server side died
// silently is found out before a reader waits on it.
const quietProbe = 15 * time.Second

// alive reports whether an idle connection can be handed out: not closed
// by the server, and answering a NOOP (within half the timeout) when it
// was silent for quietProbe.
func (cn *conn) alive(ctx context.Context) bool {
	select {
	case <-cn.c.Closed():
		return false
	default:
	}
	if cn.broken {
		return false
	}
	if time.Since(time.Unix(0, cn.raw.lastIO.Load())) < quietProbe {
		return true
	}
	saved := cn.timeout
	cn.timeout = max(saved/2, 500*time.Millisecond)
	err := cn.run(ctx, "NOOP", func() error { return cn.c.Noop().Wait() })
	cn.timeout = saved
	return err == nil
}

// close says LOGOUT (bounded by the timeout) and closes the socket.
func (cn *conn) close() {
	if !cn.broken {
		_ = cn.run(context.Background(), "LOGOUT", func() error { return cn.c.Logout().Wait() })
	}
	cn.broken = true
	cn.c.Close()
}

// abandon closes the connection after a failure in the middle of a
// response (a literal cut short): the rest of the response cannot be read
// safely, and draining it would race with go-imap's reader.
func (cn *conn) abandon() {
	cn.broken = true
	cn.c.Close()
}
