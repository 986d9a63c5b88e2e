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
	// Changes revalidates a mailbox listed at state since, of which the
	// file system knows known messages (see Delta).
	Changes(ctx context.Context, mailbox string, since MailboxState, known int, allFlags bool) (*Delta, error)
	// Message fetches one message's metadata by UID (ok false: no such
	// UID), with the mailbox's UIDVALIDITY: a lookup by name that needs
	// no listing.
	Message(ctx context.Context, mailbox string, uid uint32) (uidValidity uint32, msg Message, ok bool, err error)
	// Body returns the full RFC 5322 bytes of one message without
	// marking it \Seen. uidValidity is the one the UID was listed under.
	Body(ctx context.Context, mailbox string, uidValidity, uid uint32) ([]byte, error)

	// Range returns bytes [off, off+n) of a message, fewer at its end.
	Range(ctx context.Context, mailbox string, uidValidity, uid uint32, off, n int64) ([]byte, error)
	// Bodies fetches many bodies in one pipelined command (read-ahead),
	// handing each over as it arrives.
	Bodies(ctx context.Context, mailbox string, uidValidity uint32, uids []uint32, each func(uid uint32, body []byte)) error

	// CreateMailbox creates (and subscribes to) a mailbox.
	CreateMailbox(ctx context.Context, name string) error
	// DeleteMailbox deletes a mailbox only if it holds no messages and
	// has no children (else an error wrapping ErrNotEmpty).
	DeleteMailbox(ctx context.Context, name string) error
	// RenameMailbox renames a mailbox and with it its children.
	RenameMailbox(ctx context.Context, from, to string) error
	// Append stores a new message; a zero date lets the server choose.
	Append(ctx context.Context, mailbox string, body []byte, flags []string, date time.Time) (Placed, error)
	// SetFlags replaces a message's flags.
	SetFlags(ctx context.Context, mailbox string, uidValidity, uid uint32, flags []string) error
	// Remove deletes a message the way the user chose (--delete).
	Remove(ctx context.Context, mailbox string, uidValidity, uid uint32) error
	// Move moves a message to another mailbox; on failure the message
	// still exists in at least one of them.
	Move(ctx context.Context, from string, uidValidity, uid uint32, to string) (Placed, error)
}

// Placed is where a message went. UID is 0 when the server did not say.
type Placed struct {
	Mailbox     string
	UIDValidity uint32
	UID         uint32
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
	State       MailboxState // STATUS as of the listing: Changes starts here
	Messages    []Message    // ascending UID
}

// MailboxState is what STATUS says: enough to tell whether a mailbox
// changed.
type MailboxState struct {
	UIDValidity   uint32
	UIDNext       uint32
	Messages      uint32
	HighestModSeq uint64
}

// Delta is how a mailbox changed since a state.
type Delta struct {
	State     MailboxState
	Reset     bool                // UIDVALIDITY changed: list again, forget every UID
	Unchanged bool                // nothing to apply
	New       []Message           // UIDs at or above the old UIDNEXT
	Present   map[uint32]bool     // when not nil: every UID there is now
	Flags     map[uint32][]string // current flags of changed messages
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
	ErrNotEmpty    = errors.New("not empty")
	ErrUnsafe      = errors.New("refused as unsafe on this server")
)
