package testenv

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sync/semaphore"
	"golang.org/x/sys/unix"
)

// Proxy is a TCP proxy on loopback between a client and a server. It can
// behave like a slow network link (a one-way delay and a bandwidth cap per
// direction, see ProxyOptions), count the bytes it forwards and the
// connections open at once, stop forwarding (a black hole: connections stay
// open, nothing arrives), drop every connection, or reset a connection in
// the middle of a reply. Fault tests and the benchmark put it in front of a
// server.
//
// Each direction of each connection is forwarded by two goroutines: a reader
// that stamps every chunk with the time it arrived, and a writer that holds
// the chunk until stamp + Latency (and, with a bandwidth cap, until the link
// has had time to send the bytes before it). A pipelined stream therefore
// takes Latency plus its transfer time, like on a real link, not Latency
// per chunk. The proxy buffers at most proxyWindow bytes per direction
// (like a TCP window); beyond that it stops reading from the sender.
// Connection set-up is not delayed: a client's connect completes at once and
// the server's greeting arrives Latency later.
type Proxy struct {
	Addr   string
	target string
	opts   ProxyOptions
	ln     net.Listener

	up, down atomic.Int64 // bytes delivered client→server, server→client

	mu         sync.Mutex // protects the following
	frozen     bool
	thaw       chan struct{}
	links      map[*link]struct{}
	closed     bool
	active     int   // client connections open now
	maxActive  int   // peak of active since the last ResetCounters
	resetLeft  int64 // server→client bytes before a reset; <0: not armed
	resetCount int
	wg         sync.WaitGroup
}

// ProxyOptions shape the link the proxy simulates. The zero value forwards
// at full speed.
type ProxyOptions struct {
	// Latency is the one-way delay added to each direction, so the round
	// trip time the client sees is 2×Latency (plus the server's own).
	Latency time.Duration
	// BytesPerSec caps the bandwidth of each direction of each connection;
	// 0 means unlimited.
	BytesPerSec int64
	// Window is the most bytes the proxy holds per direction (at least
	// 64 KiB; 0: 32 MiB). A small one makes a slow link back up into the
	// sender's socket, as a real uplink does.
	Window int64
}

const (
	proxyChunk  = 64 << 10 // largest read from a socket
	proxyWindow = 32 << 20 // most bytes buffered per direction
)

// StartProxy forwards 127.0.0.1:<free port> to target until Cleanup, at
// full speed.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := NewProxy(target, ProxyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// NewProxy forwards 127.0.0.1:<free port> (Addr) to target with the delay
// and bandwidth of opts until Close. It needs no testing.TB, so programs
// such as the benchmark can use it.
func NewProxy(target string, opts ProxyOptions) (*Proxy, error) {
	if opts.Latency < 0 || opts.BytesPerSec < 0 {
		return nil, fmt.Errorf("testenv: proxy: negative latency or bandwidth: %+v", opts)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		Addr: ln.Addr().String(), target: target, opts: opts, ln: ln,
		links: map[*link]struct{}{}, thaw: make(chan struct{}), resetLeft: -1,
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// link is one proxied connection: the client's socket and ours to the
// server.
type link struct {
	p              *Proxy
	client, server net.Conn
	done           chan struct{} // closed when the link is torn down
	ctx            context.Context
	cancel         context.CancelFunc // with done
	closeOnce      sync.Once
	goneOnce       sync.Once   // the client's end is gone (counted once)
	silent         atomic.Bool // forwards nothing any more (SilenceExisting)
}

// chunk is a piece of the stream stamped with its arrival time; eof marks
// the end of the stream (the sender closed, or the read failed).
type chunk struct {
	b   []byte
	at  time.Time
	eof bool
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		l := &link{p: p, client: c, server: s, done: make(chan struct{})}
		l.ctx, l.cancel = context.WithCancel(context.Background())
		p.settleClosed()
		if !p.track(l) {
			l.cancel()
			return
		}
		p.wg.Add(4)
		up := make(chan chunk, proxyWindow/proxyChunk*4)
		down := make(chan chunk, proxyWindow/proxyChunk*4)
		window := int64(proxyWindow)
		if p.opts.Window > 0 {
			window = max(p.opts.Window, proxyChunk)
			// The kernel's buffers in front of the proxy are part of
			// the window too.
			for _, end := range []net.Conn{c, s} {
				if tc, ok := end.(*net.TCPConn); ok {
					tc.SetReadBuffer(int(window))
				}
			}
		}
		upWin, downWin := semaphore.NewWeighted(window), semaphore.NewWeighted(window)
		go l.read(c, up, upWin, true)
		go l.write(s, up, upWin, false)
		go l.read(s, down, downWin, false)
		go l.write(c, down, downWin, true)
	}
}

// track registers a new link, or closes it when the proxy is closed.
func (p *Proxy) track(l *link) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		l.client.Close()
		l.server.Close()
		return false
	}
	p.links[l] = struct{}{}
	p.active++
	p.maxActive = max(p.maxActive, p.active)
	return true
}

// settleClosed counts as gone every link whose client has closed its end
// already, though the link's reader has not seen that yet. A client that
// closes one connection and then dials another has one open when the new
// one is accepted, not two, as a count left to the reader's pace (a busy
// or loaded machine) would say; MaxConns measures the client, not us.
func (p *Proxy) settleClosed() {
	for _, l := range p.openLinks() {
		if peerClosed(l.client) {
			l.clientGone()
		}
	}
}

// peerClosed reports whether the other end of c has closed it (its FIN or
// RST has arrived: our side is no longer ESTABLISHED). On loopback the
// FIN is delivered within the peer's close(2), so a close followed by a
// connect is seen here in that order.
func peerClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	rc.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		closed = err == nil && info.State != unix.BPF_TCP_ESTABLISHED
	})
	return closed
}

// close tears the link down (both sockets) once. With abort, the client
// gets a TCP RST instead of a FIN.
func (l *link) close(abort bool) {
	l.closeOnce.Do(func() {
		close(l.done)
		l.cancel()
		if abort {
			if tc, ok := l.client.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			if tc, ok := l.server.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
		}
		l.client.Close()
		l.server.Close()
		l.clientGone()
		l.p.mu.Lock()
		delete(l.p.links, l)
		l.p.mu.Unlock()
	})
}

// clientGone counts the connection as closed: when either end closed it,
// or when the link is torn down, whichever comes first.
func (l *link) clientGone() {
	l.goneOnce.Do(func() {
		l.p.mu.Lock()
		l.p.active--
		l.p.mu.Unlock()
	})
}

// read stamps what arrives from src and queues it for write.
func (l *link) read(src net.Conn, out chan<- chunk, win *semaphore.Weighted, fromClient bool) {
	defer l.p.wg.Done()
	buf := make([]byte, proxyChunk)
	for {
		if win.Acquire(l.ctx, proxyChunk) != nil {
			return // link closed
		}
		n, err := src.Read(buf)
		at := time.Now()
		win.Release(int64(proxyChunk - n)) // keep only what we actually hold
		if n > 0 {
			b := make([]byte, n)
			copy(b, buf[:n])
			select {
			case out <- chunk{b: b, at: at}:
			case <-l.done:
				return
			}
		}
		if err != nil {
			// The client hung up, or the server ended the session (LOGOUT,
			// BYE): either way it no longer counts as open. Counting a
			// server-ended session until its client also closed would
			// count it twice while the client, already told, dials anew.
			l.clientGone()
			select {
			case out <- chunk{at: at, eof: true}:
			case <-l.done:
			}
			return
		}
	}
}

// write delivers queued chunks to dst once their delay has passed. The end
// of either stream tears the whole link down, as a plain proxy would.
func (l *link) write(dst net.Conn, in <-chan chunk, win *semaphore.Weighted, toClient bool) {
	p := l.p
	defer p.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	sleepUntil := func(t time.Time) bool {
		d := time.Until(t)
		if d <= 0 {
			return true
		}
		timer.Reset(d)
		select {
		case <-timer.C:
			return true
		case <-l.done:
			return false
		}
	}
	bps := p.opts.BytesPerSec
	piece := proxyChunk
	if bps > 0 {
		// Small pieces keep the pace smooth: ~5 ms of transfer each.
		piece = int(min(max(bps/200, 1024), proxyChunk))
	}
	var linkFree time.Time // when the (capped) link has sent what it was given
	for {
		var c chunk
		select {
		case c = <-in:
		case <-l.done:
			return
		}
		if !sleepUntil(c.at.Add(p.opts.Latency)) {
			return
		}
		if l.silent.Load() && !(c.eof && !toClient) {
			<-l.done // a silent death: nothing ever arrives again
			return
		}
		if c.eof {
			l.close(false)
			return
		}
		if !p.waitThawed(l.done) {
			return
		}
		data := c.b
		for len(data) > 0 {
			n := min(len(data), piece)
			if bps > 0 {
				if !sleepUntil(linkFree) {
					return
				}
				// At most 10 ms of unused capacity is carried over, so
				// the pace neither drifts with timer lateness nor bursts
				// after an idle spell.
				base := time.Now().Add(-10 * time.Millisecond)
				if linkFree.After(base) {
					base = linkFree
				}
				linkFree = base.Add(time.Duration(int64(n) * int64(time.Second) / bps))
			}
			cut := false
			if toClient {
				n, cut = p.takeResetBudget(n)
			}
			if n > 0 {
				// Counted before the write, so that a peer that has
				// read the bytes finds them counted; a short write
				// takes back what was not delivered.
				counter := &p.up
				if toClient {
					counter = &p.down
				}
				counter.Add(int64(n))
				w, err := dst.Write(data[:n])
				if w < n {
					counter.Add(int64(w - n))
				}
				if err != nil {
					l.close(false)
					return
				}
			}
			if cut {
				waitSent(dst, time.Second)
				l.close(true)
				return
			}
			data = data[n:]
		}
		win.Release(int64(len(c.b)))
	}
}

// waitThawed blocks while the proxy is frozen; false when the link closed.
func (p *Proxy) waitThawed(done <-chan struct{}) bool {
	p.mu.Lock()
	frozen, thaw := p.frozen, p.thaw
	p.mu.Unlock()
	if !frozen {
		return true
	}
	select {
	case <-thaw: // the peer saw silence until now
		return true
	case <-done:
		return false
	}
}

// takeResetBudget returns how many of n server→client bytes may still be
// delivered, and whether the connection must be reset right after them.
func (p *Proxy) takeResetBudget(n int) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resetLeft < 0 {
		return n, false
	}
	if p.resetLeft > int64(n) {
		p.resetLeft -= int64(n)
		return n, false
	}
	k := int(p.resetLeft)
	p.resetLeft = -1
	p.resetCount++
	return k, true
}

// waitSent waits (at most max) until the kernel has handed everything
// written to c to the peer, so that a reset right after does not discard
// bytes that were counted as delivered.
func waitSent(c net.Conn, max time.Duration) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		var queued int32
		var errno syscall.Errno
		rc.Control(func(fd uintptr) {
			_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&queued)))
		})
		if errno != 0 || queued == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// Freeze stops forwarding in both directions: a black hole. Bytes that
// arrive meanwhile are held (up to the window) and delivered after Thaw.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.frozen {
		p.frozen = true
		p.thaw = make(chan struct{})
	}
}

// Thaw resumes forwarding.
func (p *Proxy) Thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen {
		p.frozen = false
		close(p.thaw)
	}
}

// SilenceExisting makes every connection open now a black hole for
// good, while new connections work: the server side of those
// connections died without a word (a NAT forgot them, a host vanished).
func (p *Proxy) SilenceExisting() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.links {
		l.silent.Store(true)
	}
}

// DropAll closes every open connection (a network reset).
func (p *Proxy) DropAll() {
	for _, l := range p.openLinks() {
		l.close(false)
	}
}

// openLinks returns the links not torn down yet.
func (p *Proxy) openLinks() []*link {
	p.mu.Lock()
	defer p.mu.Unlock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	return links
}

// ResetAfter arms a one-shot fault: the connection that carries the n-th
// server→client byte counted from now (on any connection, open or opened
// later) receives exactly those bytes and is then closed abruptly — the
// client gets a TCP RST (ECONNRESET), as when a link dies in the middle of
// a FETCH literal. n = 0 resets the next connection that has bytes for its
// client before it delivers any; n < 0 disarms. Resets counts the resets
// done.
func (p *Proxy) ResetAfter(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n < 0 {
		n = -1
	}
	p.resetLeft = n
}

// Resets returns how many connections ResetAfter has reset so far.
func (p *Proxy) Resets() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.resetCount
}

// BytesUp returns the bytes delivered from clients to the server since the
// start or the last ResetCounters.
func (p *Proxy) BytesUp() int64 { return p.up.Load() }

// BytesDown returns the bytes delivered from the server to clients since
// the start or the last ResetCounters.
func (p *Proxy) BytesDown() int64 { return p.down.Load() }

// Conns returns the number of client connections open now.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.active
}

// MaxConns returns the most client connections that were open at once
// since the start or the last ResetCounters. A connection counts from the
// moment the proxy accepts it until its client closes it or the link is
// torn down.
func (p *Proxy) MaxConns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxActive
}

// ResetCounters zeroes the byte counters and sets MaxConns to the number of
// connections open now.
func (p *Proxy) ResetCounters() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up.Store(0)
	p.down.Store(0)
	p.maxActive = p.active
}

// Close stops the proxy and closes all connections.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.Thaw()
	p.DropAll()
	p.wg.Wait()
}
