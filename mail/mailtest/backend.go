package mailtest

import (
	"context"
	"fmt"
	"time"

	"mailfs/mail"
)

var _ mail.Backend = (*Fake)(nil)

func (f *Fake) Mailboxes(ctx context.Context) ([]mail.MailboxInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := faultErr("LIST", f._fault("LIST")); err != nil {
		return nil, err
	}
	var out []mail.MailboxInfo
	for n := range f.boxes {
		info := mail.MailboxInfo{Name: n, Delim: '/'}
		if n == f.trash {
			info.SpecialUse = `\Trash`
		}
		out = append(out, info)
	}
	return out, nil
}

func (f *Fake) state(b *box) mail.State {
	return mail.State{UIDValidity: b.validity, UIDNext: b.next, Messages: uint32(len(b.msgs))}
}

func (f *Fake) Messages(ctx context.Context, mailbox string) (*mail.Listing, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := faultErr("LISTING", f._fault("LISTING")); err != nil {
		return nil, err
	}
	b, err := f.box(mailbox)
	if err != nil {
		return nil, err
	}
	l := &mail.Listing{UIDValidity: b.validity, State: f.state(b), Messages: f.sorted(b)}
	for _, m := range l.Messages {
		f._report(mailbox, b.validity, m.UID)
	}
	return l, nil
}

func (f *Fake) Changes(ctx context.Context, mailbox string, since mail.State, known int, allFlags bool) (*mail.Delta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := faultErr("STATUS", f._fault("STATUS")); err != nil {
		return nil, err
	}
	b, err := f.box(mailbox)
	if err != nil {
		return nil, err
	}
	st := f.state(b)
	d := &mail.Delta{State: st}
	if st.UIDValidity != since.UIDValidity {
		d.Reset = true
		return d, nil
	}
	d.Present, d.Flags = map[uint32]bool{}, map[uint32][]string{}
	for _, m := range f.sorted(b) {
		if m.UID >= since.UIDNext {
			d.New = append(d.New, m)
		}
		d.Present[m.UID] = true
		d.Flags[m.UID] = m.Flags
		f._report(mailbox, b.validity, m.UID)
	}
	return d, nil
}

func (f *Fake) Message(ctx context.Context, mailbox string, uid uint32) (uint32, mail.Message, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := faultErr("FETCH", f._fault("FETCH")); err != nil {
		return 0, mail.Message{}, false, err
	}
	b, err := f.box(mailbox)
	if err != nil {
		return 0, mail.Message{}, false, err
	}
	m, ok := b.msgs[uid]
	if !ok {
		return b.validity, mail.Message{}, false, nil
	}
	f._report(mailbox, b.validity, uid)
	return b.validity, m.Message, true, nil
}

func (f *Fake) Body(ctx context.Context, mailbox string, validity, uid uint32) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := faultErr("BODY", f._fault("BODY")); err != nil {
		return nil, err
	}
	_, m, err := f._named("BODY", mailbox, validity, uid)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), m.body...), nil
}

func (f *Fake) Range(ctx context.Context, mailbox string, validity, uid uint32, off, n int64) ([]byte, error) {
	b, err := f.Body(ctx, mailbox, validity, uid)
	if err != nil || off >= int64(len(b)) {
		return nil, err
	}
	return b[off:min(off+n, int64(len(b)))], nil
}

func (f *Fake) Bodies(ctx context.Context, mailbox string, validity uint32, uids []uint32, each func(uint32, []byte)) error {
	for _, uid := range uids {
		b, err := f.Body(ctx, mailbox, validity, uid)
		if err != nil {
			return err
		}
		each(uid, b)
	}
	return nil
}

func (f *Fake) Heads(ctx context.Context, mailbox string, validity uint32, uids []uint32, each func(uint32, []byte)) error {
	f.mu.Lock()
	f.calls["HEADS"]++
	f.mu.Unlock()
	return f.Bodies(ctx, mailbox, validity, uids, func(uid uint32, b []byte) { each(uid, mail.HeadOf(b)) })
}

func (f *Fake) Search(ctx context.Context, mailboxes []string, q *mail.Query) ([]mail.Found, error) {
	return nil, fmt.Errorf("search: %w", mail.ErrUnsupported)
}

func (f *Fake) CreateMailbox(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.boxes[name]; ok {
		return mail.ErrExists
	}
	f.boxes[name] = f.newBox()
	return nil
}

func (f *Fake) DeleteMailbox(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.box(name)
	if err != nil {
		return err
	}
	if len(b.msgs) > 0 {
		return mail.ErrNotEmpty
	}
	delete(f.boxes, name)
	return nil
}

func (f *Fake) RenameMailbox(ctx context.Context, from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.box(from)
	if err != nil {
		return err
	}
	delete(f.boxes, from)
	f.boxes[to] = b
	return nil
}

func (f *Fake) Append(ctx context.Context, mailbox string, body []byte, flags []string, date time.Time) (mail.Placed, error) {
	if err := ctx.Err(); err != nil {
		return mail.Placed{}, err // as a client given up on sends nothing
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fault := f._fault("APPEND")
	if fault != 0 && fault != LostAnswer {
		return mail.Placed{}, faultErr("APPEND", fault)
	}
	b, err := f.box(mailbox)
	if err != nil {
		return mail.Placed{}, err
	}
	uid := f.add(b, body, flags, date)
	if fault == LostAnswer {
		return mail.Placed{}, faultErr("APPEND", fault)
	}
	f._report(mailbox, b.validity, uid)
	return mail.Placed{Mailbox: mailbox, UIDValidity: b.validity, UID: uid}, nil
}

func (f *Fake) StoreFlags(ctx context.Context, mailbox string, validity, uid uint32, add, remove []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := faultErr("STORE", f._fault("STORE")); err != nil {
		return err
	}
	_, m, err := f._named("STORE", mailbox, validity, uid)
	if err != nil {
		return err
	}
	keep := []string{}
	for _, fl := range m.Flags {
		drop := false
		for _, r := range remove {
			drop = drop || r == fl
		}
		if !drop {
			keep = append(keep, fl)
		}
	}
	m.Flags = append(keep, add...)
	return nil
}

func (f *Fake) Expunge(ctx context.Context, mailbox string, validity, uid uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fault := f._fault("EXPUNGE")
	if fault != 0 && fault != LostAnswer {
		return faultErr("EXPUNGE", fault)
	}
	b, _, err := f._named("EXPUNGE", mailbox, validity, uid)
	if err != nil {
		return err
	}
	delete(b.msgs, uid)
	return faultErr("EXPUNGE", fault)
}

func (f *Fake) Copy(ctx context.Context, from string, validity, uid uint32, to string) (mail.Placed, error) {
	return f.copyOrMove("COPY", from, validity, uid, to, false)
}

func (f *Fake) Move(ctx context.Context, from string, validity, uid uint32, to string) (mail.Placed, error) {
	return f.copyOrMove("MOVE", from, validity, uid, to, true)
}

func (f *Fake) copyOrMove(op, from string, validity, uid uint32, to string, move bool) (mail.Placed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fault := f._fault(op)
	if fault != 0 && fault != LostAnswer {
		return mail.Placed{}, faultErr(op, fault)
	}
	sb, m, err := f._named(op, from, validity, uid)
	if err != nil {
		return mail.Placed{}, err
	}
	db, err := f.box(to)
	if err != nil {
		return mail.Placed{}, err
	}
	flags := m.Flags
	if !move {
		flags = nil
		for _, fl := range m.Flags {
			if fl != `\Deleted` {
				flags = append(flags, fl)
			}
		}
	}
	nu := f.add(db, m.body, flags, m.InternalDate)
	if move {
		delete(sb.msgs, uid)
	}
	if fault == LostAnswer {
		return mail.Placed{}, faultErr(op, fault)
	}
	f._report(to, db.validity, nu)
	return mail.Placed{Mailbox: to, UIDValidity: db.validity, UID: nu}, nil
}
