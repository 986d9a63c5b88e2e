package imapback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/emersion/go-imap/v2"
)

// Sentinel errors. Every error this package returns wraps one of them (or a
// context error), so callers can classify with errors.Is.
var (
	ErrNotFound    = errors.New("no such mailbox or message")
	ErrExists      = errors.New("already exists")
	ErrDenied      = errors.New("permission denied by server")
	ErrAuth        = errors.New("authentication failed")
	ErrUnavailable = errors.New("server unavailable")
	ErrTimeout     = fmt.Errorf("%w: timed out", ErrUnavailable)
	ErrStale       = errors.New("mailbox UIDVALIDITY changed")
	ErrQuota       = errors.New("over quota")
	ErrInvalid     = errors.New("invalid request")
	ErrUnsupported = errors.New("not supported by server")
	ErrReadOnly    = errors.New("read-only")
	// ErrRefused is a NO without a response code we know: the server's
	// text goes to the log, the user sees EIO.
	ErrRefused = errors.New("refused by server")
	// ErrNotEmpty: a mailbox to delete still holds messages or children.
	ErrNotEmpty = errors.New("mailbox not empty")
	// ErrUnsafe: the server lacks what a safe version of the operation
	// needs (UIDPLUS for UID EXPUNGE); mailfs refuses rather than risk
	// other clients' mail.
	ErrUnsafe = errors.New("refused: the server cannot do this safely")
)

// classify turns an error from go-imap or the network into one wrapping a
// sentinel. The server's text is kept for logs.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	for _, s := range []error{ErrNotFound, ErrExists, ErrDenied, ErrAuth, ErrUnavailable, ErrStale, ErrQuota, ErrInvalid, ErrUnsupported, ErrReadOnly, ErrRefused, ErrNotEmpty, ErrUnsafe} {
		if errors.Is(err, s) {
			return err
		}
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return fmt.Errorf("%s: %w (server said %s %q)", op, sentinelFor(ie), ie.Type, ie.Text)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		return fmt.Errorf("%s: %w: %v", op, ErrUnavailable, err)
	}
	// go-imap reports protocol and decoding failures as plain errors; a
	// connection that produced one is not trusted again.
	return fmt.Errorf("%s: %w: %v", op, ErrUnavailable, err)
}

func sentinelFor(ie *imap.Error) error {
	switch ie.Code {
	case imap.ResponseCodeNonExistent, imap.ResponseCodeTryCreate:
		return ErrNotFound
	case imap.ResponseCodeAlreadyExists:
		return ErrExists
	case imap.ResponseCodeNoPerm, imap.ResponseCodeAuthorizationFailed, imap.ResponseCodePrivacyRequired:
		return ErrDenied
	case imap.ResponseCodeAuthenticationFailed, imap.ResponseCodeExpired:
		return ErrAuth
	case imap.ResponseCodeOverQuota, imap.ResponseCodeLimit:
		return ErrQuota
	case imap.ResponseCodeUnavailable, imap.ResponseCodeInUse:
		return ErrUnavailable
	case imap.ResponseCodeCannot, imap.ResponseCodeParse, imap.ResponseCodeBadCharset, imap.ResponseCodeTooBig:
		return ErrInvalid
	}
	if ie.Type == imap.StatusResponseTypeBad {
		return ErrInvalid
	}
	return ErrRefused
}
