package mail

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
)

// Writes: every change goes to the server first and shows in the model
// once the server confirmed it. A message's source is removed only after
// its copy is confirmed (DESIGN.md, safety rule 2).

// Append checks that data is a message and stores it with flags and
// INTERNALDATE date (zero: now). The date sent is the one the entry
// carries, so a name built from it is the same after a remount. The entry
// has UID 0 when the server did not report where the message went.
func (m *Mailbox) Append(ctx context.Context, data []byte, flags []string, date time.Time) (Entry, error) {
	if m.acct.readOnly {
		return Entry{}, ErrReadOnly
	}
	msg, subject, err := PrepareMessage(data)
	if err != nil {
		return Entry{}, err
	}
	if date.IsZero() {
		date = time.Now()
	}
	date = date.Truncate(time.Second)
	flags = SettableFlags(flags)
	name := m.Name()
	p, err := m.acct.backend.Append(ctx, name, msg, flags, date)
	if err != nil {
		return Entry{}, err
	}
	e, _ := m.added(p, Message{Flags: flags, Size: int64(len(msg)), InternalDate: date, Subject: subject, DateHeader: HeaderDate(msg)}, true)
	m.acct.log.Info("stored message", "mailbox", name, "uid", p.UID, "bytes", len(msg))
	return e, nil
}

// Move moves message e to dst and returns it as dst now holds it (UID 0
// when the server did not say). Its size stays measured or reported as it
// was, so a wrong RFC822.SIZE is still corrected when it is next read.
func (m *Mailbox) Move(ctx context.Context, e Entry, dst *Mailbox) (Entry, error) {
	if m.acct.readOnly {
		return Entry{}, ErrReadOnly
	}
	return m.moveTo(ctx, e, dst, "moved message")
}

func (m *Mailbox) moveTo(ctx context.Context, e Entry, dst *Mailbox, what string) (Entry, error) {
	from, to := m.Name(), dst.Name()
	p, err := m.acct.backend.Move(ctx, from, e.UIDValidity, e.UID, to)
	if err != nil {
		return Entry{}, err
	}
	m.acct.log.Info(what, "from", from, "to", to, "uid", e.UID, "new uid", p.UID)
	m.acct.moves.moved(m, e.Ref(), dst, Ref{p.UIDValidity, p.UID})
	m.removed(e.Ref())
	moved, ok := dst.added(p, e.Message, e.SizeKnown)
	if ok {
		// Whoever shows dst learns of the message now, not at the next
		// revalidation.
		m.acct.notify(Change{Mailbox: dst, Added: []Entry{moved}})
	}
	return moved, nil
}

// SetFlags makes a message's flags flags by adding and removing only the
// difference from what this mount knows, so a change another client made
// to other flags since is kept.
func (m *Mailbox) SetFlags(ctx context.Context, e Entry, flags []string) error {
	if m.acct.readOnly {
		return ErrReadOnly
	}
	flags = SettableFlags(flags)
	add, remove := flagDiff(SettableFlags(e.Flags), flags)
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	if err := m.acct.backend.StoreFlags(ctx, m.Name(), e.UIDValidity, e.UID, add, remove); err != nil {
		return err
	}
	m.flagsStored(e.Ref(), flags)
	return nil
}

// flagDiff returns what to add to have and what to remove from it to get
// want; flags compare case-insensitively.
func flagDiff(have, want []string) (add, remove []string) {
	in := func(list []string, f string) bool {
		for _, g := range list {
			if strings.EqualFold(f, g) {
				return true
			}
		}
		return false
	}
	for _, f := range want {
		if !in(have, f) {
			add = append(add, f)
		}
	}
	for _, f := range have {
		if !in(want, f) {
			remove = append(remove, f)
		}
	}
	return add, remove
}

// CreateMailbox creates (and subscribes to) mailbox full.
func (a *Account) CreateMailbox(ctx context.Context, full string) error {
	if a.readOnly {
		return ErrReadOnly
	}
	if err := a.backend.CreateMailbox(ctx, full); err != nil {
		return err
	}
	a.log.Info("created mailbox", "mailbox", full)
	a.tree.invalidate()
	a.tree.changed()
	return nil
}

// DeleteMailbox deletes a mailbox that holds no messages and no children.
// INBOX is never deleted.
func (a *Account) DeleteMailbox(ctx context.Context, full string) error {
	if a.readOnly {
		return ErrReadOnly
	}
	if strings.EqualFold(full, "INBOX") {
		return fmt.Errorf("%w: INBOX cannot be deleted", ErrDenied)
	}
	if err := a.backend.DeleteMailbox(ctx, full); err != nil {
		return err
	}
	a.log.Info("deleted mailbox", "mailbox", full)
	a.forget(full)
	a.tree.invalidate()
	a.tree.changed()
	return nil
}

// RenameMailbox renames a mailbox and its children. Their models follow
// under the new names (same objects, same IDs), so whatever holds them
// sees the new names; a mailbox later created under an old name is a new
// object.
func (a *Account) RenameMailbox(ctx context.Context, from, to string) error {
	if a.readOnly {
		return ErrReadOnly
	}
	if strings.EqualFold(from, "INBOX") {
		return fmt.Errorf("%w: INBOX cannot be renamed", ErrDenied)
	}
	if err := a.backend.RenameMailbox(ctx, from, to); err != nil {
		return err
	}
	a.log.Info("renamed mailbox", "from", from, "to", to)
	delim := string(a.tree.delimiter())
	a.mu.Lock()
	moved := map[string]*Mailbox{}
	for name, m := range a.mailboxes {
		if name == from || strings.HasPrefix(name, from+delim) {
			moved[to+name[len(from):]] = m
			delete(a.mailboxes, name)
		}
	}
	for name, m := range moved {
		a.mailboxes[name] = m
		m.rename(name)
	}
	a.mu.Unlock()
	a.tree.invalidate()
	a.tree.changed()
	return nil
}

// forget drops the models of a deleted mailbox and its children.
func (a *Account) forget(full string) {
	delim := string(a.tree.delimiter())
	a.mu.Lock()
	defer a.mu.Unlock()
	for name := range a.mailboxes {
		if name == full || strings.HasPrefix(name, full+delim) {
			delete(a.mailboxes, name)
		}
	}
}

// UIDNext is the UIDNEXT the model last knew of the mailbox (0 when it was
// never listed): every message stored from now on has a UID at or above
// it.
func (m *Mailbox) UIDNext() uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.UIDNext
}

// FindStored looks for the message data among those the mailbox holds at
// or above UID since: an APPEND whose answer was lost (the connection
// dropped after its literal) may have been stored, and sending it again
// would store it twice. It asks the server (one listing, then the bodies
// of messages of the same size), never the model's memory; an error means
// the server could not say.
func (m *Mailbox) FindStored(ctx context.Context, data []byte, since uint32) (Entry, bool, error) {
	msg, _, err := PrepareMessage(data)
	if err != nil {
		return Entry{}, false, err
	}
	l, err := m.acct.backend.Messages(ctx, m.Name())
	if err != nil {
		return Entry{}, false, err
	}
	for _, c := range l.Messages {
		if c.UID < since || c.Size != int64(len(msg)) {
			continue
		}
		body, err := m.acct.backend.Body(ctx, m.Name(), l.UIDValidity, c.UID)
		if err != nil {
			return Entry{}, false, err
		}
		if bytes.Equal(body, msg) {
			e, _ := m.added(Placed{Mailbox: m.Name(), UIDValidity: l.UIDValidity, UID: c.UID}, c, true)
			m.acct.log.Info("found a message whose APPEND was not answered; it is not sent again", "mailbox", m.Name(), "uid", c.UID)
			return e, true, nil
		}
	}
	return Entry{}, false, nil
}
