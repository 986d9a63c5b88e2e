package imapback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailfs/mail"
)

// The sentinel errors are the mail model's (mail/errors.go): every error
// this package returns wraps one of them (or a context error), so callers
// classify with errors.Is and no layer translates.
var (
	ErrNotFound    = mail.ErrNotFound
	ErrExists      = mail.ErrExists
	ErrDenied      = mail.ErrDenied
	ErrAuth        = mail.ErrAuth
	ErrUnavailable = mail.ErrUnavailable
	ErrTimeout     = mail.ErrTimeout
	ErrStale       = mail.ErrStale
	ErrQuota       = mail.ErrQuota
	ErrInvalid     = mail.ErrInvalid
	ErrUnsupported = mail.ErrUnsupported
	ErrReadOnly    = mail.ErrReadOnly
	ErrRefused     = mail.ErrRefused
	ErrNotEmpty    = mail.ErrNotEmpty
	ErrUnsafe      = mail.ErrUnsafe
	ErrTryLater    = mail.ErrTryLater
	ErrTooBig      = mail.ErrTooBig
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
	for _, s := range mail.Sentinels {
		if errors.Is(err, s) {
			return err
		}
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return &mail.ServerRefusal{Op: op, Err: sentinelFor(ie), Type: string(ie.Type), Code: string(ie.Code), Words: ie.Text}
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

// sentinelFor reads a tagged NO or BAD: the response code when there is
// one, else the server's words (many servers send no codes: "Quota
// exceeded", "Permission denied", "Mailbox doesn't exist"). A NO is a
// server that answered: never ErrUnavailable, except for the codes that
// ask to try again later.
func sentinelFor(ie *imap.Error) error {
	switch ie.Code {
	case imap.ResponseCodeNonExistent, imap.ResponseCodeTryCreate, codeExpungeIssued:
		return ErrNotFound
	case imap.ResponseCodeAlreadyExists:
		return ErrExists
	case imap.ResponseCodeNoPerm, imap.ResponseCodeAuthorizationFailed, imap.ResponseCodePrivacyRequired:
		return ErrDenied
	case imap.ResponseCodeAuthenticationFailed, imap.ResponseCodeExpired:
		return ErrAuth
	case imap.ResponseCodeOverQuota:
		return ErrQuota
	case imap.ResponseCodeUnavailable, imap.ResponseCodeInUse:
		return ErrTryLater
	case imap.ResponseCodeParse, imap.ResponseCodeBadCharset:
		return ErrInvalid
	case imap.ResponseCodeTooBig:
		return ErrTooBig
	case imap.ResponseCodeLimit, imap.ResponseCodeCannot:
		return ErrRefused
	}
	if ie.Type == imap.StatusResponseTypeBad {
		return ErrInvalid
	}
	if ie.Code == "" {
		text := strings.ToLower(ie.Text)
		for _, w := range refusalWords {
			for _, phrase := range w.phrases {
				if strings.Contains(text, phrase) {
					return w.err
				}
			}
		}
	}
	return ErrRefused
}

// codeExpungeIssued (RFC 5530): the command named a message that is gone
// (another client moved or expunged it); go-imap has no name for it.
const codeExpungeIssued imap.ResponseCode = "EXPUNGEISSUED"

// refusedAs reads a tagged NO without a response code, in words that
// sentinelFor does not know (ErrRefused), or with [CANNOT] (RFC 5530:
// it can never succeed; Dovecot's answer to a name it will not take),
// as sentinel: what such a NO means depends on the command it answers.
// Other errors are returned as they are.
func refusedAs(err, sentinel error) error {
	var r *mail.ServerRefusal
	if errors.As(err, &r) && r.Type == string(imap.StatusResponseTypeNo) && (r.Code == "" || r.Code == string(imap.ResponseCodeCannot)) && r.Err == ErrRefused {
		again := *r
		again.Err = sentinel
		return &again
	}
	return err
}

// refusalWords classifies a NO without a response code by what it says;
// first match wins.
var refusalWords = []struct {
	err     error
	phrases []string
}{
	{ErrQuota, []string{"quota", "mailbox is full", "mailbox full", "storage limit", "insufficient storage"}},
	{ErrDenied, []string{"permission denied", "not permitted", "no permission", "access denied", "not allowed", "insufficient permission"}},
	{ErrExists, []string{"already exists"}},
	{ErrNotFound, []string{"does not exist", "doesn't exist", "no longer exist", "no such mailbox", "unknown mailbox", "mailbox not found", "nonexistent"}},
}
