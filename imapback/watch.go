package imapback

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Watching: how often an IDLE is ended to prove the connection still
// works, and how often a server without IDLE is polled with NOOP.
const (
	idleCheck    = 4 * time.Minute
	pollInterval = 2 * time.Second
)

// Watch keeps a connection of its own on mailbox, in IDLE (NOOP every 2 s
// where the server has no IDLE), and calls onChange when the server reports
// new, expunged or re-flagged messages (flags: a FETCH with flags was
// among them), and once after every (re)connection to catch up (initial:
// the first connection's, when nothing was missed yet but what happened
// before the watch began). It holds
// one of the Config.Connections slots while it runs, reconnects with
// backoff after failures, and ends when ctx ends or the client closes,
// closing the returned channel. It is registered with the client before
// its goroutine starts, so Close always waits for it.
func (c *Client) Watch(ctx context.Context, mailbox string, onChange func(flags, initial bool)) <-chan struct{} {
	c.bg.Add(1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.bg.Done()
		defer recovered(c.cfg.Logger, "watch "+mailbox)
		c.keepUp(ctx, "watch "+mailbox, func(ctx context.Context, first *bool) error {
			return c.watchOnceSafe(ctx, mailbox, first, onChange)
		})
	}()
	return done
}

func (c *Client) watchOnce(ctx context.Context, mailbox string, first *bool, onChange func(flags, initial bool)) error {
	events := make(chan struct{}, 1)
	var flagsChanged atomic.Bool
	signal := func() {
		select {
		case events <- struct{}{}:
		default:
		}
	}
	handler := &imapclient.UnilateralDataHandler{
		Expunge: func(uint32) { signal() },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				signal()
			}
		},
		Fetch: func(*imapclient.FetchMessageData) {
			flagsChanged.Store(true)
			signal()
		},
	}
	cn, err := dial(ctx, &c.cfg, &c.stats, handler)
	if err != nil {
		return err
	}
	defer cn.close()
	// A server side that died without a word is noticed within the
	// timeout: IDLE is left and a NOOP sent every half timeout, each with
	// half the timeout to answer.
	cn.timeout = max(c.cfg.Timeout/2, 500*time.Millisecond)
	if err := cn.examine(ctx, mailbox); err != nil {
		return err
	}
	c.noteFailure(nil)
	c.cfg.Logger.Debug("watching", "mailbox", mailbox)
	onChange(false, *first) // catch up with whatever happened while not watching
	*first = false
	caps := cn.caps
	useIdle := caps.Has(imap.CapIdle) || caps.Has(imap.CapIMAP4rev2)
	for {
		if useIdle {
			if err := cn.idleUntil(ctx, events, min(idleCheck, cn.timeout)); err != nil {
				return err
			}
		} else {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-events:
				signal() // handled below
			case <-time.After(pollInterval):
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// NOOP proves the connection (with the deadline) and collects
		// what the server queued; then report what happened.
		if err := cn.run(ctx, "NOOP", func() error { return cn.c.Noop().Wait() }); err != nil {
			return err
		}
		select {
		case <-events:
			onChange(flagsChanged.Swap(false), false)
		default:
		}
	}
}

// idleUntil runs IDLE until an event arrives (left in the channel for the
// caller), the check interval passes, or ctx ends.
func (cn *conn) idleUntil(ctx context.Context, events chan struct{}, check time.Duration) error {
	var idle *imapclient.IdleCommand
	err := cn.run(ctx, "IDLE", func() error {
		var err error
		idle, err = cn.c.Idle()
		return err
	})
	if err != nil {
		return err
	}
	timer := time.NewTimer(check)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-events:
		select { // give it back for the caller
		case events <- struct{}{}:
		default:
		}
	case <-timer.C:
	case <-cn.c.Closed():
		return fmt.Errorf("IDLE: %w: the server closed the connection", ErrUnavailable)
	}
	return cn.run(context.WithoutCancel(ctx), "DONE", func() error {
		if err := idle.Close(); err != nil {
			return err
		}
		return idle.Wait()
	})
}

// watchOnceSafe is watchOnce turning a panic into an error, so the watcher
// reconnects instead of taking the process down.
func (c *Client) watchOnceSafe(ctx context.Context, mailbox string, first *bool, onChange func(flags, initial bool)) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("watcher panicked: %v", v)
			c.cfg.Logger.Error("watcher panicked; reconnecting", "mailbox", mailbox, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	return c.watchOnce(ctx, mailbox, first, onChange)
}
