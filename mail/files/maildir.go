package files

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mailfs/mail"
)

// The .maildir view: every mailbox as a Maildir (cur/, new/, tmp/) over
// the same messages and the same files. new/ holds the unseen messages
// that arrived while mounted (or carry \Recent) until a client moves them
// to cur/; tmp/ holds files of this mount only, until a client renames
// one into new/ or cur/: then it is stored, through the one commit path,
// with the flags its name says.

// The subdirectories of a Maildir.
const (
	MaildirCur = "cur"
	MaildirNew = "new"
	MaildirTmp = "tmp"
)

// tmpPrefix marks the files of a Maildir's tmp/ among a mailbox's files:
// a name no file of the .eml view can have (it holds a "/").
const tmpPrefix = "\x00tmp/"

// maildirState is what the .maildir view knows of one mailbox beyond the
// server; guarded by Model.mu.
type maildirState struct {
	new     map[mail.Ref]bool   // shown in new/
	moved   map[mail.Ref]bool   // a client moved it to cur/: never new again
	alias   map[string]mail.Ref // a unique part a client delivered under -> the message stored
	aliasOf map[mail.Ref]string // and back: the message keeps that unique part for the mount's life
	info    map[mail.Ref]bool   // in new/ under a name with ":2,FLAGS" (mdeliver's): shown so
}

// delivery is a file a client renamed from tmp/ into new/ or cur/, until
// it is stored: shown there under the name the client gave it.
type delivery struct {
	sub, name string
}

func (d *Dir) _md() *maildirState {
	if d.md == nil {
		d.md = &maildirState{new: map[mail.Ref]bool{}, moved: map[mail.Ref]bool{}, alias: map[string]mail.Ref{},
			aliasOf: map[mail.Ref]string{}, info: map[mail.Ref]bool{}}
		d._loadMaildir(d.md)
	}
	return d.md
}

// _maildirSub says whether message e shows in new/ or cur/; m.mu held.
func (d *Dir) _maildirSub(e mail.Entry) string {
	md := d._md()
	r := e.Ref()
	if md.moved[r] {
		return MaildirCur
	}
	has := func(flag string) bool {
		return slices.ContainsFunc(e.Flags, func(f string) bool { return strings.EqualFold(f, flag) })
	}
	// Put in new/ by a client, or arrived unseen while mounted: new/
	// until a client moves it; the server's \Recent: while unseen.
	if md.new[r] || has(`\Recent`) && !has(`\Seen`) {
		return MaildirNew
	}
	return MaildirCur
}

// _maildirUnique is the unique part message e shows under; m.mu held.
func (m *Model) _maildirUnique(md *maildirState, e mail.Entry) string {
	if u, ok := md.aliasOf[e.Ref()]; ok {
		return u
	}
	return MaildirUnique(e)
}

// _maildirName is message e's name in sub: under the unique part a
// client delivered it as, if one did, else its own; m.mu held.
func (d *Dir) _maildirName(e mail.Entry, sub string) string {
	unique, ok := d._md().aliasOf[e.Ref()]
	if !ok {
		unique = MaildirUnique(e)
	}
	letters := MaildirFlags(e.Flags)
	if sub == MaildirNew && letters == "" && !d._md().info[e.Ref()] {
		return unique // new mail, as delivered (mdeliver's "NAME:2," kept as it is)
	}
	return unique + ":2," + letters
}

// MaildirItem is a name of a Maildir subdirectory: a message (Entry), a
// file of tmp/, or a delivery on its way (File).
type MaildirItem = Item

// MaildirList lists a Maildir subdirectory of mailbox mb.
func (m *Model) MaildirList(ctx context.Context, mb *mail.Mailbox, sub string) ([]Item, error) {
	if sub == MaildirTmp {
		m.mu.Lock()
		defer m.mu.Unlock()
		var out []Item
		for name, f := range m._dir(mb).files {
			if n, ok := strings.CutPrefix(name, tmpPrefix); ok {
				out = append(out, Item{Name: n, File: f})
			}
		}
		return out, nil
	}
	entries, err := mb.Entries(ctx)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m._dir(mb)
	var out []Item
	for _, f := range d.files {
		if f.delivery != nil && f.delivery.sub == sub {
			out = append(out, Item{Name: f.delivery.name, File: f})
		}
	}
	for _, e := range entries {
		if g := m.byRef[vkey{mb.ID(), e.Ref()}]; g != nil && !g.dropped && g.delivery != nil {
			continue // shown under the name its client gave it
		}
		if d._maildirSub(e) == sub {
			out = append(out, Item{Name: d._maildirName(e, sub), Entry: e, Message: true})
		}
	}
	return out, nil
}

// MaildirLookup finds what name opens in a Maildir subdirectory of mb: a
// message by its whole name, or by its unique part alone (clients look up
// the unique part after a flag change).
func (m *Model) MaildirLookup(ctx context.Context, mb *mail.Mailbox, sub, name string) (Item, bool, error) {
	m.mu.Lock()
	d := m._dir(mb)
	if sub == MaildirTmp {
		f := d.files[tmpPrefix+name]
		m.mu.Unlock()
		return Item{Name: name, File: f}, f != nil, nil
	}
	for _, f := range d.files {
		if f.delivery != nil && f.delivery.sub == sub && f.delivery.name == name {
			m.mu.Unlock()
			return Item{Name: name, File: f}, true, nil
		}
	}
	unique, _, hasInfo := ParseMaildirName(name)
	ref, ok := d._md().alias[unique]
	if !ok {
		ref, ok = ParseMaildirUnique(unique)
	}
	m.mu.Unlock()
	if !ok {
		return Item{}, false, nil
	}
	e, found, err := mb.Lookup(ctx, ref.UID)
	if err != nil || !found || e.UIDValidity != ref.UIDValidity {
		return Item{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if d._maildirSub(e) != sub {
		return Item{}, false, nil
	}
	own := d._maildirName(e, sub)
	if hasInfo && name != own && unique != name {
		return Item{}, false, nil // a name it had before a flag change
	}
	return Item{Name: own, Entry: e, Message: true}, true, nil
}

// MaildirCreate makes a file in tmp/: it stays in this mount until a
// client renames it into new/ or cur/.
func (m *Model) MaildirCreate(mb *mail.Mailbox, sub, name string) (*Handle, error) {
	if sub != MaildirTmp {
		return nil, fmt.Errorf("%w: new files go into tmp/ and are renamed into new/ or cur/", mail.ErrDenied)
	}
	return m.Create(mb, tmpPrefix+name)
}

// MaildirUnlink removes a name of a Maildir subdirectory: a file of
// tmp/, or a message, as rm does.
func (m *Model) MaildirUnlink(ctx context.Context, mb *mail.Mailbox, sub, name string) error {
	if sub == MaildirTmp {
		return m.Unlink(ctx, mb, tmpPrefix+name)
	}
	it, ok, err := m.MaildirLookup(ctx, mb, sub, name)
	if err != nil {
		return err
	}
	if !ok {
		return mail.ErrNotFound
	}
	if it.File != nil {
		return m.unlinkFile(ctx, it.File, it.File.Name())
	}
	if m.Editing(mb, it.Entry.Ref()) != nil {
		return ErrBusy // removed now, the new version would bring it back
	}
	emlName := m.NameOf(mb, it.Entry)
	if err := mb.Remove(ctx, it.Entry.Ref()); err != nil && !errors.Is(err, mail.ErrNotFound) {
		return err
	}
	m.mu.Lock()
	m._notify(mb, emlName) // the kernel may still hold the message's name in the mail tree
	m.mu.Unlock()
	return nil
}

// MaildirRename is a rename between Maildir subdirectories:
//   - tmp/ to new/ or cur/ (delivery, a save, a postponed draft): the
//     file is stored in that mailbox once, with the flags its name says;
//   - a message within its mailbox: its flags become what the new name
//     says (UID STORE of the difference), and it moves between new/ and
//     cur/;
//   - a message to another mailbox's new/ or cur/ (refile): UID MOVE,
//     then the flags the name says.
//
// A message moved to another mailbox is returned as it is there.
func (m *Model) MaildirRename(ctx context.Context, src *mail.Mailbox, ssub, name string, dst *mail.Mailbox, dsub, newName string) (mail.Entry, error) {
	moved, err := m.maildirRename(ctx, src, ssub, name, dst, dsub, newName)
	if dst == src {
		moved = mail.Entry{}
	}
	return moved, err
}

func (m *Model) maildirRename(ctx context.Context, src *mail.Mailbox, ssub, name string, dst *mail.Mailbox, dsub, newName string) (mail.Entry, error) {
	_, letters, hasInfo := ParseMaildirName(newName)
	if dsub != MaildirTmp {
		if err := checkMaildirName(newName); err != nil {
			return mail.Entry{}, err
		}
	}
	if ssub == MaildirTmp {
		if dsub == MaildirTmp {
			_, err := m.Rename(ctx, src, tmpPrefix+name, dst, tmpPrefix+newName, false)
			return mail.Entry{}, err
		}
		return mail.Entry{}, m.deliver(ctx, src, name, dst, dsub, newName, letters)
	}
	if dsub == MaildirTmp {
		return mail.Entry{}, fmt.Errorf("%w: a message cannot go back to tmp/", mail.ErrDenied)
	}
	it, ok, err := m.MaildirLookup(ctx, src, ssub, name)
	if err != nil {
		return mail.Entry{}, err
	}
	if !ok {
		return mail.Entry{}, mail.ErrNotFound
	}
	if it.File != nil {
		// A delivery still on its way: it goes where it is renamed to,
		// and over a message it replaces that one once stored.
		over, exists, err := m.MaildirLookup(ctx, dst, dsub, newName)
		if err != nil {
			return mail.Entry{}, err
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		f := it.File
		if dst != src {
			return mail.Entry{}, fmt.Errorf("%w: still being stored; try again", mail.ErrTryLater)
		}
		if exists && over.Message && over.File == nil {
			v := version{mb: dst, entry: over.Entry, over: true}
			v.ours = m.ours[v.key()]
			f.versions = append([]version{v}, f.versions...)
			m.byRef[v.key()] = f
			m._kick(f)
		}
		f.delivery = &delivery{sub: dsub, name: newName}
		f.dir.touched = time.Now()
		if hasInfo {
			flags, _ := f._flagsDate()
			f.flags, f.flagsSet = FlagsFromLetters(flags, letters), true
		}
		return mail.Entry{}, nil
	}
	e := it.Entry
	// Over another message's name (Python's mailbox.Maildir replaces a
	// message so): that one goes once this one is in place, and this one
	// takes its unique part.
	over, exists, err := m.MaildirLookup(ctx, dst, dsub, newName)
	if err != nil {
		return mail.Entry{}, err
	}
	if exists && (!over.Message || over.Entry.Ref() == e.Ref() && dst == src) {
		exists = false
	}
	if dst != src {
		if m.Editing(src, e.Ref()) != nil {
			// Moved now, the old bytes would go and the new version be
			// stored where the message was.
			return mail.Entry{}, ErrBusy
		}
		emlName := m.NameOf(src, e)
		moved, err := src.Move(ctx, e, dst)
		if err != nil {
			return mail.Entry{}, err
		}
		m.mu.Lock()
		m._notify(src, emlName) // the kernel may still hold the message's name in the mail tree
		m.mu.Unlock()
		e = moved
		if e.UID == 0 {
			return e, nil
		}
	}
	if f := m.Editing(dst, e.Ref()); hasInfo && f != nil && f.Pending() {
		// A new version is being written or stored (within its mailbox:
		// a move away is refused above): the flags go with it, as a
		// setxattr's do.
		want := FlagsFromLetters(mail.SettableFlags(f.Flags()), letters)
		f.SetFlags(want)
		e.Flags = want
	} else if hasInfo {
		want := FlagsFromLetters(mail.SettableFlags(e.Flags), letters)
		if !slices.Equal(want, FlagsFromLetters(mail.SettableFlags(e.Flags), MaildirFlags(e.Flags))) {
			if err := dst.SetFlags(ctx, e, want); err != nil {
				return e, err
			}
			e.Flags = want
		}
	}
	if exists {
		if err := dst.Supersede(ctx, over.Entry.Ref()); err != nil {
			return e, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m._dir(src).touched, m._dir(dst).touched = time.Now(), time.Now()
	md := m._dir(dst)._md()
	r := e.Ref()
	// The unique part the client chose stays the message's name for the
	// mount's life (Python's mailbox renames a new message to the key of
	// the one it replaces).
	if unique, _, _ := ParseMaildirName(newName); unique != m._maildirUnique(md, e) {
		md.alias[unique], md.aliasOf[r] = r, unique
	}
	if dsub == MaildirCur {
		md.moved[r], md.new[r] = true, false
	} else {
		md.new[r], md.moved[r] = true, false
	}
	md.info[r] = dsub == MaildirNew && hasInfo
	m._dir(dst)._keepMaildir()
	return e, nil
}

// deliver stores a file of tmp/ renamed into new/ or cur/ of dst.
func (m *Model) deliver(ctx context.Context, src *mail.Mailbox, name string, dst *mail.Mailbox, dsub, newName, letters string) error {
	unique, _, _ := ParseMaildirName(newName)
	storeName := deliveryName(unique)
	// Where it shows and its flags are set before the rename lets it go
	// to the server: the store takes them.
	m.mu.Lock()
	f := m._dir(src).files[tmpPrefix+name]
	if f == nil {
		m.mu.Unlock()
		return mail.ErrNotFound
	}
	oldDelivery, oldFlags, oldSet := f.delivery, f.flags, f.flagsSet
	f.delivery = &delivery{sub: dsub, name: newName}
	f.flags, f.flagsSet = FlagsFromLetters(nil, letters), true
	m.mu.Unlock()
	if _, err := m.Rename(ctx, src, tmpPrefix+name, dst, storeName, false); err != nil {
		m.mu.Lock()
		f.delivery, f.flags, f.flagsSet = oldDelivery, oldFlags, oldSet
		m.mu.Unlock()
		return err
	}
	return nil
}

// deliveryName is the .eml name a delivered file is stored under: a
// client's unique part, made a file name of the .eml view.
func deliveryName(unique string) string {
	s := strings.Map(func(r rune) rune {
		if r == '/' || r < 0x20 || r == ':' {
			return '_'
		}
		return r
	}, unique)
	return "maildir-" + s + ".eml"
}

// _settleDelivery records where a delivered file's message shows once it
// is stored; m.mu held.
func (m *Model) _settleDelivery(f *File, cur version) {
	if f.delivery == nil {
		return
	}
	md := f.dir._md()
	unique, _, _ := ParseMaildirName(f.delivery.name)
	r := cur.entry.Ref()
	md.alias[unique], md.aliasOf[r] = r, unique
	if f.delivery.sub == MaildirNew {
		md.new[r] = true
		_, _, md.info[r] = ParseMaildirName(f.delivery.name)
	} else {
		md.moved[r] = true
	}
	f.dir._keepMaildir()
}

// MaildirNoteArrivals marks unseen messages that arrived while mounted as
// new (from the mail model's Change).
func (m *Model) maildirObserve(d *Dir, c mail.Change) {
	added := false
	for _, e := range c.Added {
		if !slices.ContainsFunc(e.Flags, func(f string) bool { return strings.EqualFold(f, `\Seen`) }) {
			d._md().new[e.Ref()] = true
			added = true
		}
	}
	if added {
		d._keepMaildir()
	}
	if c.Reset {
		d.md = nil
	}
}
