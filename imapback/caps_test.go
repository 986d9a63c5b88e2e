package imapback

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// silentCapsServer greets without capabilities and never answers
// CAPABILITY; it records every command it receives.
func silentCapsServer(t *testing.T) (addr string, commands func() []string, first <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var got []string
	arrived := make(chan struct{})
	var once sync.Once
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write([]byte("* OK ready\r\n"))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					mu.Lock()
					got = append(got, strings.TrimSpace(line))
					mu.Unlock()
					once.Do(func() { close(arrived) })
				}
			}()
		}
	}()
	return ln.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}, arrived
}

// A server that does not answer CAPABILITY makes the dial fail with the
// command deadline (not go-imap's fixed 30 s), and no LOGIN is sent on a
// guess about what the server allows.
func TestSilentCapabilityFailsWithinTimeout(t *testing.T) {
	addr, commands, _ := silentCapsServer(t)
	ep, err := ParseURL("imap+insecure://alice@" + addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Dial(context.Background(), Config{Endpoint: ep, Password: "pw", Timeout: time.Second})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("dial: %v, want an ErrUnavailable timeout", err)
		}
	case <-time.After(20 * time.Second): // go-imap alone would wait 30 s
		t.Fatal("dial still waiting for CAPABILITY after 20 s with --timeout 1s")
	}
	for _, c := range commands() {
		if strings.Contains(strings.ToUpper(c), "LOGIN") || strings.Contains(strings.ToUpper(c), "AUTHENTICATE") {
			t.Fatalf("sent %q without knowing the server's capabilities", c)
		}
	}
	if len(commands()) == 0 || !strings.Contains(strings.ToUpper(commands()[0]), "CAPABILITY") {
		t.Fatalf("commands sent: %q, want CAPABILITY first", commands())
	}
}

// Ctrl-C while waiting for CAPABILITY ends the dial at once.
func TestCapabilityWaitHonoursContext(t *testing.T) {
	addr, _, first := silentCapsServer(t)
	ep, _ := ParseURL("imap+insecure://alice@" + addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Dial(ctx, Config{Endpoint: ep, Password: "pw", Timeout: time.Minute})
		done <- err
	}()
	select { // cancel once the CAPABILITY command is waiting
	case <-first:
	case <-time.After(20 * time.Second):
		t.Fatal("no command arrived")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("dial after cancel: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("dial ignored its context while waiting for CAPABILITY")
	}
}

// A server that trickles a byte at a time, never silent for the timeout,
// still fails the command: its whole time is bounded by the timeout plus
// what its bytes would take at the slowest rate allowed.
func TestTricklingServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("* OK ready\r\n"))
		bufio.NewReader(c).ReadString('\n') // CAPABILITY
		c.Write([]byte("* CAPABILITY IMAP4rev1"))
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.Write([]byte(" X")); err != nil {
					return
				}
			}
		}
	}()
	ep, _ := ParseURL("imap+insecure://alice@" + ln.Addr().String())
	done := make(chan error, 1)
	go func() {
		_, err := Dial(context.Background(), Config{Endpoint: ep, Password: "pw", Timeout: 300 * time.Millisecond})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("dial: %v, want a timeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a server trickling bytes kept the command waiting")
	}
}
