package imapback

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// Config is everything needed to reach one account.
type Config struct {
	Endpoint Endpoint
	Password string // never logged, never traced
	// Auth is the login: "" or "plain" (LOGIN, or AUTHENTICATE PLAIN),
	// "xoauth2" or "oauthbearer" (an OAuth2 access token from Token).
	Auth string
	// Token returns an access token; it is called at every login, so a
	// reconnect gets a fresh one. Never logged, never traced.
	Token func(ctx context.Context) (string, error)
	// Connections is the most connections ever opened at once (default 3).
	Connections int
	// Timeout bounds every command: the longest the server may stay
	// silent before the connection is abandoned (default 30 s).
	Timeout time.Duration
	// TLS overrides the TLS configuration (tests); nil verifies against
	// the system roots.
	TLS *tls.Config
	// ReadOnly forbids every change: EXAMINE only, writes fail with
	// ErrReadOnly.
	ReadOnly bool
	// Dates: listings fetch the Date header too (Message.DateHeader),
	// for names made from it (mail.Options.Dates).
	Dates bool
	// Trace, when set, receives the raw protocol with credentials redacted.
	Trace  io.Writer
	Logger *slog.Logger
}

func (cfg *Config) setDefaults() {
	if cfg.Connections <= 0 {
		cfg.Connections = 3
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
}

// dial opens, secures and authenticates one connection.
func dial(ctx context.Context, cfg *Config, stats *counters, events *imapclient.UnilateralDataHandler) (*conn, error) {
	ep := cfg.Endpoint
	d := net.Dialer{Timeout: cfg.Timeout}
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var nc net.Conn
	var err error
	if ep.Security == ImplicitTLS {
		td := tls.Dialer{NetDialer: &d, Config: cfg.tlsConfig()}
		nc, err = td.DialContext(dctx, "tcp", ep.Addr())
	} else {
		nc, err = d.DialContext(dctx, "tcp", ep.Addr())
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, fmt.Errorf("connect to %s: %w: %w", ep.Addr(), ErrUnavailable, err)
	}
	raw := &activityConn{Conn: nc}
	var red *redactor
	opts := &imapclient.Options{TLSConfig: cfg.tlsConfig(), WordDecoder: wordDecoder, UnilateralDataHandler: events}
	if cfg.Trace != nil {
		red = newRedactor(cfg.Trace, ep.User, cfg.Password)
		opts.DebugWriter = red
	}
	cn := &conn{raw: raw, timeout: cfg.Timeout, stats: stats, nameHeaders: nameHeaders(cfg.Dates)}

	// The greeting (and STARTTLS) happen inside the constructors: bound
	// them by closing the socket when the deadline passes.
	stop := context.AfterFunc(dctx, func() { nc.Close() })
	if ep.Security == StartTLS {
		cn.c, err = imapclient.NewStartTLS(raw, opts)
	} else {
		cn.c = imapclient.New(raw, opts)
		err = cn.c.WaitGreeting()
	}
	if !stop() {
		if ctx.Err() != nil {
			// Interrupted, not a timeout (go-imap may already have sent
			// its own CAPABILITY when the caller gave up).
			nc.Close()
			return nil, ctx.Err()
		}
		err = fmt.Errorf("%w: no greeting within %v", ErrTimeout, cfg.Timeout)
	}
	if err != nil {
		nc.Close()
		what := "greeting from"
		if ep.Security == StartTLS {
			what = "STARTTLS with"
		}
		if errors.Is(err, ErrUnavailable) { // a timeout says so already
			return nil, fmt.Errorf("%s %s: %w", what, ep.Addr(), err)
		}
		return nil, fmt.Errorf("%s %s: %w: %v", what, ep.Addr(), ErrUnavailable, err)
	}
	if err := cn.login(ctx, cfg, red); err != nil {
		cn.broken = true
		cn.c.Close()
		return nil, err
	}
	stats.dials.Add(1)
	return cn, nil
}

func (cfg *Config) tlsConfig() *tls.Config {
	if cfg.TLS != nil {
		return cfg.TLS.Clone()
	}
	return &tls.Config{ServerName: cfg.Endpoint.Host, MinVersion: tls.VersionTLS12}
}

// login authenticates with LOGIN, or AUTHENTICATE PLAIN where the server
// disables LOGIN. The protocol trace is muted throughout.
func (cn *conn) login(ctx context.Context, cfg *Config, red *redactor) error {
	ep := cfg.Endpoint
	red.mute(true)
	defer red.mute(false)
	caps, err := cn.fetchCaps(ctx)
	if err != nil {
		return err
	}
	var oauth sasl.Client
	if cfg.Auth != "" && cfg.Auth != "plain" {
		if oauth, err = cn.oauthClient(ctx, cfg, caps); err != nil {
			return err
		}
	}
	err = cn.run(ctx, "LOGIN", func() error {
		if oauth != nil {
			err := cn.c.Authenticate(oauth)
			var be *sasl.OAuthBearerError
			if errors.As(err, &be) {
				// OAUTHBEARER's client ends the exchange itself when the
				// server's challenge is an error: a refused token.
				return fmt.Errorf("%w: token refused (%s)", ErrAuth, be.Status)
			}
			return err
		}
		if caps.Has(imap.CapLoginDisabled) {
			if !caps.Has(imap.Cap("AUTH=PLAIN")) {
				return fmt.Errorf("%w: server disables LOGIN and offers no AUTH=PLAIN", ErrUnsupported)
			}
			return cn.c.Authenticate(sasl.NewPlainClient("", ep.User, cfg.Password))
		}
		return cn.c.Login(ep.User, cfg.Password).Wait()
	})
	if err == nil {
		// Capabilities change with login; read them once more, now.
		_, err = cn.fetchCaps(ctx)
		return err
	}
	var ie *imap.Error
	if errors.As(err, &ie) || errors.Is(err, ErrAuth) || errors.Is(err, ErrDenied) || errors.Is(err, ErrRefused) {
		return fmt.Errorf("%w for user %q at %s", ErrAuth, ep.User, ep.Addr())
	}
	return err
}

// fetchCaps reads the server's capabilities with CAPABILITY under the
// command deadline and ctx, and keeps them on the connection. (go-imap's
// Caps waits a fixed 30 s, ignores ctx, and returns nil on failure, which
// would read as "no such capability": LOGIN despite LOGINDISABLED.)
func (cn *conn) fetchCaps(ctx context.Context) (imap.CapSet, error) {
	var caps imap.CapSet
	err := cn.run(ctx, "CAPABILITY", func() error {
		var err error
		caps, err = cn.c.Capability().Wait()
		return err
	})
	if err != nil {
		return nil, err
	}
	cn.caps = caps
	return caps, nil
}
