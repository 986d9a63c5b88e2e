package fs

import (
	"context"
	"errors"
	"time"
)

// Backend is what the file system needs from a mail store. imapback
// implements it (through a thin adapter in cmd/mailfs); tests may wrap it.
type Backend interface {
	// Mailboxes lists every mailbox of the account.
	Mailboxes(ctx context.Context) ([]Mailbox, error)
	// Messages lists one mailbox's message metadata, never bodies.
	Messages(ctx context.Context, mailbox string) (*Listing, error)
	// Body returns the full RFC 5322 bytes of one message without
	// marking it \Seen. uidValidity is the one the UID was listed under.
	Body(ctx context.Context, mailbox string, uidValidity, uid uint32) ([]byte, error)
}

// Mailbox is one mailbox as the backend names it.
type Mailbox struct {
	Name     string // full name, UTF-8
	Delim    rune   // hierarchy delimiter; 0 for a flat namespace
	NoSelect bool   // holds only child mailboxes
}

// Listing is a mailbox's messages at one moment.
type Listing struct {
	UIDValidity uint32
	Messages    []Message // ascending UID
}

// Message is one message's metadata.
type Message struct {
	UID          uint32
	Flags        []string
	Size         int64 // as reported by the server; may be wrong
	InternalDate time.Time
	Subject      string
}

// Errors a Backend returns wrap one of these so that the file system can
// choose an errno (see toErrno).
var (
	ErrNotFound    = errors.New("not found")
	ErrExists      = errors.New("already exists")
	ErrDenied      = errors.New("permission denied")
	ErrUnavailable = errors.New("server unavailable")
	ErrStale       = errors.New("mailbox changed identity (UIDVALIDITY)")
	ErrQuota       = errors.New("over quota")
	ErrInvalid     = errors.New("invalid")
	ErrUnsupported = errors.New("not supported")
	ErrReadOnly    = errors.New("read-only")
)
