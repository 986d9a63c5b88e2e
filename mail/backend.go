package mail

import (
	"context"
	"time"
)

// Backend is what the model needs from a mail server. imapback.Client
// implements it; tests use a fake. Errors wrap the sentinels of errors.go.
type Backend interface {
	// Mailboxes lists every mailbox of the account.
	Mailboxes(ctx context.Context) ([]MailboxInfo, error)
	// Messages lists one mailbox's message metadata, never bodies.
	Messages(ctx context.Context, mailbox string) (*Listing, error)
	// Changes revalidates a mailbox listed at state since, of which the
	// model still knows known messages below since.UIDNext. allFlags:
	// return every message's flags (needed without CONDSTORE).
	Changes(ctx context.Context, mailbox string, since State, known int, allFlags bool) (*Delta, error)
	// Message fetches one message's metadata by UID (ok false: no such
	// UID), with the mailbox's UIDVALIDITY.
	Message(ctx context.Context, mailbox string, uid uint32) (uidValidity uint32, msg Message, ok bool, err error)
	// Body returns a message's full bytes without marking it \Seen.
	Body(ctx context.Context, mailbox string, uidValidity, uid uint32) ([]byte, error)
	// Range returns bytes [off, off+n) of a message, fewer at its end.
	Range(ctx context.Context, mailbox string, uidValidity, uid uint32, off, n int64) ([]byte, error)
	// Bodies fetches many bodies in one pipelined command, handing each
	// over as it arrives.
	Bodies(ctx context.Context, mailbox string, uidValidity uint32, uids []uint32, each func(uid uint32, body []byte)) error
	// Heads fetches many messages' headers (BODY.PEEK[HEADER]: each up
	// to and including the blank line that ends it) in one pipelined
	// command, handing each over as it arrives.
	Heads(ctx context.Context, mailbox string, uidValidity uint32, uids []uint32, each func(uid uint32, head []byte)) error

	// Search returns the messages matching a query in each of the
	// mailboxes (only those messages' metadata), with each mailbox's
	// UIDVALIDITY. Mailboxes without hits, and mailboxes that no longer
	// exist, are left out.
	Search(ctx context.Context, mailboxes []string, q *Query) ([]Found, error)

	// CreateMailbox creates (and subscribes to) a mailbox.
	CreateMailbox(ctx context.Context, name string) error
	// DeleteMailbox deletes a mailbox only if it holds no messages and no
	// children (else an error wrapping ErrNotEmpty).
	DeleteMailbox(ctx context.Context, name string) error
	// RenameMailbox renames a mailbox and with it its children.
	RenameMailbox(ctx context.Context, from, to string) error
	// Append stores a new message with exactly this INTERNALDATE.
	Append(ctx context.Context, mailbox string, body []byte, flags []string, date time.Time) (Placed, error)
	// StoreFlags adds and removes flags of one message, leaving every
	// other flag as the server has it.
	StoreFlags(ctx context.Context, mailbox string, uidValidity, uid uint32, add, remove []string) error
	// Expunge removes exactly one message for good (\Deleted + UID
	// EXPUNGE of that UID, never a bare EXPUNGE; ErrUnsafe without
	// UIDPLUS).
	Expunge(ctx context.Context, mailbox string, uidValidity, uid uint32) error
	// Copy copies a message to another mailbox (UID COPY): the copy keeps
	// the flags and INTERNALDATE.
	Copy(ctx context.Context, from string, uidValidity, uid uint32, to string) (Placed, error)
	// Move moves a message to another mailbox; on failure the message
	// still exists in at least one of them.
	Move(ctx context.Context, from string, uidValidity, uid uint32, to string) (Placed, error)
}
