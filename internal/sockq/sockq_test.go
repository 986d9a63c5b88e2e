package sockq

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestUnackedAndDrop: bytes a peer does not read stay queued and are
// counted; after Drop and Close the peer sees a reset, not the bytes.
func TestUnackedAndDrop(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	defer peer.Close()
	if n, ok := Unacked(c); !ok || n != 0 {
		t.Fatalf("a fresh connection: %d unacknowledged, %v", n, ok)
	}
	// The peer reads nothing: its receive buffer fills, then ours.
	c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	chunk := make([]byte, 1<<20)
	for {
		if _, err := c.Write(chunk); err != nil {
			break // the buffers are full
		}
	}
	n, ok := Unacked(c)
	if !ok || n == 0 {
		t.Fatalf("with the peer not reading: %d unacknowledged, %v", n, ok)
	}
	Drop(c)
	c.Close()
	// The peer gets some bytes, then a reset: never everything queued.
	got, err := io.Copy(io.Discard, peer)
	if err == nil {
		t.Errorf("the peer read %d bytes and a clean end, want a reset", got)
	}
}
