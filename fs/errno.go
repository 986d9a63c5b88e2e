package fs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"syscall"

	"mailfs/mail"
	"mailfs/mail/files"
)

// errnoTable maps the model's sentinels to errnos, in order of preference.
// It is the one place this happens.
var errnoTable = []struct {
	err   error
	errno syscall.Errno
}{
	{mail.ErrNotFound, syscall.ENOENT},
	{mail.ErrExists, syscall.EEXIST},
	{mail.ErrDenied, syscall.EACCES},
	{mail.ErrAuth, syscall.EACCES},
	{mail.ErrStale, syscall.ESTALE},
	{mail.ErrQuota, syscall.EDQUOT},
	{mail.ErrInvalid, syscall.EINVAL},
	{mail.ErrUnsupported, syscall.ENOTSUP},
	{mail.ErrReadOnly, syscall.EROFS},
	{mail.ErrNotEmpty, syscall.ENOTEMPTY},
	{mail.ErrUnsafe, syscall.EPERM},
	{mail.ErrNoSpace, syscall.ENOSPC},
	{files.ErrTooLarge, syscall.EFBIG},
	{files.ErrGone, syscall.ESTALE},
	{files.ErrBroken, syscall.EIO},
	{files.ErrBusy, syscall.EBUSY},
	{mail.ErrTooBig, syscall.EFBIG},
	{mail.ErrTryLater, syscall.EIO},
	{mail.ErrUnavailable, syscall.EIO},
	{mail.ErrRefused, syscall.EIO},
}

// unclassified remembers error texts already logged as unmapped (at most
// maxUnclassified), so a flood of one failure logs once.
var (
	unclassifiedMu sync.Mutex
	unclassified   = map[string]bool{}
)

const maxUnclassified = 256

// errno answers a kernel request that failed, and keeps the error as the
// account's last for mailfs status.
func (v *view) errno(op string, err error) syscall.Errno {
	e := toErrno(v.log, op, err)
	if e != 0 && e != syscall.ENOENT && e != syscall.EEXIST && e != syscall.EINTR {
		v.acct.NoteError(op, err)
	}
	return e
}

// loud are the errnos logged as warnings: the user should learn why.
// ENOENT, EEXIST and EINVAL are everyday answers (shells probe names,
// mkdir -p, editors try things) and are logged at debug level.
var loud = map[syscall.Errno]bool{syscall.EIO: true, syscall.EPERM: true, syscall.EACCES: true,
	syscall.EDQUOT: true, syscall.EFBIG: true, syscall.ENOSPC: true, syscall.ENOTSUP: true, syscall.EBUSY: true}

// toErrno is the one place errors become errnos. go-fuse would turn an
// unmapped error into ENOSYS; here every error gets a real errno.
func toErrno(log *slog.Logger, op string, err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if errors.Is(err, context.Canceled) {
		return syscall.EINTR
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return syscall.EIO
	}
	for _, e := range errnoTable {
		if errors.Is(err, e.err) {
			if loud[e.errno] {
				log.Warn(op+" failed", "err", err)
			} else {
				log.Debug(op+" failed", "err", err)
			}
			return e.errno
		}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	unclassifiedMu.Lock()
	first := !unclassified[err.Error()]
	if first && len(unclassified) < maxUnclassified {
		unclassified[err.Error()] = true
	}
	unclassifiedMu.Unlock()
	if first {
		log.Error(op+" failed with an unclassified error; returning EIO", "err", err)
	}
	return syscall.EIO
}

func isInvalid(err error) bool { return errors.Is(err, mail.ErrInvalid) }

// warnRefused logs a mailbox operation that failed: "the server refused
// to …" with its words when it answered NO, "could not …" when it could
// not be asked (unreachable, no answer): never one for the other.
func (v *view) warnRefused(what string, err error, attrs ...any) {
	var refusal *mail.ServerRefusal
	if errors.As(err, &refusal) {
		v.log.Warn("the server refused to "+what, append(attrs, "err", err)...)
		return
	}
	v.log.Warn("could not "+what, append(attrs, "err", err)...)
}
