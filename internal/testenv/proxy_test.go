package testenv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testServer accepts connections and hands each to handle.
func testServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// echoLines answers every line with the same line.
func echoLines(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := io.WriteString(c, line); err != nil {
			return
		}
	}
}

func newTestProxy(t *testing.T, target string, opts ProxyOptions) *Proxy {
	t.Helper()
	p, err := NewProxy(target, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func dialProxy(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip sends a line and waits for its echo.
func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, line string) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if got != line+"\n" {
		t.Fatalf("echo %q, want %q", got, line)
	}
	return time.Since(start)
}

func TestProxyForwardsAndCounts(t *testing.T) {
	t.Parallel()
	p := StartProxy(t, testServer(t, echoLines))
	c := dialProxy(t, p)
	r := bufio.NewReader(c)
	for _, line := range []string{"hello", "a somewhat longer line"} {
		roundTrip(t, c, r, line)
	}
	want := int64(len("hello\n") + len("a somewhat longer line\n"))
	if up, down := p.BytesUp(), p.BytesDown(); up != want || down != want {
		t.Errorf("BytesUp %d, BytesDown %d; want %d each", up, down, want)
	}
	p.ResetCounters()
	if p.BytesUp() != 0 || p.BytesDown() != 0 {
		t.Errorf("counters after ResetCounters: %d %d", p.BytesUp(), p.BytesDown())
	}
	roundTrip(t, c, r, "x")
	if p.BytesUp() != 2 || p.BytesDown() != 2 {
		t.Errorf("after reset and one round trip: up %d down %d, want 2 2", p.BytesUp(), p.BytesDown())
	}
}

// TestProxyExactCounts streams known amounts both ways at once.
func TestProxyExactCounts(t *testing.T) {
	t.Parallel()
	const upN, downN = 3<<20 + 17, 5<<20 + 3
	got := make(chan error, 1)
	target := testServer(t, func(c net.Conn) {
		go c.Write(bytes.Repeat([]byte("d"), downN))
		_, err := io.ReadFull(c, make([]byte, upN))
		got <- err
		io.Copy(io.Discard, c) // until the client hangs up
	})
	p := newTestProxy(t, target, ProxyOptions{Latency: 2 * time.Millisecond})
	c := dialProxy(t, p)
	go c.Write(bytes.Repeat([]byte("u"), upN))
	if n, err := io.ReadFull(c, make([]byte, downN)); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("server: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not receive everything")
	}
	if p.BytesUp() != upN || p.BytesDown() != downN {
		t.Errorf("BytesUp %d, BytesDown %d; want %d, %d", p.BytesUp(), p.BytesDown(), upN, downN)
	}
}

// TestProxyLatency: a request/response pays one RTT (2×Latency); a
// pipelined 5 MB stream of small writes pays the latency once, not per
// chunk.
func TestProxyLatency(t *testing.T) {
	t.Parallel()
	const latency = 25 * time.Millisecond
	const streamN = 5 << 20
	target := testServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if line == "stream\n" {
				chunk := bytes.Repeat([]byte("s"), 1024)
				for i := 0; i < streamN/len(chunk); i++ {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
				continue
			}
			io.WriteString(c, line)
		}
	})
	p := newTestProxy(t, target, ProxyOptions{Latency: latency})
	c := dialProxy(t, p)
	r := bufio.NewReader(c)
	roundTrip(t, c, r, "warm-up")
	best := time.Hour
	for range 5 {
		best = min(best, roundTrip(t, c, r, "ping"))
	}
	if best < 2*latency || best > 2*latency+50*time.Millisecond {
		t.Errorf("round trip %v, want about %v", best, 2*latency)
	}

	start := time.Now()
	if _, err := io.WriteString(c, "stream\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, streamN)); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("round trip %v; 5 MB stream in 1 KB writes took %v", best, took)
	if took < 2*latency {
		t.Errorf("stream took %v, less than the round trip %v", took, 2*latency)
	}
	// 5120 writes at 25 ms each would take two minutes.
	if took > 2*latency+3*time.Second {
		t.Errorf("stream took %v: latency is paid per chunk", took)
	}
}

func TestProxyBandwidth(t *testing.T) {
	t.Parallel()
	const rate = 2 << 20 // 2 MiB/s
	const n = 1 << 20
	target := testServer(t, func(c net.Conn) {
		c.Write(bytes.Repeat([]byte("b"), n))
		io.Copy(io.Discard, c)
	})
	p := newTestProxy(t, target, ProxyOptions{BytesPerSec: rate})
	c := dialProxy(t, p)
	start := time.Now()
	if _, err := io.ReadFull(c, make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	want := time.Duration(n) * time.Second / rate
	t.Logf("1 MiB at 2 MiB/s took %v (want about %v)", took, want)
	if took < want*8/10 || took > want*3 {
		t.Errorf("took %v, want about %v", took, want)
	}
}

// TestProxyResetAfter: the connection is cut right after the n-th byte
// from the server, with a reset; the next connection is unaffected.
func TestProxyResetAfter(t *testing.T) {
	t.Parallel()
	const total = 200 << 10
	target := testServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			if _, err := c.Write(bytes.Repeat([]byte("r"), total)); err != nil {
				return
			}
		}
	})
	p := newTestProxy(t, target, ProxyOptions{Latency: time.Millisecond})
	for _, cut := range []int64{12345, 0, 65536} {
		c := dialProxy(t, p)
		p.ResetAfter(cut)
		io.WriteString(c, "go\n")
		n, err := io.Copy(io.Discard, c)
		if n != cut {
			t.Errorf("ResetAfter(%d): client got %d bytes", cut, n)
		}
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("ResetAfter(%d): read error %v, want ECONNRESET", cut, err)
		}
	}
	if p.Resets() != 3 {
		t.Errorf("Resets() = %d, want 3", p.Resets())
	}
	// One-shot: a new connection gets everything.
	c := dialProxy(t, p)
	io.WriteString(c, "go\n")
	if _, err := io.ReadFull(c, make([]byte, total)); err != nil {
		t.Fatalf("after the reset: %v", err)
	}
	// Disarmed before it fires: nothing happens.
	p.ResetAfter(10)
	p.ResetAfter(-1)
	io.WriteString(c, "go\n")
	if _, err := io.ReadFull(c, make([]byte, total)); err != nil {
		t.Fatalf("after disarming: %v", err)
	}
}

func TestProxyFreezeThaw(t *testing.T) {
	t.Parallel()
	p := newTestProxy(t, testServer(t, echoLines), ProxyOptions{Latency: time.Millisecond})
	c := dialProxy(t, p)
	r := bufio.NewReader(c)
	roundTrip(t, c, r, "before")
	p.Freeze()
	io.WriteString(c, "frozen\n")
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if line, err := r.ReadString('\n'); err == nil {
		t.Fatalf("got %q through a frozen proxy", line)
	}
	c.SetReadDeadline(time.Time{})
	p.Thaw()
	line, err := r.ReadString('\n')
	if err != nil || line != "frozen\n" {
		t.Fatalf("after Thaw: %q, %v", line, err)
	}
	roundTrip(t, c, r, "after")
}

func TestProxyMaxConnsAndDropAll(t *testing.T) {
	t.Parallel()
	p := newTestProxy(t, testServer(t, echoLines), ProxyOptions{})
	var cs []net.Conn
	for range 3 {
		c := dialProxy(t, p)
		roundTrip(t, c, bufio.NewReader(c), "hi")
		cs = append(cs, c)
	}
	if p.MaxConns() != 3 || p.Conns() != 3 {
		t.Errorf("MaxConns %d, Conns %d; want 3, 3", p.MaxConns(), p.Conns())
	}
	cs[0].Close()
	cs[1].Close()
	waitFor(t, func() bool { return p.Conns() == 1 })
	if p.MaxConns() != 3 {
		t.Errorf("MaxConns %d after closing two, want 3", p.MaxConns())
	}
	p.ResetCounters()
	if p.MaxConns() != 1 {
		t.Errorf("MaxConns %d after ResetCounters, want 1 (the open one)", p.MaxConns())
	}
	p.DropAll()
	cs[2].SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := cs[2].Read(make([]byte, 1)); err == nil {
		t.Error("read from a dropped connection succeeded")
	}
	waitFor(t, func() bool { return p.Conns() == 0 })
	// The proxy still accepts new connections.
	c := dialProxy(t, p)
	roundTrip(t, c, bufio.NewReader(c), "again")
}

// TestProxyCountsAClosedConnectionBeforeTheNext: a client that closes a
// connection and dials another never had two open, even when the proxy's
// reader of the first has not seen the close yet (a loaded machine): the
// new connection's accept counts the closed one as gone first. Here the
// link has no reader at all.
func TestProxyCountsAClosedConnectionBeforeTheNext(t *testing.T) {
	t.Parallel()
	p := newTestProxy(t, testServer(t, echoLines), ProxyOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ours, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	l := &link{p: p, client: ours, server: ours, done: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	if !p.track(l) {
		t.Fatal("proxy closed")
	}
	p.settleClosed()
	if p.Conns() != 1 {
		t.Fatalf("an open connection counted as gone: Conns %d", p.Conns())
	}
	client.Close()
	waitFor(t, func() bool {
		p.settleClosed()
		return p.Conns() == 0
	})
	c := dialProxy(t, p)
	roundTrip(t, c, bufio.NewReader(c), "next")
	if p.MaxConns() != 1 {
		t.Errorf("MaxConns %d after a close and a dial, want 1", p.MaxConns())
	}
}

func TestProxyClose(t *testing.T) {
	t.Parallel()
	p, err := NewProxy(testServer(t, echoLines), ProxyOptions{Latency: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := dialProxy(t, p)
	roundTrip(t, c, bufio.NewReader(c), "hi")
	p.Freeze() // Close must not hang on a frozen link
	io.WriteString(c, "stuck\n")
	done := make(chan struct{})
	go func() {
		p.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung")
	}
	p.Close() // idempotent
	if _, err := net.DialTimeout("tcp", p.Addr, time.Second); err == nil {
		t.Error("connect after Close succeeded")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
