// Package mailtest has an in-memory mail.Backend for tests of the models
// above the backend: mailboxes of messages with UIDs, the IMAP rules the
// models rely on (UIDs ascend, a new UIDVALIDITY voids them), faults
// injected at any call, and a record of every UID a command named that
// was never listed in that mailbox.
package mailtest

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"time"

	"mailfs/mail"
)

// Fault is what the next call of an operation does instead of working.
type Fault int

const (
	// Unreachable: the call fails as a dropped connection, having done
	// nothing (before an APPEND's literal).
	Unreachable Fault = iota + 1
	// LostAnswer: the call takes effect, then fails as a dropped
	// connection (after an APPEND's literal): the caller cannot know.
	LostAnswer
	// Refused: a NO without a response code.
	Refused
	// OverQuota: a NO [OVERQUOTA].
	OverQuota
)

// Fake is the in-memory backend.
type Fake struct {
	mu     sync.Mutex // protects the following
	boxes  map[string]*box
	faults map[string][]Fault
	calls  map[string]int
	// listed: every (mailbox, UIDVALIDITY, UID) the fake ever reported.
	listed     map[key]bool
	violations []string
	trash      string
	nextValid  uint32
}

type key struct {
	box      string
	validity uint32
	uid      uint32
}

type box struct {
	validity uint32
	next     uint32
	msgs     map[uint32]*msg
}

type msg struct {
	mail.Message
	body []byte
}

// New makes a fake with these mailboxes; trash ("" for none) is marked
// \Trash.
func New(trash string, names ...string) *Fake {
	f := &Fake{boxes: map[string]*box{}, faults: map[string][]Fault{}, calls: map[string]int{},
		listed: map[key]bool{}, trash: trash, nextValid: 100}
	for _, n := range names {
		f.boxes[n] = f.newBox()
	}
	if trash != "" && f.boxes[trash] == nil {
		f.boxes[trash] = f.newBox()
	}
	return f
}

func (f *Fake) newBox() *box {
	f.nextValid++
	return &box{validity: f.nextValid, next: 1, msgs: map[uint32]*msg{}}
}

// Add stores a message as another client would and returns its UID.
func (f *Fake) Add(mailbox string, body []byte) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.add(f.boxes[mailbox], body, nil, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

func (f *Fake) add(b *box, body []byte, flags []string, date time.Time) uint32 {
	uid := b.next
	b.next++
	b.msgs[uid] = &msg{Message: mail.Message{UID: uid, Flags: flags, Size: int64(len(body)), InternalDate: date,
		Subject: subjectOf(body)}, body: append([]byte(nil), body...)}
	return uid
}

func subjectOf(body []byte) string {
	for _, line := range bytes.Split(body, []byte("\r\n")) {
		if len(line) == 0 {
			break
		}
		if s, ok := bytes.CutPrefix(line, []byte("Subject: ")); ok {
			return string(s)
		}
	}
	return ""
}

// Fail makes the next call of op (APPEND, COPY, MOVE, EXPUNGE, STORE,
// BODY, LIST, STATUS) fail with fault; several queue up.
func (f *Fake) Fail(op string, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[op] = append(f.faults[op], fault)
}

// ClearFaults drops every fault not used yet.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = map[string][]Fault{}
}

// NewValidity gives a mailbox a new UIDVALIDITY, its messages new UIDs.
func (f *Fake) NewValidity(mailbox string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.boxes[mailbox]
	b := f.newBox()
	uids := make([]uint32, 0, len(old.msgs))
	for uid := range old.msgs {
		uids = append(uids, uid)
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	for _, uid := range uids {
		m := old.msgs[uid]
		f.add(b, m.body, m.Flags, m.InternalDate)
	}
	f.boxes[mailbox] = b
}

// Held returns the bodies a mailbox holds, in UID order.
func (f *Fake) Held(mailbox string) [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out [][]byte
	for _, m := range f.sorted(f.boxes[mailbox]) {
		out = append(out, append([]byte(nil), f.boxes[mailbox].msgs[m.UID].body...))
	}
	return out
}

// Violations lists the commands that named a UID never listed in their
// mailbox under that UIDVALIDITY.
func (f *Fake) Violations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.violations...)
}

// Calls counts the calls of op.
func (f *Fake) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// _fault takes the next fault of op; f.mu held.
func (f *Fake) _fault(op string) Fault {
	f.calls[op]++
	q := f.faults[op]
	if len(q) == 0 {
		return 0
	}
	f.faults[op] = q[1:]
	return q[0]
}

func faultErr(op string, fault Fault) error {
	switch fault {
	case Unreachable, LostAnswer:
		return fmt.Errorf("%s: connection dropped: %w", op, mail.ErrUnavailable)
	case Refused:
		return fmt.Errorf("%s: %w: server said NO", op, mail.ErrRefused)
	case OverQuota:
		return fmt.Errorf("%s: %w", op, mail.ErrQuota)
	}
	return nil
}

func (f *Fake) sorted(b *box) []mail.Message {
	out := make([]mail.Message, 0, len(b.msgs))
	for _, m := range b.msgs {
		out = append(out, m.Message)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out
}

func (f *Fake) box(name string) (*box, error) {
	b, ok := f.boxes[name]
	if !ok {
		return nil, fmt.Errorf("mailbox %q: %w", name, mail.ErrNotFound)
	}
	return b, nil
}

// _report records that the client was told of these messages; f.mu held.
func (f *Fake) _report(mailbox string, validity uint32, uids ...uint32) {
	for _, uid := range uids {
		f.listed[key{mailbox, validity, uid}] = true
	}
}

// _named checks a UID a command names and finds its message; f.mu held.
func (f *Fake) _named(op, mailbox string, validity, uid uint32) (*box, *msg, error) {
	if !f.listed[key{mailbox, validity, uid}] {
		f.violations = append(f.violations, fmt.Sprintf("%s %s UIDVALIDITY %d UID %d: never listed there", op, mailbox, validity, uid))
	}
	b, err := f.box(mailbox)
	if err != nil {
		return nil, nil, err
	}
	if b.validity != validity {
		return nil, nil, fmt.Errorf("%s %s: %w", op, mailbox, mail.ErrStale)
	}
	m, ok := b.msgs[uid]
	if !ok {
		return b, nil, fmt.Errorf("%s %s uid %d: %w", op, mailbox, uid, mail.ErrNotFound)
	}
	return b, m, nil
}
