package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"mailfs/fs"
	"mailfs/imapback"
)

// backend adapts *imapback.Client to fs.Backend: it copies imapback's types
// into the file system's and wraps each error with the fs sentinel of the
// same meaning. fs and imapback never import each other.
type backend struct {
	c *imapback.Client
}

var _ fs.Backend = backend{}

func (b backend) Mailboxes(ctx context.Context) ([]fs.Mailbox, error) {
	list, err := b.c.Mailboxes(ctx)
	if err != nil {
		return nil, mapError(err)
	}
	out := make([]fs.Mailbox, len(list))
	for i, mb := range list {
		out[i] = fs.Mailbox{Name: mb.Name, Delim: mb.Delim, NoSelect: mb.NoSelect}
	}
	return out, nil
}

func (b backend) Messages(ctx context.Context, mailbox string) (*fs.Listing, error) {
	l, err := b.c.Messages(ctx, mailbox)
	if err != nil {
		return nil, mapError(err)
	}
	return &fs.Listing{UIDValidity: l.UIDValidity, State: fs.MailboxState(l.State), Messages: toFSMessages(l.Messages)}, nil
}

func toFSMessages(in []imapback.Message) []fs.Message {
	out := make([]fs.Message, len(in))
	for i, m := range in {
		out[i] = fs.Message(m)
	}
	return out
}

func (b backend) Changes(ctx context.Context, mailbox string, since fs.MailboxState, known int, allFlags bool) (*fs.Delta, error) {
	d, err := b.c.Changes(ctx, mailbox, imapback.MailboxState(since), known, allFlags)
	if err != nil {
		return nil, mapError(err)
	}
	return &fs.Delta{State: fs.MailboxState(d.State), Reset: d.Reset, Unchanged: d.Unchanged,
		New: toFSMessages(d.New), Present: d.Present, Flags: d.Flags}, nil
}

func (b backend) Message(ctx context.Context, mailbox string, uid uint32) (uint32, fs.Message, bool, error) {
	v, m, ok, err := b.c.Message(ctx, mailbox, uid)
	return v, fs.Message(m), ok, mapError(err)
}

func (b backend) Body(ctx context.Context, mailbox string, uidValidity, uid uint32) ([]byte, error) {
	body, err := b.c.Body(ctx, mailbox, uidValidity, uid)
	return body, mapError(err)
}

func (b backend) Range(ctx context.Context, mailbox string, uidValidity, uid uint32, off, n int64) ([]byte, error) {
	body, err := b.c.Range(ctx, mailbox, uidValidity, uid, off, n)
	return body, mapError(err)
}

func (b backend) Bodies(ctx context.Context, mailbox string, uidValidity uint32, uids []uint32, each func(uint32, []byte)) error {
	return mapError(b.c.Bodies(ctx, mailbox, uidValidity, uids, each))
}

func (b backend) CreateMailbox(ctx context.Context, name string) error {
	return mapError(b.c.Create(ctx, name))
}

func (b backend) DeleteMailbox(ctx context.Context, name string) error {
	return mapError(b.c.Delete(ctx, name))
}

func (b backend) RenameMailbox(ctx context.Context, from, to string) error {
	return mapError(b.c.Rename(ctx, from, to))
}

func (b backend) Append(ctx context.Context, mailbox string, body []byte, flags []string, date time.Time) (fs.Placed, error) {
	p, err := b.c.Append(ctx, mailbox, body, flags, date)
	return fs.Placed(p), mapError(err)
}

func (b backend) SetFlags(ctx context.Context, mailbox string, uidValidity, uid uint32, flags []string) error {
	return mapError(b.c.SetFlags(ctx, mailbox, uidValidity, uid, flags))
}

func (b backend) Remove(ctx context.Context, mailbox string, uidValidity, uid uint32) error {
	return mapError(b.c.Remove(ctx, mailbox, uidValidity, uid))
}

func (b backend) Move(ctx context.Context, from string, uidValidity, uid uint32, to string) (fs.Placed, error) {
	p, err := b.c.Move(ctx, from, uidValidity, uid, to)
	return fs.Placed(p), mapError(err)
}

var errorMap = []struct{ from, to error }{
	{imapback.ErrNotFound, fs.ErrNotFound},
	{imapback.ErrExists, fs.ErrExists},
	{imapback.ErrDenied, fs.ErrDenied},
	{imapback.ErrAuth, fs.ErrDenied},
	{imapback.ErrStale, fs.ErrStale},
	{imapback.ErrQuota, fs.ErrQuota},
	{imapback.ErrInvalid, fs.ErrInvalid},
	{imapback.ErrUnsupported, fs.ErrUnsupported},
	{imapback.ErrReadOnly, fs.ErrReadOnly},
	{imapback.ErrUnavailable, fs.ErrUnavailable},
	{imapback.ErrRefused, fs.ErrUnavailable},
	{imapback.ErrNotEmpty, fs.ErrNotEmpty},
	{imapback.ErrUnsafe, fs.ErrUnsafe},
}

// mapError keeps the original error (and its text, for logs) and adds the
// fs sentinel. Context errors pass through untouched.
func mapError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	for _, m := range errorMap {
		if errors.Is(err, m.from) {
			return fmt.Errorf("%w: %w", m.to, err)
		}
	}
	return err
}
