package mail

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// A write that was accepted is never dropped (DESIGN.md, rule 8): a view
// hands over a file's final bytes once its last descriptor is closed, and
// the account stores them in the background, trying again while the
// server cannot be reached, until they are stored or the server refuses
// them. Close waits for what is still on its way.

// Commit is a file's final bytes on their way to the server.
type Commit struct {
	Mailbox *Mailbox
	Data    []byte
	Flags   []string
	Date    time.Time // INTERNALDATE; zero: now
	// FlagsChosen and DateChosen: the user set them (setfattr, touch,
	// cp -a) rather than their being the defaults or the replaced
	// message's.
	FlagsChosen, DateChosen bool
	// Replaces, when set, is the message this version replaces: it is
	// removed once the new version is stored, never before.
	Replaces *Ref
	Label    string // what the user called the file, for logs and status
}

// Commit retry delays: from commitRetryMin doubling to commitRetryMax.
const (
	commitRetryMin = 500 * time.Millisecond
	commitRetryMax = 30 * time.Second
)

type writes struct {
	a       *Account
	wg      sync.WaitGroup
	stop    chan struct{} // closed when Close gives up waiting
	once    sync.Once
	mu      sync.Mutex // protects the following
	queue   map[*Commit]bool
	refused map[string]string // label -> the server's refusal, until stored or dismissed
}

func newWrites(a *Account) *writes {
	return &writes{a: a, stop: make(chan struct{}), queue: map[*Commit]bool{}, refused: map[string]string{}}
}

// Submit stores c in the background and then calls done once: with the
// stored entry, or with the server's refusal (not a message, over quota,
// no such mailbox), or, only when Close gave up waiting, with the last
// transient error. While the server cannot be reached it tries again with
// backoff.
func (a *Account) Submit(c Commit, done func(Stored, error)) {
	w := a.writes
	w.mu.Lock()
	w.queue[&c] = true
	w.mu.Unlock()
	w.wg.Add(1)
	finish := func(s Stored, err error) {
		w.mu.Lock()
		delete(w.queue, &c)
		if err != nil && !Transient(err) {
			w.refused[c.Label] = err.Error()
		} else if err == nil {
			delete(w.refused, c.Label)
		}
		w.mu.Unlock()
		if err != nil {
			a.NoteError("store "+c.Label, err)
		}
		done(s, err)
		w.wg.Done()
	}
	if !a.goSafe("store "+c.Label, func() { finish(w.run(&c)) }) {
		finish(Stored{}, fmt.Errorf("%w: the account is closed", ErrUnavailable))
	}
}

func (w *writes) run(c *Commit) (Stored, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-w.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	delay := commitRetryMin
	for attempt := 1; ; attempt++ {
		s, err := c.Mailbox.Store(ctx, c)
		if err == nil || !Transient(err) || ctx.Err() != nil {
			if err != nil && ctx.Err() != nil {
				err = fmt.Errorf("gave up storing %s after %d attempts: %w", c.Label, attempt, err)
			}
			return s, err
		}
		w.a.log.Warn("could not store a file yet; trying again", "file", c.Label, "in", delay, "err", err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
		delay = min(delay*2, commitRetryMax)
	}
}

// Pending names the files handed over and not stored yet.
func (a *Account) Pending() []string {
	w := a.writes
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.queue))
	for c := range w.queue {
		out = append(out, c.Label)
	}
	sort.Strings(out)
	return out
}

// Refused names the files the server refused to store, with its answer;
// they stay in the view that wrote them, never stored, until written
// again or removed.
func (a *Account) Refused() map[string]string {
	w := a.writes
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]string, len(w.refused))
	for k, v := range w.refused {
		out[k] = v
	}
	return out
}

// Dismiss forgets a refused file (removed, or renamed away).
func (a *Account) Dismiss(label string) {
	w := a.writes
	w.mu.Lock()
	delete(w.refused, label)
	w.mu.Unlock()
}

// Close waits until every file handed over is stored or refused, and for
// the background jobs, until ctx ends. Files still not stored then are
// given up (each logged as lost) and named in the error.
func (a *Account) Close(ctx context.Context) error {
	w := a.writes
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		lost := a.Pending()
		for _, l := range lost {
			a.log.Error("the server could not be reached; this file was NOT stored", "file", l)
		}
		w.once.Do(func() { close(w.stop) })
		<-done
		if len(lost) > 0 {
			a.mu.Lock()
			a.closed = true
			a.mu.Unlock()
			a.bg.Wait()
			return fmt.Errorf("%d files not stored: %v", len(lost), lost)
		}
	}
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.bg.Wait()
	return nil
}
