package imapback

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Client is one account: a pool of connections and what was learnt of the
// server. Safe for concurrent use.
type Client struct {
	cfg    Config
	pool   *pool
	stats  counters
	health health
	done   chan struct{} // closed by Close: background work stops
	bg     sync.WaitGroup

	connected chan struct{} // closed once a connection has logged in

	mu      sync.Mutex // protects the following
	caps    []string
	capsSet bool
}

// Connected is closed once the client has logged in: at once after Dial,
// later after a DialOrWait whose server could not be reached.
func (c *Client) Connected() <-chan struct{} { return c.connected }

// Reconnected returns a channel closed the next time the server answers
// after it could not be reached (or before it first did): what waits
// for the server can go on at once instead of at its next try.
func (c *Client) Reconnected() <-chan struct{} {
	c.health.mu.Lock()
	defer c.health.mu.Unlock()
	if c.health.back == nil {
		c.health.back = make(chan struct{})
	}
	return c.health.back
}

// Dial connects and authenticates once, so that a wrong password or an
// unreachable server is reported before anything is mounted. That first
// connection stays in the pool.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	cfg.setDefaults()
	c := &Client{cfg: cfg, done: make(chan struct{}), connected: make(chan struct{})}
	c.pool = newPool(cfg.Connections, c.dialForPool)
	cn, err := dial(ctx, &c.cfg, &c.stats, nil)
	if err != nil {
		return nil, err
	}
	c.health.result(nil)
	c.setCaps(cn)
	c.pool.prime(cn)
	return c, nil
}

// DialOrWait is Dial for one account among several: when its server cannot
// be reached, it still returns a client, which keeps trying in the
// background (its calls fail with ErrUnavailable until then), together
// with the error, so that the other accounts work meanwhile. A refused
// login, a bad configuration or an interruption is an error without a
// client, as with Dial.
func DialOrWait(ctx context.Context, cfg Config) (*Client, error) {
	c, err := Dial(ctx, cfg)
	if err == nil || !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
		return c, err
	}
	cfg.setDefaults()
	c = &Client{cfg: cfg, done: make(chan struct{}), connected: make(chan struct{})}
	c.pool = newPool(cfg.Connections, c.dialForPool)
	if c.health.result(err) {
		c.bg.Add(1)
		go c.reconnectLoop()
	}
	return c, err
}

// setCaps keeps the capabilities a connection saw, the first time.
func (c *Client) setCaps(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.capsSet {
		return
	}
	c.capsSet = true
	for cp := range cn.caps {
		c.caps = append(c.caps, string(cp))
	}
	close(c.connected)
}

// dialForPool opens a connection for the pool, failing fast while the
// server is known to be down (the background loop retries).
func (c *Client) dialForPool(ctx context.Context) (*conn, error) {
	if err := c.health.gate(); err != nil {
		return nil, err
	}
	started := time.Now()
	cn, err := dial(ctx, &c.cfg, &c.stats, nil)
	if err != nil && ctx.Err() != nil {
		return nil, err // interrupted: says nothing about the server
	}
	if err == nil {
		c.cfg.Logger.Debug("connected", "took", time.Since(started).Round(time.Millisecond))
	}
	if c.health.result(err) {
		c.cfg.Logger.Warn("server unreachable; reconnecting in the background", "server", c.cfg.Endpoint.Addr(), "err", err)
		c.bg.Add(1)
		go c.reconnectLoop()
	}
	if err == nil {
		c.setCaps(cn)
	}
	return cn, err
}

// Close stops background work and says LOGOUT on every connection.
func (c *Client) Close() error {
	select {
	case <-c.done:
		return nil
	default:
	}
	close(c.done)
	c.bg.Wait()
	c.pool.close()
	return nil
}

// Health reports the connection state.
func (c *Client) Health() Health { return c.health.snapshot() }

// Config returns the configuration in use (Password cleared).
func (c *Client) Config() Config {
	cfg := c.cfg
	cfg.Password = ""
	return cfg
}

// Endpoint is the account's address (no password).
func (c *Client) Endpoint() Endpoint { return c.cfg.Endpoint }

// Capabilities is the server's CAPABILITY list after login.
func (c *Client) Capabilities() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.caps...)
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	return Stats{
		Dials:        c.stats.dials.Load(),
		BodyFetches:  c.stats.bodyFetches.Load(),
		BatchFetches: c.stats.batchFetches.Load(),
		RangeFetches: c.stats.rangeFetches.Load(),
		ListFetches:  c.stats.listFetches.Load(),
		BytesFetched: c.stats.bytesFetched.Load(),
		Timeouts:     c.stats.timeouts.Load(),
		Statuses:     c.stats.statuses.Load(),
		DeltaFetches: c.stats.deltaFetches.Load(),
		Appends:      c.stats.appends.Load(),
	}
}

// PoolSizes reports idle connections and connections in use.
func (c *Client) PoolSizes() (idle, busy int) { return c.pool.sizes() }

// with runs fn on a pooled connection that has mailbox selected (EXAMINE;
// "" means no selection needed) and returns the connection afterwards.
func (c *Client) with(ctx context.Context, mailbox string, fn func(cn *conn) error) error {
	cn, err := c.pool.get(ctx, mailbox)
	if err != nil {
		return err
	}
	defer c.pool.put(cn)
	if mailbox != "" && cn.selected != mailbox {
		if err := cn.examine(ctx, mailbox); err != nil {
			c.noteFailure(err)
			return err
		}
	}
	err = fn(cn)
	c.noteFailure(err)
	return err
}

// noteFailure keeps a connection-level failure for status output and
// the health state; a completed command clears a hung state.
func (c *Client) noteFailure(err error) {
	switch {
	case err == nil:
		c.health.answered()
	case errors.Is(err, ErrUnavailable):
		c.health.failed(err)
		if errors.Is(err, ErrTimeout) {
			c.pool.dropIdle()
		}
	}
}

// withAvoiding is with on a connection that preferably does not have
// mailbox selected (for STATUS, which such a connection may answer from a
// stale view).
func (c *Client) withAvoiding(ctx context.Context, mailbox string, fn func(cn *conn) error) error {
	cn, err := c.pool.getAvoiding(ctx, mailbox)
	if err != nil {
		return err
	}
	defer c.pool.put(cn)
	err = fn(cn)
	c.noteFailure(err)
	return err
}

// examine selects mailbox read-only and records its UIDVALIDITY.
func (cn *conn) examine(ctx context.Context, mailbox string) (err error) {
	var data *imap.SelectData
	cn.selected = ""
	err = cn.run(ctx, "EXAMINE "+mailbox, func() error {
		data, err = cn.c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		return err
	})
	if err != nil {
		return err
	}
	cn.selectedNow(mailbox, data, true)
	return nil
}

// Mailboxes lists every mailbox (LIST "" "*").
func (c *Client) Mailboxes(ctx context.Context) ([]Mailbox, error) {
	var out []Mailbox
	err := c.with(ctx, "", func(cn *conn) error {
		var opts *imap.ListOptions
		if cn.caps.Has(imap.CapSpecialUse) {
			opts = &imap.ListOptions{ReturnSpecialUse: true}
		}
		return cn.run(ctx, "LIST", func() error {
			list, err := cn.c.List("", "*", opts).Collect()
			if err != nil {
				return err
			}
			for _, ld := range list {
				out = append(out, toMailbox(ld))
			}
			return nil
		})
	})
	return out, err
}

func toMailbox(ld *imap.ListData) Mailbox {
	mb := Mailbox{Name: ld.Mailbox, Delim: ld.Delim}
	for _, a := range ld.Attrs {
		switch a {
		case imap.MailboxAttrNoSelect, imap.MailboxAttrNonExistent:
			mb.NoSelect = true
		case imap.MailboxAttrAll, imap.MailboxAttrArchive, imap.MailboxAttrDrafts, imap.MailboxAttrFlagged,
			imap.MailboxAttrJunk, imap.MailboxAttrSent, imap.MailboxAttrTrash:
			mb.SpecialUse = string(a)
		}
	}
	return mb
}

// errorf is fmt.Errorf with the op prefix this package uses.
func errorf(op string, sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", op, sentinel, fmt.Sprintf(format, args...))
}
