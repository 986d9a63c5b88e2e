package imapback

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Security is how a connection is protected.
type Security int

const (
	// ImplicitTLS is imaps://: TLS from the first byte, port 993.
	ImplicitTLS Security = iota
	// StartTLS is imap://: plain connect, STARTTLS required before login.
	StartTLS
	// Insecure is imap+insecure://: no TLS at all (loopback test servers).
	Insecure
)

func (s Security) String() string {
	switch s {
	case ImplicitTLS:
		return "imaps"
	case StartTLS:
		return "imap"
	default:
		return "imap+insecure"
	}
}

// Endpoint is an account's address: where to connect and as whom.
type Endpoint struct {
	Security Security
	Host     string // host name or address, without brackets
	Port     string
	User     string
}

// Addr is host:port, ready for net.Dial.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, e.Port) }

// String is the URL without any password.
func (e Endpoint) String() string {
	return fmt.Sprintf("%s://%s@%s", e.Security, url.PathEscape(e.User), e.Addr())
}

// IsLoopback reports whether the host is a loopback name or address.
func (e Endpoint) IsLoopback() bool {
	if strings.EqualFold(e.Host, "localhost") {
		return true
	}
	ip := net.ParseIP(e.Host)
	return ip != nil && ip.IsLoopback()
}

// ParseURL reads imaps://user@host[:port], imap://… or imap+insecure://….
// A password in the URL is refused: it would show in argv and ps output.
func ParseURL(raw string) (Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Endpoint{}, fmt.Errorf("invalid account URL: %w", redactURLError(err))
	}
	var e Endpoint
	switch strings.ToLower(u.Scheme) {
	case "imaps":
		e.Security, e.Port = ImplicitTLS, "993"
	case "imap":
		e.Security, e.Port = StartTLS, "143"
	case "imap+insecure":
		e.Security, e.Port = Insecure, "143"
	default:
		return Endpoint{}, fmt.Errorf("invalid account URL %q: scheme must be imaps://, imap:// or imap+insecure://", u.Redacted())
	}
	if u.User == nil || u.User.Username() == "" {
		return Endpoint{}, fmt.Errorf("invalid account URL %q: no user name (want %s://user@host)", u.Redacted(), u.Scheme)
	}
	if _, has := u.User.Password(); has {
		return Endpoint{}, fmt.Errorf("invalid account URL %q: do not put the password in the URL; use MAILFS_PASSWORD or --password-command", u.Redacted())
	}
	e.User = u.User.Username()
	e.Host = u.Hostname()
	if e.Host == "" {
		return Endpoint{}, fmt.Errorf("invalid account URL %q: no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		e.Port = p
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Endpoint{}, fmt.Errorf("invalid account URL %q: unexpected path or query", u.Redacted())
	}
	return e, nil
}

// redactURLError drops the URL text from url.Parse's error: it could hold a
// password.
func redactURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
