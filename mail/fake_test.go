package mail

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// fake is an in-memory Backend: mailboxes of messages with UIDs, the
// IMAP rules the model relies on (UIDs ascend, UIDVALIDITY changes void
// them), and hooks to make it fail or race.
type fake struct {
	mu    sync.Mutex
	boxes map[string]*fakeBox
	calls map[string]int
	// onMessages runs inside Messages after the listing is taken and
	// before it is returned: a change made there races a listing in
	// flight.
	onMessages func()
	// appendFailures makes that many APPENDs fail as unreachable.
	appendFailures int
	stores         [][2][]string     // StoreFlags calls: add, remove
	special        map[string]string // mailbox -> special-use attribute
	// down makes every read fail as unreachable.
	down bool
}

type fakeBox struct {
	validity uint32
	next     uint32
	msgs     map[uint32]*fakeMsg
}

type fakeMsg struct {
	Message
	body []byte
}

func newFake(names ...string) *fake {
	f := &fake{boxes: map[string]*fakeBox{}, calls: map[string]int{}}
	for i, n := range names {
		f.boxes[n] = &fakeBox{validity: uint32(100 + i), next: 1, msgs: map[uint32]*fakeMsg{}}
	}
	return f
}

// add stores a message as another client would; body is its bytes, size
// what the server reports.
func (f *fake) add(box, subject string, body string, size int64) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.boxes[box]
	uid := b.next
	b.next++
	b.msgs[uid] = &fakeMsg{Message: Message{UID: uid, Size: size, Subject: subject, InternalDate: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, body: []byte(body)}
	return uid
}

func (f *fake) expunge(box string, uid uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.boxes[box].msgs, uid)
}

func (f *fake) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fake) box(name string) (*fakeBox, error) {
	b, ok := f.boxes[name]
	if !ok {
		return nil, fmt.Errorf("mailbox %q: %w", name, ErrNotFound)
	}
	return b, nil
}

func (b *fakeBox) state() State {
	return State{UIDValidity: b.validity, UIDNext: b.next, Messages: uint32(len(b.msgs))}
}

func (b *fakeBox) sorted() []Message {
	var out []Message
	for _, m := range b.msgs {
		out = append(out, m.Message)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out
}

func (f *fake) Mailboxes(ctx context.Context) ([]MailboxInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["LIST"]++
	if f.down {
		return nil, ErrUnavailable
	}
	var out []MailboxInfo
	for n := range f.boxes {
		out = append(out, MailboxInfo{Name: n, Delim: '/', SpecialUse: f.special[n]})
	}
	return out, nil
}

func (f *fake) Messages(ctx context.Context, mailbox string) (*Listing, error) {
	f.mu.Lock()
	f.calls["LISTING"]++
	if f.down {
		f.mu.Unlock()
		return nil, ErrUnavailable
	}
	b, err := f.box(mailbox)
	if err != nil {
		f.mu.Unlock()
		return nil, err
	}
	l := &Listing{UIDValidity: b.validity, State: b.state(), Messages: b.sorted()}
	hook := f.onMessages
	f.onMessages = nil
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	return l, nil
}

func (f *fake) Changes(ctx context.Context, mailbox string, since State, known int, allFlags bool) (*Delta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["STATUS"]++
	if f.down {
		return nil, ErrUnavailable
	}
	b, err := f.box(mailbox)
	if err != nil {
		return nil, err
	}
	st := b.state()
	d := &Delta{State: st}
	if st.UIDValidity != since.UIDValidity {
		d.Reset = true
		return d, nil
	}
	if st == since && !allFlags {
		d.Unchanged = true
		return d, nil
	}
	for _, m := range b.sorted() {
		if m.UID >= since.UIDNext {
			d.New = append(d.New, m)
		}
	}
	if older := int(st.Messages) - len(d.New); older != known {
		f.calls["SEARCH"]++
		d.Present = map[uint32]bool{}
		for uid := range b.msgs {
			d.Present[uid] = true
		}
	}
	if allFlags {
		d.Flags = map[uint32][]string{}
		for uid, m := range b.msgs {
			d.Flags[uid] = m.Flags
		}
	}
	return d, nil
}

func (f *fake) Message(ctx context.Context, mailbox string, uid uint32) (uint32, Message, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["FETCH1"]++
	b, err := f.box(mailbox)
	if err != nil {
		return 0, Message{}, false, err
	}
	m, ok := b.msgs[uid]
	if !ok {
		return b.validity, Message{}, false, nil
	}
	return b.validity, m.Message, true, nil
}

func (f *fake) get(mailbox string, validity, uid uint32) (*fakeMsg, error) {
	b, err := f.box(mailbox)
	if err != nil {
		return nil, err
	}
	if b.validity != validity {
		return nil, ErrStale
	}
	m, ok := b.msgs[uid]
	if !ok {
		return nil, fmt.Errorf("uid %d: %w", uid, ErrNotFound)
	}
	return m, nil
}

func (f *fake) Body(ctx context.Context, mailbox string, validity, uid uint32) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["BODY"]++
	if f.down {
		return nil, ErrUnavailable
	}
	m, err := f.get(mailbox, validity, uid)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), m.body...), nil
}

func (f *fake) Range(ctx context.Context, mailbox string, validity, uid uint32, off, n int64) ([]byte, error) {
	f.mu.Lock()
	f.calls["RANGE"]++
	m, err := f.get(mailbox, validity, uid)
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	body := m.body
	if off >= int64(len(body)) {
		return nil, nil
	}
	return body[off:min(off+n, int64(len(body)))], nil
}

func (f *fake) Bodies(ctx context.Context, mailbox string, validity uint32, uids []uint32, each func(uint32, []byte)) error {
	for _, uid := range uids {
		b, err := f.Body(ctx, mailbox, validity, uid)
		if err != nil {
			return err
		}
		each(uid, b)
	}
	return nil
}

func (f *fake) Heads(ctx context.Context, mailbox string, validity uint32, uids []uint32, each func(uint32, []byte)) error {
	f.mu.Lock()
	f.calls["HEADS"]++
	f.mu.Unlock()
	return f.Bodies(ctx, mailbox, validity, uids, func(uid uint32, b []byte) { each(uid, HeadOf(b)) })
}

func (f *fake) CreateMailbox(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.boxes[name]; ok {
		return ErrExists
	}
	f.boxes[name] = &fakeBox{validity: uint32(1000 + len(f.boxes)), next: 1, msgs: map[uint32]*fakeMsg{}}
	return nil
}

func (f *fake) DeleteMailbox(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.box(name)
	if err != nil {
		return err
	}
	if len(b.msgs) > 0 {
		return ErrNotEmpty
	}
	delete(f.boxes, name)
	return nil
}

func (f *fake) RenameMailbox(ctx context.Context, from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, b := range f.boxes {
		if name == from || strings.HasPrefix(name, from+"/") {
			delete(f.boxes, name)
			f.boxes[to+name[len(from):]] = b
		}
	}
	return nil
}

func (f *fake) Append(ctx context.Context, mailbox string, body []byte, flags []string, date time.Time) (Placed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["APPEND"]++
	if f.appendFailures > 0 {
		f.appendFailures--
		return Placed{}, fmt.Errorf("APPEND: %w: connection reset", ErrUnavailable)
	}
	b, err := f.box(mailbox)
	if err != nil {
		return Placed{}, err
	}
	uid := b.next
	b.next++
	b.msgs[uid] = &fakeMsg{Message: Message{UID: uid, Flags: flags, Size: int64(len(body)), InternalDate: date}, body: append([]byte(nil), body...)}
	return Placed{Mailbox: mailbox, UIDValidity: b.validity, UID: uid}, nil
}

func (f *fake) StoreFlags(ctx context.Context, mailbox string, validity, uid uint32, add, remove []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.get(mailbox, validity, uid)
	if err != nil {
		return err
	}
	f.stores = append(f.stores, [2][]string{add, remove})
	flags := append([]string(nil), m.Flags...)
	flags = append(flags, add...)
	var kept []string
	for _, fl := range flags {
		drop := false
		for _, r := range remove {
			drop = drop || strings.EqualFold(fl, r)
		}
		if !drop {
			kept = append(kept, fl)
		}
	}
	m.Flags = kept
	return nil
}

func (f *fake) Expunge(ctx context.Context, mailbox string, validity, uid uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["EXPUNGE"]++
	if _, err := f.get(mailbox, validity, uid); err != nil {
		return err
	}
	delete(f.boxes[mailbox].msgs, uid)
	return nil
}

func (f *fake) Move(ctx context.Context, from string, validity, uid uint32, to string) (Placed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.get(from, validity, uid)
	if err != nil {
		return Placed{}, err
	}
	dst, err := f.box(to)
	if err != nil {
		return Placed{}, err
	}
	delete(f.boxes[from].msgs, uid)
	nu := dst.next
	dst.next++
	moved := *m
	moved.UID = nu
	dst.msgs[nu] = &moved
	return Placed{Mailbox: to, UIDValidity: dst.validity, UID: nu}, nil
}

func (f *fake) Copy(ctx context.Context, from string, validity, uid uint32, to string) (Placed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["COPY"]++
	m, err := f.get(from, validity, uid)
	if err != nil {
		return Placed{}, err
	}
	dst, err := f.box(to)
	if err != nil {
		return Placed{}, err
	}
	nu := dst.next
	dst.next++
	c := *m
	c.UID = nu
	c.Flags = append([]string(nil), m.Flags...)
	dst.msgs[nu] = &c
	return Placed{Mailbox: to, UIDValidity: dst.validity, UID: nu}, nil
}

// Search evaluates a query the simple way: text, body and subject as
// substrings, flags; enough for the model's tests.
func (f *fake) Search(ctx context.Context, mailboxes []string, q *Query) ([]Found, error) {
	var out []Found
	for _, mb := range mailboxes {
		validity, msgs, err := f.search(mb, q)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(msgs) > 0 {
			out = append(out, Found{Mailbox: mb, UIDValidity: validity, Messages: msgs})
		}
	}
	return out, nil
}

func (f *fake) search(mailbox string, q *Query) (uint32, []Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["SEARCH "+mailbox]++
	b, err := f.box(mailbox)
	if err != nil {
		return 0, nil, err
	}
	var eval func(n Node, m *fakeMsg) bool
	eval = func(n Node, m *fakeMsg) bool {
		switch x := n.(type) {
		case nil:
			return true
		case Match:
			switch x.Field {
			case "text", "body":
				return strings.Contains(strings.ToLower(string(m.body)), strings.ToLower(x.Value))
			case "subject":
				return strings.Contains(strings.ToLower(m.Subject), strings.ToLower(x.Value))
			case "flag", "noflag":
				has := false
				for _, fl := range m.Flags {
					has = has || strings.EqualFold(fl, x.Value)
				}
				return has == (x.Field == "flag")
			}
			return false
		case Not:
			return !eval(x.X, m)
		case And:
			for _, y := range x {
				if !eval(y, m) {
					return false
				}
			}
			return true
		case Or:
			for _, y := range x {
				if eval(y, m) {
					return true
				}
			}
		}
		return false
	}
	var out []Message
	for _, m := range b.msgs {
		if eval(q.Root, m) {
			out = append(out, m.Message)
		}
	}
	return b.validity, out, nil
}
