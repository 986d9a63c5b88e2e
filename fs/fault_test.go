package fs_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mailfs/cache"
	"mailfs/imapback"
	"mailfs/internal/sample"
	"mailfs/internal/testenv"
)

// moveAllWhile moves every INBOX message to Work, one mv at a time, while
// fault runs once after the first few moves. It returns how many moves
// succeeded and the Message-IDs that were in INBOX before.
func moveAllWhile(t *testing.T, s *server, m *mounted, fault func()) (ok int, ids map[string]bool) {
	t.Helper()
	p := s.peek(t)
	ids = map[string]bool{}
	for _, msg := range p.messages("INBOX") {
		ids[messageIDOf(msg.Body)] = true
	}
	dir := filepath.Join(m.dir, "INBOX")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	for i, e := range ents {
		if i == 4 {
			once.Do(fault)
		}
		if err := os.Rename(filepath.Join(dir, e.Name()), filepath.Join(m.dir, "Work", e.Name())); err == nil {
			ok++
		}
	}
	return ok, ids
}

// checkNothingLost: every message that was in INBOX is now in INBOX or Work.
func checkNothingLost(t *testing.T, s *server, ids map[string]bool) {
	t.Helper()
	p := s.peek(t)
	found := map[string]int{}
	for _, box := range []string{"INBOX", "Work"} {
		for _, msg := range p.messages(box) {
			found[messageIDOf(msg.Body)]++
		}
	}
	for id := range ids {
		if found[id] == 0 {
			t.Errorf("message %s was lost", id)
		}
	}
}

// TestMoveSurvivesServerKill kills Dovecot in the middle of a series of
// moves: moves fail with an error, none loses a message, and after the
// restart the mount works again without remounting.
func TestMoveSurvivesServerKill(t *testing.T) {
	s := startDovecot(t)
	s.seedSample(t)
	m := s.mount(t, imapback.Config{Timeout: 2 * time.Second}, nil)
	moved, ids := moveAllWhile(t, s, m, func() {
		if err := s.dovecot.Kill(); err != nil {
			t.Fatal(err)
		}
	})
	if moved >= len(ids) {
		t.Fatalf("all %d moves succeeded with the server killed", moved)
	}
	if err := s.dovecot.Start(); err != nil {
		t.Fatal(err)
	}
	checkNothingLost(t, s, ids)
	// Recovery: the same mount moves the rest, once it has reconnected.
	ents, err := os.ReadDir(filepath.Join(m.dir, "INBOX"))
	if err != nil {
		t.Fatalf("listing after restart: %v", err)
	}
	if len(ents) == 0 {
		t.Fatal("nothing left to move")
	}
	e := ents[0]
	eventually(t, 15*time.Second, "move after restart", func() error {
		return os.Rename(filepath.Join(m.dir, "INBOX", e.Name()), filepath.Join(m.dir, "Work", e.Name()))
	})
	checkNothingLost(t, s, ids)
}

// TestMoveSurvivesConnectionDrop resets every connection in the middle of
// the moves (the in-memory server stays up).
func TestMoveSurvivesConnectionDrop(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		proxy := testenv.StartProxy(t, s.addr)
		via := *s
		via.addr = proxy.Addr
		m := via.mount(t, imapback.Config{Timeout: 2 * time.Second}, nil)
		drops := 0
		moved, ids := moveAllWhile(t, s, m, func() {
			proxy.DropAll()
			drops++
		})
		if drops != 1 {
			t.Fatal("fault did not run")
		}
		t.Logf("%d of %d moves succeeded around a connection reset", moved, len(ids))
		checkNothingLost(t, s, ids)
	})
}

func TestRemoveSurvivesServerKill(t *testing.T) {
	s := startDovecot(t)
	s.seedSample(t)
	m := s.mount(t, imapback.Config{Timeout: 2 * time.Second}, nil)
	p := s.peek(t)
	before := map[string]bool{}
	for _, box := range []string{"INBOX", "Trash"} {
		for _, msg := range p.messages(box) {
			before[messageIDOf(msg.Body)] = true
		}
	}
	dir := filepath.Join(m.dir, "INBOX")
	ents, _ := os.ReadDir(dir)
	failed := 0
	for i, e := range ents {
		if i == 3 {
			s.dovecot.Kill()
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("every rm succeeded with the server killed")
	}
	if err := s.dovecot.Start(); err != nil {
		t.Fatal(err)
	}
	// rm moves to Trash: every message is in INBOX or Trash.
	p = s.peek(t)
	found := map[string]bool{}
	for _, box := range []string{"INBOX", "Trash"} {
		for _, msg := range p.messages(box) {
			found[messageIDOf(msg.Body)] = true
		}
	}
	for id := range before {
		if !found[id] {
			t.Errorf("rm lost %s", id)
		}
	}
}

// viaProxy returns s as reached through a fault-injecting proxy.
func viaProxy(t *testing.T, s *server, opts testenv.ProxyOptions) (*server, *testenv.Proxy) {
	t.Helper()
	p, err := testenv.NewProxy(s.addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	via := *s
	via.addr = p.Addr
	return &via, p
}

// TestResetMidLiteral: the connection is reset in the middle of a body's
// literal. The read fails, nothing partial is cached, and the next read
// returns the whole message.
func TestResetMidLiteral(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		via, proxy := viaProxy(t, s, testenv.ProxyOptions{})
		m := via.mount(t, imapback.Config{Timeout: 3 * time.Second}, nil)
		path := largestMessage(t, m.dir) // listing and a stat only
		var want []byte                  // the largest sample message is the largest file
		for _, msg := range sample.Messages() {
			if len(msg.Raw) > len(want) {
				want = msg.Raw
			}
		}
		proxy.ResetAfter(proxy.BytesDown() + 50<<10) // 50 KB into what comes next
		if _, err := os.ReadFile(path); err == nil {
			t.Fatal("read across a connection reset succeeded")
		}
		if proxy.Resets() != 1 {
			t.Fatalf("%d resets", proxy.Resets())
		}
		var got []byte
		eventually(t, 15*time.Second, "read after the reset", func() error {
			var err error
			got, err = os.ReadFile(path)
			return err
		})
		if !bytes.Equal(got, want) {
			t.Fatalf("after the reset: %d bytes, want the %d-byte message", len(got), len(want))
		}
	})
}

// TestSlowLinkIsNotSilence: a transfer that takes longer than --timeout
// but keeps moving is not cut off; the deadline measures silence.
func TestSlowLinkIsNotSilence(t *testing.T) {
	s := startMem(t)
	s.seedSample(t)
	via, _ := viaProxy(t, s, testenv.ProxyOptions{BytesPerSec: 150 << 10})
	m := via.mount(t, imapback.Config{Timeout: time.Second}, nil)
	path := largestMessage(t, m.dir)
	start := time.Now()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("slow but steady read failed: %v", err)
	}
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Fatalf("read %d bytes in %v: the bandwidth cap did not hold, the test proves nothing", len(b), took)
	}
}

// TestConnectionsHardMaximum: --connections bounds every connection the
// mount holds, the IDLE watcher's included, also while the watcher and the
// pool reconnect after the network dropped them all.
func TestConnectionsHardMaximum(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		via, proxy := viaProxy(t, s, testenv.ProxyOptions{})
		// A small cache: every scan fetches again.
		m := via.mount(t, imapback.Config{Connections: 2}, func(o *options) { o.Bodies = cache.New(64 << 10) })
		m.watch(t, "INBOX")
		scan := func() {
			t.Helper()
			if out, err := exec.Command("grep", "-rlc", "Subject", m.dir).CombinedOutput(); err != nil {
				t.Fatalf("grep -r: %v %s", err, out)
			}
		}
		scan()
		eventually(t, 20*time.Second, "the watcher is connected", func() error {
			if n := proxy.Conns(); n < 2 {
				return fmt.Errorf("%d connections open", n)
			}
			return nil
		})
		for range 2 {
			proxy.DropAll()
			m.acct.Mailbox("Work").Invalidate()
			eventually(t, 30*time.Second, "the mount works again", func() error {
				_, err := os.ReadDir(filepath.Join(m.dir, "Work"))
				return err
			})
			scan()
		}
		if n := proxy.MaxConns(); n > 2 {
			t.Fatalf("%d connections were open at once with --connections 2", n)
		}
	})
}
