package imapback

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Notice is one change a NOTIFY connection reported.
type Notice struct {
	Mailbox string // the mailbox that changed ("" with Tree or Resync)
	Flags   bool   // only flags changed (its count and UIDNEXT did not)
	Tree    bool   // a mailbox was created, deleted or renamed
	// Resync: the connection was (re)established or the server dropped
	// its notifications (NOTIFICATIONOVERFLOW): anything may have changed
	// since. Initial: the first connection's, before which nothing was
	// missed.
	Resync, Initial bool
}

// HasNotify reports whether the server offers NOTIFY (RFC 5465), by the
// capabilities of the first connection.
func (c *Client) HasNotify() bool {
	return slices.Contains(c.Capabilities(), string(imap.CapNotify))
}

// Notify keeps one connection of its own with NOTIFY set for every
// personal mailbox (new, expunged and re-flagged messages) and the
// mailbox tree, and calls onNotice for each change, and with Resync after
// every (re)connection. Like Watch it holds one Config.Connections slot,
// reconnects with backoff, and closes the returned channel when ctx ends
// or the client closes. Call it only when HasNotify.
func (c *Client) Notify(ctx context.Context, onNotice func(Notice)) <-chan struct{} {
	c.bg.Add(1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.bg.Done()
		defer recovered(c.cfg.Logger, "notify")
		c.keepUp(ctx, "notify", func(ctx context.Context, first *bool) error {
			return c.notifyOnceSafe(ctx, first, onNotice)
		})
	}()
	return done
}

// keepUp runs once on a reserved connection slot again and again, with
// backoff after failures, until ctx ends or the client closes.
func (c *Client) keepUp(ctx context.Context, what string, once func(ctx context.Context, first *bool) error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	first := true
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if err := c.pool.reserve(ctx); err != nil {
			return
		}
		started := time.Now()
		err := once(ctx, &first)
		c.pool.release()
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > maxBackoff {
			attempt = 0
		}
		wait := backoff(attempt)
		if attempt == 0 {
			wait = 0 // a connection lost: try again at once, then back off
		}
		c.noteFailure(err)
		c.cfg.Logger.Warn(what+" connection lost; reconnecting", "err", err, "in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// notices collects what the server pushes (from go-imap's reader, which
// must not block) for the loop that reports it.
type notices struct {
	mu       sync.Mutex
	status   map[string]imap.StatusData // the last STATUS of each mailbox since NOTIFY SET
	pending  map[string]bool            // mailbox → only flags changed
	tree     bool
	overflow bool
	signal   chan struct{}
}

func (n *notices) wake() {
	select {
	case n.signal <- struct{}{}:
	default:
	}
}

func (n *notices) onStatus(d *imap.StatusData) {
	n.mu.Lock()
	defer n.mu.Unlock()
	old, seen := n.status[d.Mailbox]
	n.status[d.Mailbox] = *d
	// Without an earlier STATUS to compare with, anything may have changed.
	counts := !seen || !sameCount(old.NumMessages, d.NumMessages) || old.UIDNext != d.UIDNext || old.UIDValidity != d.UIDValidity
	if _, ok := n.pending[d.Mailbox]; !ok || counts {
		n.pending[d.Mailbox] = !counts
	}
	n.wake()
}

func sameCount(a, b *uint32) bool {
	return a == nil || b == nil || *a == *b
}

func (n *notices) take() (map[string]bool, bool, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, tree, over := n.pending, n.tree, n.overflow
	n.pending, n.tree, n.overflow = map[string]bool{}, false, false
	return p, tree, over
}

func (c *Client) notifyOnce(ctx context.Context, first *bool, onNotice func(Notice)) error {
	n := &notices{status: map[string]imap.StatusData{}, pending: map[string]bool{}, signal: make(chan struct{}, 1)}
	handler := &imapclient.UnilateralDataHandler{
		Status: n.onStatus,
		List: func(*imap.ListData) {
			n.mu.Lock()
			n.tree = true
			n.mu.Unlock()
			n.wake()
		},
		NotificationOverflow: func() {
			n.mu.Lock()
			n.overflow = true
			n.mu.Unlock()
			n.wake()
		},
	}
	cn, err := dial(ctx, &c.cfg, &c.stats, handler)
	if err != nil {
		return err
	}
	defer cn.close()
	cn.timeout = max(c.cfg.Timeout/2, 500*time.Millisecond)
	if !cn.caps.Has(imap.CapNotify) {
		return fmt.Errorf("NOTIFY: %w: the server no longer offers it", ErrUnavailable)
	}
	if hasCondStore(cn.caps) {
		// A STATUS asking for HIGHESTMODSEQ enables CONDSTORE (RFC 7162
		// 3.1), so NOTIFY's STATUS carries it and a flag change shows.
		if err := cn.run(ctx, "STATUS HIGHESTMODSEQ", func() error {
			_, err := cn.c.Status("INBOX", &imap.StatusOptions{HighestModSeq: true}).Wait()
			return err
		}); err != nil {
			return err
		}
	}
	set := func() error {
		return cn.run(ctx, "NOTIFY SET", func() error {
			// Not NotifyOptions.Status: go-imap beta.9 sends it as
			// "(STATUS)", which Dovecot rejects (RFC 5465 has it bare).
			cmd, err := cn.c.Notify(&imap.NotifyOptions{Items: []imap.NotifyItem{{
				MailboxSpec: imap.NotifyMailboxSpecPersonal,
				Events: []imap.NotifyEvent{imap.NotifyEventMessageNew, imap.NotifyEventMessageExpunge,
					imap.NotifyEventFlagChange, imap.NotifyEventMailboxName},
			}}})
			if err != nil {
				return err
			}
			return cmd.Wait()
		})
	}
	if err := set(); err != nil {
		return err
	}
	c.noteFailure(nil)
	c.cfg.Logger.Debug("NOTIFY set for every mailbox")
	onNotice(Notice{Resync: true, Initial: *first})
	*first = false
	// A NOOP every 2 s, not only to prove the connection: Dovecot 2.3
	// stops pushing a mailbox's changes once its index log rotates (about
	// every 32 KiB of changes) until a command makes it look, so the
	// NOOP bounds how late any change is.
	check := min(pollInterval, cn.timeout)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-cn.c.Closed():
			return fmt.Errorf("NOTIFY: %w: the server closed the connection", ErrUnavailable)
		case <-n.signal:
		case <-time.After(check):
			// NOOP proves the connection within the deadline, and
			// collects what the server did not push (above).
			if err := cn.run(ctx, "NOOP", func() error { return cn.c.Noop().Wait() }); err != nil {
				return err
			}
		}
		pending, tree, overflow := n.take()
		if overflow {
			// The server dropped every notification: set them again
			// and treat everything as changed.
			c.cfg.Logger.Info("NOTIFY overflowed; setting it again")
			n.mu.Lock()
			n.status = map[string]imap.StatusData{}
			n.mu.Unlock()
			if err := set(); err != nil {
				return err
			}
			onNotice(Notice{Resync: true})
			continue
		}
		if tree {
			onNotice(Notice{Tree: true})
		}
		for name, flags := range pending {
			onNotice(Notice{Mailbox: name, Flags: flags})
		}
	}
}

// notifyOnceSafe is notifyOnce turning a panic into an error, so the
// connection is made again instead of the process going down.
func (c *Client) notifyOnceSafe(ctx context.Context, first *bool, onNotice func(Notice)) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("NOTIFY connection panicked: %v", v)
			c.cfg.Logger.Error("NOTIFY connection panicked; reconnecting", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	return c.notifyOnce(ctx, first, onNotice)
}
