// Package sockq looks below a TCP connection: how much of what was
// written to it the peer has not acknowledged yet, and closing it so
// that what is still queued is dropped rather than delivered.
//
// A command that uploads (an APPEND of a large message) is written into
// the kernel's send buffer at once; on a slow uplink the server receives
// it long after, and answers only then. Bytes leaving that buffer are
// the command's progress, and a command given up must not go on being
// delivered after the client has decided it failed.
package sockq

import (
	"net"

	"golang.org/x/sys/unix"
)

// tcp finds the TCP connection under c (a TLS connection's too).
func tcp(c net.Conn) (*net.TCPConn, bool) {
	if t, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = t.NetConn()
	}
	tc, ok := c.(*net.TCPConn)
	return tc, ok
}

// Unacked is how many bytes written to c the peer has not acknowledged
// (Linux SIOCOUTQ); ok is false when that cannot be known.
func Unacked(c net.Conn) (n int, ok bool) {
	tc, isTCP := tcp(c)
	if !isTCP {
		return 0, false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, false
	}
	rc.Control(func(fd uintptr) {
		v, err := unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
		n, ok = v, err == nil
	})
	return n, ok
}

// Drop makes the next Close of c reset the connection: bytes still
// queued are discarded instead of being sent after the close.
func Drop(c net.Conn) {
	if tc, ok := tcp(c); ok {
		tc.SetLinger(0)
	}
}
