package files

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailfs/mail"
	"mailfs/mail/mailtest"
)

var bg = context.Background()

// queue is a Runner that runs nothing by itself: the test takes steps
// from it in the order it chooses (a store still on its way when the
// next operation comes is a step not taken yet).
type queue struct {
	mu     sync.Mutex
	steps  []func()
	timers []func()
}

func (q *queue) Go(f func()) {
	q.mu.Lock()
	q.steps = append(q.steps, f)
	q.mu.Unlock()
}

func (q *queue) After(d time.Duration, f func()) {
	q.mu.Lock()
	q.timers = append(q.timers, f)
	q.mu.Unlock()
}

// take runs step i (of those waiting, modulo their number); timers too
// when timers is set. It reports whether there was one.
func (q *queue) take(i int, timers bool) bool {
	q.mu.Lock()
	list := &q.steps
	if timers {
		list = &q.timers
	}
	if len(*list) == 0 {
		q.mu.Unlock()
		return false
	}
	i %= len(*list)
	f := (*list)[i]
	*list = append((*list)[:i:i], (*list)[i+1:]...)
	q.mu.Unlock()
	f()
	return true
}

// drain runs every step and timer until none is left.
func (q *queue) drain(t tb) {
	for n := 0; ; n++ {
		if n > 10000 {
			t.Fatal("steps never ran out")
		}
		if !q.take(0, false) && !q.take(0, true) {
			return
		}
	}
}

// tb is what the helpers need of a test: *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// env is a file model over the fake backend.
type env struct {
	t    tb
	fake *mailtest.Fake
	acct *mail.Account
	m    *Model
	q    *queue
}

func testName(e mail.Entry) string { return "m" + strconv.FormatUint(uint64(e.UID), 10) + ".eml" }

func testUID(name string) (uint32, bool) {
	s, ok := strings.CutPrefix(name, "m")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".eml")
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), ok && err == nil
}

// newEnv makes mailboxes INBOX, Drafts, Other and Trash (the \Trash
// one); steps run when the test takes them (q) or, with q nil, at once
// on goroutines.
func newEnv(t tb, mode mail.DeleteMode, q *queue, log *slog.Logger) *env {
	fake := mailtest.New("Trash", "INBOX", "Drafts", "Other")
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		if os.Getenv("MAILFS_TEST_LOG") != "" {
			log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	acct := mail.NewAccount(mail.Options{ID: "test", Backend: fake, TTL: time.Hour, Logger: log, Delete: mode})
	e := &env{t: t, fake: fake, acct: acct, q: q}
	o := Options{Account: acct, Log: log, Name: testName, ParseUID: testUID, Budget: NewBudget(1 << 20),
		RetryMin: time.Millisecond, RetryMax: 4 * time.Millisecond}
	if q != nil {
		o.Run = q
	}
	e.m = New(o)
	e.m.SetNotify(func(mb *mail.Mailbox, names ...string) {})
	return e
}

func (e *env) mb(name string) *mail.Mailbox { return e.acct.Mailbox(name) }

// settle runs every step (queue) or waits for them (goroutines).
func (e *env) settle() {
	e.t.Helper()
	if e.q != nil {
		e.q.drain(e.t)
		return
	}
	select {
	case <-e.m.Quiet():
	case <-time.After(30 * time.Second):
		e.t.Fatal("the file model never became quiet")
	}
}

// create writes a new file and closes it.
func (e *env) create(box, name, body string) {
	e.t.Helper()
	h, err := e.m.Create(e.mb(box), name)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := h.File().Write(bg, []byte(body), 0); err != nil {
		e.t.Fatal(err)
	}
	h.Release()
}

// open opens name for writing as the view does: a message through its
// node (Edit), a file of this mount as itself.
func (e *env) open(box, name string, trunc bool) (*Handle, error) {
	it, ok, err := e.m.Lookup(bg, e.mb(box), name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return e.m.Create(e.mb(box), name)
	}
	if it.Message {
		return e.m.Edit(e.mb(box), it.Entry.Ref(), trunc)
	}
	return e.m.Open(it.File, trunc)
}

// read reads what name holds, as the view does.
func (e *env) read(box, name string) (string, bool, error) {
	mb := e.mb(box)
	it, ok, err := e.m.Lookup(bg, mb, name)
	if err != nil || !ok {
		return "", ok, err
	}
	f := it.File
	if it.Message {
		f = e.m.Editing(mb, it.Entry.Ref())
	}
	if f != nil && (f.Loaded() || !it.Message) {
		b, err := f.Read(bg, make([]byte, 1<<20), 0)
		return string(b), true, err
	}
	b, _, err := mb.Body(bg, it.Entry.Ref())
	return string(b), true, err
}

// held is what a mailbox of the server holds, sorted.
func (e *env) held(box string) []string {
	var out []string
	for _, b := range e.fake.Held(box) {
		out = append(out, string(b))
	}
	return sortStrings(out)
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func msg(subject, body string) string {
	return "Subject: " + subject + "\r\n\r\n" + body + "\r\n"
}

func msgID(id, body string) string {
	return "Subject: " + id + "\r\nMessage-ID: <" + id + "@example.com>\r\n\r\n" + body + "\r\n"
}

func (e *env) wantHeld(box string, want ...string) {
	e.t.Helper()
	got := e.held(box)
	if fmt.Sprint(got) != fmt.Sprint(sortStrings(want)) {
		e.t.Fatalf("%s holds %q, want %q", box, got, sortStrings(want))
	}
}
