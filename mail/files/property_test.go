package files

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"mailfs/mail"
	"mailfs/mail/mailtest"
)

// The generated-sequence test of the file model (DESIGN.md §4): random
// operations on several files in three mailboxes, with several handles
// open, steps of storing taken in any order (a store still on its way
// when the next operation comes) and faults injected at any call, checked
// against a reference that is a map of names to inodes with POSIX
// semantics. `go test ./mail/files -run TestFileModelProperty
// -rapid.checks=20000` runs a longer search.

var (
	propBoxes = []string{"INBOX", "Drafts", "Other"}
	propNames = []string{"m1.eml", "m2.eml", "a.eml", "b.eml", "t.tmp", "b~"}
	// Faults fall on the commands of storing and removing more often.
	propOps = []string{"APPEND", "APPEND", "APPEND", "EXPUNGE", "EXPUNGE", "EXPUNGE", "MOVE", "MOVE", "MOVE",
		"COPY", "BODY", "LISTING", "STATUS", "FETCH"}
)

type refInode struct {
	data   string
	broken bool // a write failed: the file is unusable until rewritten from 0
}

type refPath struct{ box, name string }

func (p refPath) String() string { return p.box + "/" + p.name }

type refHandle struct {
	h   *Handle
	ino *refInode
}

// machine is the reference and the model under test, side by side.
type machine struct {
	e       *env
	names   map[refPath]*refInode
	handles []refHandle
	initial map[string]bool // bodies the server held at the start
	removed map[string]bool // what files held when they were removed or renamed over
	written int
	// delivered: messages clients put into the .maildir view
	delivered []*delivered
}

func newMachine(t *rapid.T) *machine {
	e := newEnv(t, mail.DeleteTrash, &queue{}, nil)
	s := &machine{e: e, names: map[refPath]*refInode{}, initial: map[string]bool{}, removed: map[string]bool{}}
	// One Message-ID for all: a message renamed over one with another
	// Message-ID is kept beside it (rsync onto a colliding name), which
	// the fs tests cover; here every message is a version of the others.
	for i, box := range []string{"INBOX", "INBOX", "Drafts"} {
		body := "Subject: initial\r\nMessage-ID: <same@example.com>\r\n\r\n" + fmt.Sprintf("first words %d of %s\r\n", i, box)
		uid := e.fake.Add(box, []byte(body))
		s.names[refPath{box, fmt.Sprintf("m%d.eml", uid)}] = &refInode{data: body}
		s.initial[body] = true
	}
	return s
}

func (s *machine) path(t *rapid.T, label string) refPath {
	return refPath{rapid.SampledFrom(propBoxes).Draw(t, label+" box"), rapid.SampledFrom(propNames).Draw(t, label+" name")}
}

// allowed reports whether an operation may fail with err, leaving
// everything as it was: a fault the test injected, or bad input.
func allowed(err error) bool {
	return mail.Transient(err) || errors.Is(err, mail.ErrRefused) || errors.Is(err, mail.ErrInvalid) ||
		errors.Is(err, mail.ErrQuota)
}

func (s *machine) open(t *rapid.T) {
	if len(s.handles) >= 6 {
		t.Skip("enough handles open")
	}
	p := s.path(t, "open")
	trunc := rapid.Bool().Draw(t, "trunc")
	ino, exists := s.names[p]
	s.unknownName(t, exists)
	h, err := s.e.open(p.box, p.name, trunc)
	if err != nil {
		if allowed(err) {
			return
		}
		t.Fatalf("open %s: %v", p, err)
	}
	if !exists {
		ino = &refInode{}
		s.names[p] = ino
	}
	if trunc {
		ino.data, ino.broken = "", false
	}
	s.handles = append(s.handles, refHandle{h, ino})
}

// unknownName skips an operation on a name the reference does not know
// while an APPEND whose answer was lost may show under its own name.
func (s *machine) unknownName(t *rapid.T, known bool) {
	if !known && s.e.m.lostAnswers() {
		t.Skip("a message whose APPEND was not answered may show under this name")
	}
	if !known && len(s.delivered) > 0 {
		t.Skip("a message delivered through .maildir shows in the .eml view under a name of its own")
	}
}

func (s *machine) handle(t *rapid.T) (int, bool) {
	if len(s.handles) == 0 {
		return 0, false
	}
	return rapid.IntRange(0, len(s.handles)-1).Draw(t, "handle"), true
}

func (s *machine) write(t *rapid.T) {
	i, ok := s.handle(t)
	if !ok {
		t.Skip("no handle")
	}
	rh := s.handles[i]
	f := rh.h.File()
	switch rapid.IntRange(0, 4).Draw(t, "write kind") {
	case 4: // a line, then a write past what a message may be (EFBIG):
		// the file breaks, and nothing of it (not that line) is stored
		if !rh.ino.broken {
			line := fmt.Sprintf("line %d before a failed write\r\n", s.written)
			s.written++
			if err := f.Write(bg, []byte(line), int64(len(rh.ino.data))); err != nil {
				if allowed(err) {
					return
				}
				t.Fatalf("append: %v", err)
			}
			rh.ino.data += line
		}
		err := f.Write(bg, []byte("x"), mail.MaxMessageBytes)
		if err != nil && allowed(err) {
			return // a fault while loading the bytes: nothing changed
		}
		if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrBroken) {
			t.Fatalf("a write past the bound: %v", err)
		}
		rh.ino.broken = true
	case 0, 1: // the whole file anew: an editor's save
		s.written++
		body := msg(fmt.Sprintf("w%d", s.written), fmt.Sprintf("written %d", s.written))
		if err := f.Truncate(bg, 0); err != nil {
			t.Fatalf("truncate: %v", err)
		}
		rh.ino.data, rh.ino.broken = "", false
		if err := f.Write(bg, []byte(body), 0); err != nil {
			t.Fatalf("write: %v", err)
		}
		rh.ino.data = body
	case 2: // >>
		line := fmt.Sprintf("line %d\r\n", s.written)
		s.written++
		err := f.Write(bg, []byte(line), int64(len(rh.ino.data)))
		if rh.ino.broken {
			if !errors.Is(err, ErrBroken) {
				t.Fatalf("append to a broken file: %v", err)
			}
			return
		}
		if err != nil {
			if allowed(err) {
				return
			}
			t.Fatalf("append: %v", err)
		}
		rh.ino.data += line
	case 3: // not a message
		if err := f.Truncate(bg, 0); err != nil {
			t.Fatalf("truncate: %v", err)
		}
		if err := f.Write(bg, []byte("not a message"), 0); err != nil {
			t.Fatalf("write: %v", err)
		}
		rh.ino.data, rh.ino.broken = "not a message", false
	}
}

func (s *machine) close(t *rapid.T) {
	i, ok := s.handle(t)
	if !ok {
		t.Skip("no handle")
	}
	s.handles[i].h.Release()
	s.handles = append(s.handles[:i:i], s.handles[i+1:]...)
}

func (s *machine) rename(t *rapid.T) {
	from, to := s.path(t, "from"), s.path(t, "to")
	noReplace := rapid.Bool().Draw(t, "noreplace")
	ino, exists := s.names[from]
	_, taken := s.names[to]
	s.unknownName(t, exists && taken)
	_, err := s.e.m.Rename(bg, s.e.mb(from.box), from.name, s.e.mb(to.box), to.name, noReplace)
	switch {
	case err != nil && allowed(err):
		// A fault, or bad input: nothing changed (the reads say so).
	case !exists:
		if !errors.Is(err, mail.ErrNotFound) {
			t.Fatalf("rename of %s, which does not exist: %v", from, err)
		}
	case from == to:
		if err != nil {
			t.Fatalf("rename %s to itself: %v", from, err)
		}
	case taken && (noReplace || from.box != to.box):
		if !errors.Is(err, mail.ErrExists) {
			t.Fatalf("rename %s over %s (RENAME_NOREPLACE %v): %v", from, to, noReplace, err)
		}
	case err != nil:
		t.Fatalf("rename %s to %s: %v", from, to, err)
	default:
		if old, ok := s.names[to]; ok && old != ino {
			s.removed[old.data] = true
		}
		delete(s.names, from)
		s.names[to] = ino
	}
}

func (s *machine) unlink(t *rapid.T) {
	p := s.path(t, "unlink")
	_, exists := s.names[p]
	s.unknownName(t, exists)
	err := s.e.m.Unlink(bg, s.e.mb(p.box), p.name)
	switch {
	case err != nil && allowed(err):
	case !exists:
		if !errors.Is(err, mail.ErrNotFound) {
			t.Fatalf("unlink of %s, which does not exist: %v", p, err)
		}
	case err != nil:
		t.Fatalf("unlink %s: %v", p, err)
	default:
		s.removed[s.names[p].data] = true
		delete(s.names, p)
	}
}

func (s *machine) read(t *rapid.T) {
	p := s.path(t, "read")
	ino, exists := s.names[p]
	got, found, err := s.e.read(p.box, p.name)
	if err != nil {
		if allowed(err) {
			return
		}
		t.Fatalf("read %s: %v", p, err)
	}
	if found && !exists && (s.e.m.lostAnswers() || len(s.delivered) > 0) {
		// An APPEND whose answer was lost stored a message that the
		// model has not found yet: it shows under its own name until
		// then.
		return
	}
	if found != exists {
		t.Fatalf("%s: found %v, the reference says %v", p, found, exists)
	}
	if exists && got != ino.data {
		t.Fatalf("%s reads %q, the reference says %q", p, got, ino.data)
	}
}

func (s *machine) step(t *rapid.T) {
	s.e.q.take(rapid.IntRange(0, 7).Draw(t, "step"), false)
}

func (s *machine) timer(t *rapid.T) {
	s.e.q.take(rapid.IntRange(0, 7).Draw(t, "timer"), true)
}

func (s *machine) fault(t *rapid.T) {
	op := rapid.SampledFrom(propOps).Draw(t, "op")
	kinds := []mailtest.Fault{mailtest.Unreachable}
	switch op {
	case "APPEND":
		kinds = append(kinds, mailtest.LostAnswer, mailtest.Refused, mailtest.OverQuota)
	case "EXPUNGE":
		kinds = append(kinds, mailtest.LostAnswer)
	case "BODY":
		kinds = append(kinds, mailtest.Refused)
	}
	s.e.fake.Fail(op, rapid.SampledFrom(kinds).Draw(t, "fault"))
}

// settle ends the sequence: every handle closed, no more faults, every
// step taken.
func (s *machine) settle(t *rapid.T) {
	for _, rh := range s.handles {
		rh.h.Release()
	}
	s.handles = nil
	s.e.fake.ClearFaults()
	s.e.q.drain(t)
}

// check compares the server and the model with the reference once the
// model is quiet.
func (s *machine) check(t *rapid.T) {
	e := s.e
	if v := e.fake.Violations(); len(v) > 0 {
		t.Fatalf("commands named UIDs outside their mailbox: %v", v)
	}
	refused := map[string]bool{}
	for _, n := range e.m.NotStored() {
		refused[n.Label] = true
	}
	// Every message-named file that is a message is on the server in its
	// mailbox; beyond those, the server may hold one message for each
	// file under a scratch name (an editor's backup stands for its
	// message, wherever it was moved) or refused, and nothing else.
	others, extra := 0, 0
	for _, d := range s.delivered {
		if refused[d.box+"/"+deliveryName(d.unique)] {
			others++
		}
	}
	for p, ino := range s.names {
		if ino.broken && IsMessageName(p.name) && !refused[p.String()] {
			t.Fatalf("%s: a write to it failed, and it is not listed as not stored: %v", p, e.m.NotStored())
		}
		if !IsMessageName(p.name) || refused[p.String()] || ino.data == "" {
			others++
		}
	}
	for p, ino := range s.names {
		for _, box := range propBoxes {
			for _, b := range e.held(box) {
				if ino.broken && b == ino.data && ino.data != "" {
					t.Fatalf("%s: a write to it failed, yet %s holds its bytes", p, box)
				}
			}
		}
	}
	for _, box := range propBoxes {
		var must []string
		for p, ino := range s.names {
			if p.box != box || !IsMessageName(p.name) || refused[p.String()] || ino.data == "" {
				continue
			}
			if _, _, err := mail.PrepareMessage([]byte(ino.data)); err != nil {
				t.Fatalf("%s is not a message and not listed as refused: %v", p, e.m.NotStored())
			}
			must = append(must, ino.data)
		}
		for _, d := range s.delivered {
			if d.box == box && !refused[box+"/"+deliveryName(d.unique)] {
				must = append(must, d.body)
			}
		}
		held := e.held(box)
		left := map[string]int{}
		for _, b := range held {
			left[b]++
		}
		for _, b := range must {
			if left[b] == 0 {
				t.Fatalf("%s: the server does not hold %q\nit holds %q", box, b, held)
			}
			left[b]--
		}
		extra += len(held) - len(must)
	}
	if extra > others {
		t.Fatalf("the server holds %d messages more than the files here (%d may be)", extra, others)
	}
	for p, ino := range s.names {
		got, found, err := e.read(p.box, p.name)
		if err != nil || !found || got != ino.data {
			t.Fatalf("after settling, %s reads %q (found %v, %v); the reference says %q", p, got, found, err, ino.data)
		}
	}
	// The directory lists every name once (read a part at a time, as
	// the kernel does), and every name the reference has.
	for _, box := range propBoxes {
		st, err := e.m.Stream(bg, e.mb(box))
		if err != nil {
			t.Fatalf("listing %s: %v", box, err)
		}
		listed := map[string]bool{}
		for {
			part := st.Next(nil, 2)
			if len(part) == 0 {
				break
			}
			for _, it := range part {
				if listed[it.Name] {
					t.Fatalf("%s lists %s twice", box, it.Name)
				}
				listed[it.Name] = true
			}
		}
		for p := range s.names {
			if p.box == box && !listed[p.name] {
				t.Fatalf("%s is not listed in %s: %v", p, box, listed)
			}
		}
	}
	s.checkTrash(t)
}

// checkTrash: Trash holds only messages that were there before, or that
// the user removed, once each: never a version on the way (a `>>`, an
// editor's second save).
func (s *machine) checkTrash(t *rapid.T) {
	seen := map[string]bool{}
	for _, b := range s.e.held("Trash") {
		if !s.initial[b] && !s.removed[b] || seen[b] {
			t.Fatalf("Trash holds %q: only what was there before or was removed goes to Trash, once", b)
		}
		seen[b] = true
	}
}

// removeAll removes every name; then nothing of this test is left on the
// server and no memory is held.
func (s *machine) removeAll(t *rapid.T) {
	paths := make([]refPath, 0, len(s.names))
	for p := range s.names {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool { return paths[i].String() < paths[j].String() })
	for _, p := range paths {
		if err := s.e.m.Unlink(bg, s.e.mb(p.box), p.name); err != nil {
			t.Fatalf("unlink %s at the end: %v", p, err)
		}
		s.removed[s.names[p].data] = true
		delete(s.names, p)
	}
	for _, d := range s.delivered {
		if d.unique == "" {
			continue // refiled: removed below by its body
		}
		if err := s.e.m.MaildirUnlink(bg, s.e.mb(d.box), d.sub, d.name()); err != nil {
			t.Fatalf("unlink %s/%s/%s at the end: %v", d.box, d.sub, d.name(), err)
		}
		s.removed[d.body] = true
	}
	for _, d := range s.delivered {
		if d.unique != "" {
			continue
		}
		items, err := s.e.m.MaildirList(bg, s.e.mb(d.box), MaildirCur)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.Message {
				if b, _, err := s.e.mb(d.box).Body(bg, it.Entry.Ref()); err == nil && string(b) == d.body {
					if err := s.e.m.MaildirUnlink(bg, s.e.mb(d.box), MaildirCur, it.Name); err != nil {
						t.Fatalf("unlink refiled %s: %v", it.Name, err)
					}
					s.removed[d.body] = true
					break
				}
			}
		}
	}
	s.delivered = nil
	s.e.q.drain(t)
	for _, box := range propBoxes {
		if held := s.e.held(box); len(held) != 0 {
			t.Fatalf("%s still holds %q after every file was removed", box, held)
		}
	}
	s.checkTrash(t)
	if used := s.e.m.o.Budget.Used(); used != 0 {
		t.Fatalf("%d bytes still held for files being written", used)
	}
	if strings.Join(s.e.m.Pending(), "") != "" {
		t.Fatalf("still pending: %v", s.e.m.Pending())
	}
}

func TestFileModelProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := newMachine(t)
		t.Repeat(map[string]func(*rapid.T){
			"open":            s.open,
			"write":           s.write,
			"close":           s.close,
			"rename":          s.rename,
			"unlink":          s.unlink,
			"read":            s.read,
			"maildir deliver": s.mdDeliver,
			"maildir flag":    s.mdFlag,
			"maildir refile":  s.mdRefile,
			"maildir unlink":  s.mdUnlink,
			"maildir read":    s.mdRead,
			"step":            s.step,
			"timer":           s.timer,
			"fault":           s.fault,
		})
		s.settle(t)
		s.check(t)
		s.removeAll(t)
	})
}

// lostAnswers reports whether a file has an APPEND whose answer was lost
// and not yet looked for.
func (m *Model) lostAnswers() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for f := range m.all {
		if f.unknown != nil {
			return true
		}
	}
	return false
}
