package fs_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailfs/imapback"
	"mailfs/internal/testenv"
)

// TestDeadConnectionsNoticed: the server side of the mount's connections
// dies — Dovecot's imap processes are killed (the server itself lives on),
// or every open connection goes silent (a black hole for them, while new
// connections work). A message another client appends meanwhile shows in
// the watched INBOX long before the listing's TTL (here about the
// timeout + the reconnect), and status says connected once it does.
func TestDeadConnectionsNoticed(t *testing.T) {
	const timeout = 2 * time.Second
	check := func(t *testing.T, direct *server, m *mounted, kill func()) {
		m.watch(t, "INBOX")
		inbox := filepath.Join(m.dir, "INBOX")
		before := len(names(t, inbox))
		// The watcher is in IDLE once a message appended now shows (the
		// listing's TTL is 30 s: only IDLE can show it this soon).
		p := direct.peek(t)
		appendRaw(t, p, "INBOX", newRaw("before-death@x", "Before death"))
		before++
		eventually(t, 10*time.Second, "the watcher works", func() error {
			if n := len(names(t, inbox)); n != before {
				return fmt.Errorf("%d files, want %d", n, before)
			}
			return nil
		})
		kill()
		appendRaw(t, direct.peek(t), "INBOX", newRaw("after-death@x", "After death"))
		// The listing's TTL is 30 s and the old check came every 4 min:
		// showing well before either can only be the watcher noticing the
		// dead connection (at about the timeout; the figure is logged, not
		// asserted tightly, so a loaded machine does not fail it).
		start := time.Now()
		eventually(t, 20*time.Second, "the new message shows", func() error {
			if n := len(names(t, inbox)); n != before+1 {
				return fmt.Errorf("%d files, want %d", n, before+1)
			}
			return nil
		})
		t.Logf("shown %v after the connections died", time.Since(start).Round(10*time.Millisecond))
		if st := statusOf(t, m); !strings.Contains(st, "state:          connected") {
			t.Errorf("status after recovery:\n%s", st)
		}
	}
	t.Run("dovecot-killed", func(t *testing.T) {
		s := startDovecot(t)
		s.seedSample(t)
		m := s.mount(t, imapback.Config{Timeout: timeout}, nil)
		check(t, s, m, func() {
			if n := s.dovecot.KillSessions(); n == 0 {
				t.Fatal("no imap session processes to kill")
			}
		})
	})
	for _, kind := range []string{"mem", "dovecot"} {
		t.Run(kind+"-silent", func(t *testing.T) {
			var s *server
			if kind == "mem" {
				s = startMem(t)
			} else {
				s = startDovecot(t)
			}
			s.seedSample(t)
			via, proxy := viaProxy(t, s, testenv.ProxyOptions{})
			m := via.mount(t, imapback.Config{Timeout: timeout}, nil)
			check(t, s, m, proxy.SilenceExisting)
		})
	}
}
