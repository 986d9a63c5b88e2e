package files

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mailfs/mail"
)

// Errors of the file model, besides the mail model's sentinels.
var (
	// ErrGone: the file or message a node stood for is no longer under
	// its name (stored as a new version, removed, renamed over); the
	// kernel should look the name up again (ESTALE).
	ErrGone = errors.New("no longer there; look the name up again")
	// ErrTooLarge: a file grew past what a message may be (EFBIG).
	ErrTooLarge = errors.New("file too large")
	// ErrBroken: an earlier write or truncate of the file failed; it is
	// unusable (and nothing of it is stored) until it is rewritten from
	// the start (O_TRUNC).
	ErrBroken = errors.New("an earlier write to this file failed; rewrite it from the start")
	// ErrBusy: a new version of the message is being written on this
	// mount, and the operation would part it from that version; it
	// changes nothing and can be tried again once the writer closes it
	// (EBUSY).
	ErrBusy = errors.New("a new version is being written on this mount; try again once it is closed")
)

// Runner runs the model's steps: goroutines and timers in a mount, a
// queue in the generated-sequence test.
type Runner interface {
	Go(f func())
	After(d time.Duration, f func())
}

// Options configure a Model.
type Options struct {
	Account *mail.Account
	Budget  *Budget // nil: 512 MiB of its own
	Log     *slog.Logger
	// Name is a message's own file name; ParseUID finds the UID in one
	// (the view's naming style).
	Name     func(mail.Entry) string
	ParseUID func(name string) (uint32, bool)
	// Unsaved is where files not stored when the mount ends are written
	// (ACCOUNT/MAILBOX/NAME below it); "" keeps none.
	Unsaved string
	// Run runs steps; nil: goroutines and timers.
	Run Runner
	// RetryMin and RetryMax bound the delay between tries of a step the
	// server could not take (default 500 ms to 30 s).
	RetryMin, RetryMax time.Duration
}

// Model is the file model of one account.
type Model struct {
	o    Options
	acct *mail.Account
	log  *slog.Logger
	// live counts files that stand for a message, so that reads of a
	// mount where nothing is being written look for none.
	live atomic.Int64

	ctx    context.Context // ends when Close gives up
	cancel context.CancelFunc

	mu      sync.Mutex // protects the following and every Dir and File
	dirs    map[uint64]*Dir
	byRef   map[vkey]*File // every version a live file stands or stood for
	ours    map[vkey]bool  // versions this mount stored
	nextID  uint64
	steps   int            // steps running or waiting to be tried again
	waiters map[*File]bool // files waiting to be tried again
	all     map[*File]bool // every file not let go, named or not
	quiet   chan struct{}  // closed while steps is 0
	notify  func(mb *mail.Mailbox, names ...string)
	unsaved []string // what Close found not stored
}

// vkey is a version's key: the mailbox object and the message in it.
type vkey struct {
	mb  uint64
	ref mail.Ref
}

// version is one message on the server that stands for a file.
type version struct {
	mb    *mail.Mailbox
	entry mail.Entry
	ours  bool // stored by this mount: expunged, not sent to Trash, when superseded
	// over: the file took it over by a rename (over it, or over a file
	// that stood for it), not by writing it: it is removed only if it is
	// a version of the file's message (the same Message-ID), as a store
	// over it would decide.
	over bool
}

func (v version) key() vkey { return vkey{v.mb.ID(), v.entry.Ref()} }

// Dir is one mailbox directory as the mail view shows it.
type Dir struct {
	mb    *mail.Mailbox
	files map[string]*File
	// kept: names this mount gave to messages for its life (a file
	// stored under the name it was written as, a message moved in under
	// a name); keptAs is the reverse: such a message lists under it.
	kept   map[string]mail.Ref
	keptAs map[mail.Ref]string
	md     *maildirState   // the .maildir view's (nil until used)
	local  map[string]bool // local directories (".git", ".git/objects"), by path
	// touched: the last change of its names made here (a file created,
	// renamed, removed, stored), for the directory's mtime.
	touched time.Time
}

// ChangedAt is when a name of mailbox mb's directories last changed by
// this mount's files (the mail model's Mailbox.ChangedAt has the rest).
func (m *Model) ChangedAt(mb *mail.Mailbox) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m._dir(mb).touched
}

// New makes the file model of an account.
func New(o Options) *Model {
	if o.Budget == nil {
		o.Budget = NewBudget(512 << 20)
	}
	if o.Log == nil {
		o.Log = o.Account.Log()
	}
	if o.Run == nil {
		o.Run = goRunner{o.Log}
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 500 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	m := &Model{o: o, acct: o.Account, log: o.Log, dirs: map[uint64]*Dir{}, byRef: map[vkey]*File{},
		ours: map[vkey]bool{}, waiters: map[*File]bool{}, all: map[*File]bool{}, quiet: make(chan struct{})}
	close(m.quiet)
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m
}

// SetNotify sets what is told that names of a directory resolve to
// something else now (kernel notifications). Call it once, before use.
func (m *Model) SetNotify(f func(mb *mail.Mailbox, names ...string)) { m.notify = f }

// Account is the account the model is of.
func (m *Model) Account() *mail.Account { return m.acct }

// _dir returns the Dir of mb; m.mu held.
func (m *Model) _dir(mb *mail.Mailbox) *Dir {
	d, ok := m.dirs[mb.ID()]
	if !ok {
		d = &Dir{mb: mb, files: map[string]*File{}, kept: map[string]mail.Ref{}, keptAs: map[mail.Ref]string{}}
		m.dirs[mb.ID()] = d
	}
	return d
}

// IsMessageName reports whether a file of this name becomes a message
// when it is closed: *.eml, not hidden, not an editor's #autosave#. Other
// names (vim's .swp and 4913, backup~ files, sed's sedXXXXXX) are scratch
// files that live only in this mount's memory.
func IsMessageName(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".eml") &&
		!strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "#") && !strings.Contains(name, "/")
}

// goRunner runs steps on goroutines that log a panic instead of dying
// silently.
type goRunner struct{ log *slog.Logger }

func (r goRunner) Go(f func()) { go r.safe(f) }

func (r goRunner) After(d time.Duration, f func()) { time.AfterFunc(d, func() { r.safe(f) }) }

func (r goRunner) safe(f func()) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("a step of storing a file panicked", "panic", p)
		}
	}()
	f()
}
