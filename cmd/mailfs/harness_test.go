package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"mailfs/internal/demoserver"
	"mailfs/internal/sample"
	"mailfs/internal/testenv"
)

// The command's own tests drive the built binary; the file system's
// behaviour is tested in fs/.

// mailfsBin is the binary built once for the tests.
var mailfsBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mailfs-bin-")
	if err != nil {
		panic(err)
	}
	mailfsBin = filepath.Join(dir, "mailfs")
	build := exec.Command("go", "build", "-race", "-o", mailfsBin, ".")
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
}

// eachServer runs f against go-imap's in-memory server and against Dovecot.
func eachServer(t *testing.T, f func(t *testing.T, s *server)) {
	t.Run("mem", func(t *testing.T) { f(t, startMem(t)) })
	t.Run("dovecot", func(t *testing.T) {
		d := testenv.StartDovecot(t)
		f(t, &server{kind: "dovecot", addr: d.Addr, user: d.User, pass: d.Password})
	})
}

func startMem(t testing.TB) *server {
	t.Helper()
	srv, err := demoserver.Start(demoserver.Options{User: "alice", Password: "mem-pass-4711"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &server{kind: "mem", addr: srv.Addr, user: "alice", pass: "mem-pass-4711"}
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

// firstMessage is the path of a message in the mount's INBOX.
func firstMessage(t testing.TB, root string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "INBOX", "*.eml"))
	if len(files) == 0 {
		t.Fatalf("no message in %s/INBOX", root)
	}
	return files[0]
}

// waitFor polls f until it succeeds or limit passes (then fails the test
// with f's last error): a condition with a generous deadline, not a sleep.
func waitFor(t testing.TB, limit time.Duration, what string, f func() error) {
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
