package fs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"syscall"
)

// errnoTable maps backend sentinels to errnos, in order of preference.
var errnoTable = []struct {
	err   error
	errno syscall.Errno
}{
	{ErrNotFound, syscall.ENOENT},
	{ErrExists, syscall.EEXIST},
	{ErrDenied, syscall.EACCES},
	{ErrStale, syscall.ESTALE},
	{ErrQuota, syscall.EDQUOT},
	{ErrInvalid, syscall.EINVAL},
	{ErrUnsupported, syscall.ENOTSUP},
	{ErrReadOnly, syscall.EROFS},
	{ErrNotEmpty, syscall.ENOTEMPTY},
	{ErrUnsafe, syscall.EPERM},
	{ErrUnavailable, syscall.EIO},
}

// unknownLogged remembers error texts already logged as unmapped, so a
// flood of the same failure logs once.
var unknownLogged sync.Map

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
			if e.errno == syscall.EIO || e.errno == syscall.EPERM {
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
	if _, seen := unknownLogged.LoadOrStore(err.Error(), true); !seen {
		log.Error(op+" failed with an unclassified error; returning EIO", "err", err)
	}
	return syscall.EIO
}
