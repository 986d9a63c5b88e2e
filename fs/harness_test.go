package fs_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/cache"
	"mailfs/fs"
	"mailfs/imapback"
	"mailfs/internal/demoserver"
	"mailfs/internal/sample"
	"mailfs/internal/testenv"
	"mailfs/mail"
	"mailfs/mail/files"
)

// mailfsBin is the binary built once for tests that drive the CLI.
var mailfsBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mailfs-bin-")
	if err != nil {
		panic(err)
	}
	mailfsBin = filepath.Join(dir, "mailfs")
	build := exec.Command("go", "build", "-race", "-o", mailfsBin, "mailfs/cmd/mailfs")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		panic("building mailfs: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is an IMAP server under test with one account.
type server struct {
	kind       string // "mem" or "dovecot"
	addr       string
	user, pass string
	dovecot    *testenv.Dovecot
	mem        *demoserver.Server
}

// eachServer runs f against go-imap's in-memory server and against Dovecot.
func eachServer(t *testing.T, f func(t *testing.T, s *server)) {
	t.Run("mem", func(t *testing.T) { f(t, startMem(t)) })
	t.Run("dovecot", func(t *testing.T) { f(t, startDovecot(t)) })
}

func startMem(t testing.TB) *server { return startMemWith(t, nil) }

// demoCaps are the in-memory server's default capabilities.
func demoCaps() imap.CapSet { return demoserver.DefaultCaps() }

// startMemWith starts the in-memory server advertising caps (nil: default).
func startMemWith(t testing.TB, caps imap.CapSet) *server {
	t.Helper()
	return startMemOpts(t, demoserver.Options{Caps: caps})
}

// startMemOpts starts the in-memory server with options (user and
// password are the harness's).
func startMemOpts(t testing.TB, o demoserver.Options) *server {
	t.Helper()
	o.User, o.Password = "alice", "mem-pass-4711"
	srv, err := demoserver.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &server{kind: "mem", addr: srv.Addr, user: "alice", pass: "mem-pass-4711", mem: srv}
}

func startDovecot(t testing.TB) *server {
	t.Helper()
	d := testenv.StartDovecot(t)
	return &server{kind: "dovecot", addr: d.Addr, user: d.User, pass: d.Password, dovecot: d}
}

// seedSample loads the sample account into the server.
func (s *server) seedSample(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := demoserver.Seed(ctx, s.addr, s.user, s.pass, sample.Mailboxes(), sample.Messages()); err != nil {
		t.Fatalf("seed %s: %v", s.kind, err)
	}
}

func (s *server) endpoint(t testing.TB) imapback.Endpoint {
	ep, err := imapback.ParseURL("imap+insecure://" + s.user + "@" + s.addr)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// dial connects the mount's client (Close in Cleanup).
func (s *server) dial(t testing.TB, cfg imapback.Config) *imapback.Client {
	t.Helper()
	cfg.Endpoint = s.endpoint(t)
	cfg.Password = s.pass
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	c, err := imapback.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatalf("dial %s: %v", s.kind, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mounted is a mount in this process with its parts exposed to the test.
type mounted struct {
	dir    string
	client *imapback.Client
	bodies *cache.Bodies
	acct   *mail.Account
	files  *files.Model
	fs     *fs.Mounted
}

// options are what a test may change of a mount: the model's options
// and the tree's.
type options struct {
	mail.Options
	Names       fs.NameStyle
	WriteBuffer int64
	Searches    map[string]string
}

// mount mounts the server's account in-process, wired as `mailfs mount`
// wires it; edit may change the options or wrap the backend. Cleanup
// unmounts, then waits for the writes still on their way.
func (s *server) mount(t testing.TB, cfg imapback.Config, edit func(*options)) *mounted {
	t.Helper()
	c := s.dial(t, cfg)
	m := &mounted{client: c}
	o := options{Options: mail.Options{ID: s.user + "@" + s.addr, Backend: c, Bodies: cache.New(256 << 20),
		TTL: 30 * time.Second, Logger: testLogger(t), ReadAhead: 2, ReadOnly: cfg.ReadOnly}}
	if edit != nil {
		edit(&o)
	}
	m.bodies = o.Bodies
	m.acct = mail.NewAccount(o.Options)
	wb := o.WriteBuffer
	if wb == 0 {
		wb = 512 << 20
	}
	m.files = fs.FileModel(m.acct, o.Names, files.NewBudget(wb), "")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		closeFiles(t, ctx, m.files)
		m.acct.Close()
	})
	m.dir, m.fs = testenv.Mount(t, fs.Options{Account: m.acct, Files: m.files, Names: o.Names,
		Logger: o.Logger, Searches: o.Searches, Status: func() string { return testStatus(c, m.acct, m.files) }})
	return m
}

// closeFiles closes a file model at the end of a test: every file not
// stored must be one the test made the server (or mailfs) refuse.
func closeFiles(t testing.TB, ctx context.Context, fm *files.Model) {
	refused := map[string]bool{}
	for _, n := range fm.NotStored() {
		refused[n.Label] = true
	}
	if err := fm.Close(ctx); err != nil {
		for _, label := range fm.Unsaved() {
			if !refused[label] {
				t.Errorf("closing the account: %s was not stored: %v", label, err)
			}
		}
	}
}

// expunging mounts with --delete=expunge.
func expunging(o *options) { o.Delete = mail.DeleteExpunge }

// testStatus is the part of `mailfs status` the tests read.
func testStatus(c *imapback.Client, acct *mail.Account, fm *files.Model) string {
	h := c.Health()
	state := "connected"
	if !h.Connected {
		state = "DISCONNECTED"
	}
	lastErr, _ := acct.LastError()
	if h.LastError != "" {
		lastErr = h.LastError
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return fmt.Sprintf("state:          %s\nlast error:     %s\ncapabilities:   %s\nrm:             %s\nnot stored:     %v\n",
		state, lastErr, strings.Join(c.Capabilities(), " "), acct.RemovePolicy(ctx), fm.NotStored())
}

// watch keeps mailbox in IDLE for the mount, as `mailfs mount --watch` does.
func (m *mounted) watch(t testing.TB, mailbox string) {
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan struct{})
	var once sync.Once
	done := m.client.Watch(ctx, mailbox, func(flags, initial bool) {
		if initial {
			m.acct.Watching(mailbox)
			once.Do(func() { close(seen) })
		} else {
			m.acct.Changed(mailbox, flags)
		}
	})
	t.Cleanup(func() { cancel(); <-done })
	// As mailfs mount does, the watcher has its mailbox in view before
	// the test goes on.
	select {
	case <-seen:
	case <-time.After(30 * time.Second):
		t.Fatalf("the watcher of %s never had it in view", mailbox)
	}
}

// eventually retries f until it succeeds or the limit passes: for
// recovery, which takes as long as the next reconnection attempt.
func eventually(t testing.TB, limit time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testLogger logs mailfs's decisions into the test log (shown on failure
// or with -v).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// logRecorder is a test log that the test can also read back.
type logRecorder struct {
	t  testing.TB
	mu sync.Mutex
	b  strings.Builder
}

// recordLog returns a logger into the test log whose lines the test can
// search with has.
func recordLog(t testing.TB) (*slog.Logger, *logRecorder) {
	r := &logRecorder{t: t}
	return slog.New(slog.NewTextHandler(r, &slog.HandlerOptions{Level: slog.LevelDebug})), r
}

func (r *logRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.b.Write(p)
	r.mu.Unlock()
	r.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// has reports whether a line holding every one of words was logged.
func (r *logRecorder) has(words ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, line := range strings.Split(r.b.String(), "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all && line != "" {
			return true
		}
	}
	return false
}

func (r *logRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.b.String()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
