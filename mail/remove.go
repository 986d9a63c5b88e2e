package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// DeleteMode is what rm does with a message (--delete).
type DeleteMode int

const (
	// DeleteTrash moves the message to the account's Trash mailbox (the
	// \Trash special-use one, else one with a well-known trash name);
	// without one, rm is refused rather than expunge by surprise. In the
	// Trash mailbox itself, rm expunges.
	DeleteTrash DeleteMode = iota
	// DeleteExpunge always expunges (STORE \Deleted + UID EXPUNGE of
	// exactly that UID).
	DeleteExpunge
)

// ParseDeleteMode reads the --delete flag.
func ParseDeleteMode(s string) (DeleteMode, error) {
	switch s {
	case "", "trash":
		return DeleteTrash, nil
	case "expunge":
		return DeleteExpunge, nil
	}
	return 0, fmt.Errorf("--delete must be trash or expunge, not %q", s)
}

// trashNames are the names servers and clients give a trash mailbox when
// it carries no \Trash attribute: English and the localised forms of
// common servers (Dovecot and Cyrus defaults, Exchange/Outlook, Gmail
// and Google Mail, Apple, Thunderbird), compared case-insensitively, at
// the top or under INBOX.
var trashNames = []string{
	"Trash", "Deleted Items", "Deleted Messages", "Deleted", "Bin",
	"[Gmail]/Trash", "[Gmail]/Bin", "[Google Mail]/Trash", "[Google Mail]/Bin",
	"Papierkorb", "Gelöschte Elemente", "Gelöschte Objekte", // de
	"Corbeille", "Éléments supprimés", // fr
	"Papelera", "Elementos eliminados", // es
	"Cestino", "Posta eliminata", // it
	"Prullenbak", "Verwijderde items", // nl
	"Lixeira", "Lixo", "Itens excluídos", // pt
	"Kosz", "Elementy usunięte", // pl
	"Papperskorgen", "Borttagna objekt", // sv
	"Papirkurv", "Slettede elementer", // da, nb
	"Roskakori", "Poistetut", // fi
	"Koš", "Odstraněná pošta", // cs
	"Корзина", "Удаленные", // ru
	"ゴミ箱", "削除済みアイテム", // ja
	"已删除邮件", "垃圾箱", // zh
}

// findTrash picks the Trash mailbox of a listing: the \Trash special-use
// mailbox, else the first well-known name, else "".
func findTrash(list []MailboxInfo) string {
	for _, mb := range list {
		if mb.SpecialUse == `\Trash` && !mb.NoSelect {
			return mb.Name
		}
	}
	for _, want := range trashNames {
		for _, mb := range list {
			if mb.NoSelect {
				continue
			}
			name := mb.Name
			if mb.Delim != 0 && mb.Delim != '/' {
				name = strings.ReplaceAll(name, string(mb.Delim), "/")
			}
			if strings.EqualFold(name, want) || strings.EqualFold(name, "INBOX/"+want) {
				return mb.Name
			}
		}
	}
	return ""
}

// Trash is the mailbox rm moves mail to ("" when there is none).
func (a *Account) Trash(ctx context.Context) (string, error) {
	if err := a.tree.refresh(ctx); err != nil {
		return "", err
	}
	return a.tree.trashName(), nil
}

// RemovePolicy says in words where rm sends mail, for mailfs status.
func (a *Account) RemovePolicy(ctx context.Context) string {
	if a.readOnly {
		return "refused (read-only)"
	}
	if a.deleteMode == DeleteExpunge {
		return "expunges (--delete=expunge)"
	}
	trash, err := a.Trash(ctx)
	switch {
	case err != nil:
		return "moves to Trash (not known yet: " + err.Error() + ")"
	case trash == "":
		return "refused: no Trash mailbox (create one, or mount with --delete=expunge)"
	}
	return "moves to " + trash + " (expunges in " + trash + " itself)"
}

// errNoTrash refuses rm where it would expunge by surprise.
var errNoTrash = fmt.Errorf("%w: rm moves mail to a Trash mailbox and this account has none; create one (mkdir MOUNTPOINT/Trash) or mount with --delete=expunge", ErrUnsafe)

// Remove deletes a message the way the user chose (--delete): a move to
// Trash, or an expunge of exactly that UID (in Trash itself, or with
// --delete=expunge). Without a Trash mailbox it is refused.
func (m *Mailbox) Remove(ctx context.Context, r Ref) error {
	return m.remove(ctx, r, false)
}

// vanished forgets message r when a removal found it gone already (an
// earlier try whose answer was lost, another client), and passes err on.
func (m *Mailbox) vanished(r Ref, err error) error {
	if errors.Is(err, ErrNotFound) {
		m.removed(r)
	}
	return err
}

func (m *Mailbox) remove(ctx context.Context, r Ref, superseded bool) error {
	return m.vanished(r, m.removeNow(ctx, r, superseded))
}

func (m *Mailbox) removeNow(ctx context.Context, r Ref, superseded bool) error {
	if m.acct.readOnly {
		return ErrReadOnly
	}
	name := m.Name()
	if m.acct.deleteMode == DeleteTrash {
		trash, err := m.acct.Trash(ctx)
		if err != nil {
			return err
		}
		if trash == "" && !superseded {
			return errNoTrash
		}
		if trash != "" && trash != name {
			e, ok := m.Current(r)
			if !ok {
				e = Entry{Message: Message{UID: r.UID}, UIDValidity: r.UIDValidity}
			}
			_, err := m.moveTo(ctx, e, m.acct.Mailbox(trash), "moved message to Trash")
			return err
		}
	}
	if err := m.acct.backend.Expunge(ctx, name, r.UIDValidity, r.UID); err != nil {
		return err
	}
	m.acct.log.Info("expunged message", "mailbox", name, "uid", r.UID)
	m.removed(r)
	return nil
}

// Supersede removes an old version of a message after its new version was
// stored: to Trash when there is one (in Trash itself, and without one,
// expunged), since the mail lives on in the new version. A message that
// is gone already is not an error.
func (m *Mailbox) Supersede(ctx context.Context, r Ref) error {
	return gone(m.remove(ctx, r, true))
}

// Discard expunges exactly a version this mount stored on the way to a
// file's final bytes (a `>>` loop, an editor saving twice), so Trash does
// not fill with drafts. A message that is gone already is not an error.
func (m *Mailbox) Discard(ctx context.Context, r Ref) error {
	if m.acct.readOnly {
		return ErrReadOnly
	}
	if err := m.acct.backend.Expunge(ctx, m.Name(), r.UIDValidity, r.UID); err != nil {
		return gone(m.vanished(r, err))
	}
	m.acct.log.Info("expunged a version this mount stored on the way", "mailbox", m.Name(), "uid", r.UID)
	m.removed(r)
	return nil
}

// gone turns "no longer there" into success for removals: a message that
// is gone (or whose UIDVALIDITY went) cannot be removed twice.
func gone(err error) error {
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrStale) {
		return nil
	}
	return err
}
