package fs

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
)

func isInvalid(err error) bool { return errors.Is(err, ErrInvalid) }

// storeNamed checks data is a message and APPENDs it to mb, then shows it
// in the listing at once (APPENDUID). It returns where it went and the new
// file name ("" when the server did not report the UID; the next listing
// shows it).
func (a *account) storeNamed(ctx context.Context, mb *mailbox, data []byte, flags []string, date time.Time) (Placed, string, error) {
	if a.readOnly {
		return Placed{}, "", ErrReadOnly
	}
	flags = settableFlags(flags)
	msg, subject, err := prepareMessage(data)
	if err != nil {
		return Placed{}, "", err
	}
	p, err := a.backend.Append(ctx, mb.name, msg, flags, date)
	if err != nil {
		return Placed{}, "", err
	}
	if date.IsZero() {
		date = time.Now()
	}
	name := mb.added(p, Message{Flags: flags, Size: int64(len(msg)), InternalDate: date.Truncate(time.Second), Subject: subject})
	a.log.Info("stored message", "mailbox", mb.name, "uid", p.UID, "bytes", len(msg))
	return p, name, nil
}

// replace stores data as the new version of message old, then removes old
// — only after the APPEND succeeded. If the removal fails, both versions
// exist and the error says so: nothing is lost.
func (a *account) replace(ctx context.Context, mb *mailbox, old entry, data []byte, flags []string, date time.Time) error {
	if old.uidValidity == 0 {
		return ErrStale
	}
	p, _, err := a.storeNamed(ctx, mb, data, flags, date)
	if err != nil {
		return err
	}
	if err := a.backend.Remove(ctx, mb.name, old.uidValidity, old.UID); err != nil {
		a.log.Error("stored the new version but could not remove the old one; both are on the server", "mailbox", mb.name, "old uid", old.UID, "err", err)
		return err
	}
	mb.removed(old.uidValidity, old.UID)
	mb.replacedBy(old.name, p)
	return nil
}

// dropLocal forgets a scratch file and tells the kernel, later.
func (a *account) dropLocal(mb *mailbox, name string, n *localNode) {
	mb.forgetLocal(name, n)
	if _, parent := n.Parent(); parent != nil {
		notifyEntries(parent, name)
	}
}

// notifyEntries tells the kernel to forget names in dir. It runs in its own
// goroutine: notifying from inside a FUSE operation on the same directory
// can deadlock.
func notifyEntries(dir *gofs.Inode, names ...string) {
	goSafe(slog.Default(), "kernel notification", func() {
		for _, n := range names {
			dir.NotifyEntry(n)
		}
	})
}

// settableFlags drops flags a client cannot set (\Recent).
func settableFlags(flags []string) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if !strings.EqualFold(f, `\Recent`) {
			out = append(out, f)
		}
	}
	return out
}
