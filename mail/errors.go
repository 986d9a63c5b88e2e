package mail

import (
	"context"
	"errors"
	"fmt"
)

// Sentinel errors. Every error a Backend or the model returns wraps one of
// these or a context error, so that a view can choose its answer with
// errors.Is (fs has the one errno table).
var (
	ErrNotFound    = errors.New("no such mailbox or message")
	ErrExists      = errors.New("already exists")
	ErrDenied      = errors.New("permission denied by server")
	ErrAuth        = errors.New("authentication failed")
	ErrUnavailable = errors.New("server unavailable")
	ErrTimeout     = fmt.Errorf("%w: timed out", ErrUnavailable)
	ErrStale       = errors.New("mailbox UIDVALIDITY changed")
	ErrQuota       = errors.New("over quota")
	ErrInvalid     = errors.New("invalid")
	ErrUnsupported = errors.New("not supported by server")
	ErrReadOnly    = errors.New("read-only")
	// ErrRefused is a NO without a response code we know.
	ErrRefused = errors.New("refused by server")
	// ErrNotEmpty: a mailbox to delete still holds messages or children.
	ErrNotEmpty = errors.New("mailbox not empty")
	// ErrUnsafe: the server lacks what a safe version of the operation
	// needs (UIDPLUS for UID EXPUNGE); refused rather than risk other
	// clients' mail.
	ErrUnsafe = errors.New("refused: the server cannot do this safely")
	// ErrTryLater: the server answered, but asked to try again later
	// ([UNAVAILABLE], [INUSE]). Transient, but not a server that cannot
	// be reached.
	ErrTryLater = errors.New("server busy; try again later")
	// ErrTooBig: the server will not take a message this large ([TOOBIG]).
	ErrTooBig = errors.New("message too large for the server")
	// ErrNoSpace: the memory set aside for files being written is full.
	ErrNoSpace = errors.New("no space left for files being written")
)

// Sentinels lists every sentinel, for classification.
var Sentinels = []error{ErrNotFound, ErrExists, ErrDenied, ErrAuth, ErrUnavailable, ErrStale,
	ErrQuota, ErrInvalid, ErrUnsupported, ErrReadOnly, ErrRefused, ErrNotEmpty, ErrUnsafe, ErrNoSpace, ErrTryLater, ErrTooBig}

// IsInterrupt reports whether err is the caller giving up (Ctrl-C).
func IsInterrupt(err error) bool { return errors.Is(err, context.Canceled) }

// Transient reports whether an operation that failed with err may succeed
// when tried again later: the server could not be reached or timed out.
// A server's NO is not transient.
func Transient(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrTryLater) || errors.Is(err, context.DeadlineExceeded)
}
