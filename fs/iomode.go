package fs

import (
	"context"
	"mailfs/mail"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"

	"mailfs/mail/files"
)

// The kernel keeps one I/O mode per inode while it is open (Linux 6.9
// and later, fs/fuse/iomode.c): an open for passthrough is refused while
// the file is open in cached mode, and any open without passthrough while
// it is open for passthrough, both as EIO to the program opening it. A
// message changes between the two when its body reaches a cache while a
// reader holds it open, so a node counts its opens by mode and a new
// open follows the mode already there: passthrough only when the message
// has no other open (or only passthrough ones), and an open that cannot
// be passthrough waits for the passthrough ones to be released.
//
// Direct-I/O opens (heads, ranges, writes) are counted too, although the
// kernel lets them coexist with cached ones: mailfs answers an open
// before the kernel reads the answer, so a direct open answered first
// may reach the kernel after a passthrough one answered later.

// ioMode is how the kernel reads one open of a message.
type ioMode int

const (
	ioDirect      ioMode = iota // FOPEN_DIRECT_IO: no mode of the inode
	ioCached                    // the page cache
	ioPassthrough               // the kernel reads the backing file
)

// openModes is what a node holds from its first open (or this mount's
// move of its message) on, made then so that the many listed messages
// never opened cost nothing: its opens by mode, and the message's state
// as last known. It is guarded by the node's mu.
type openModes struct {
	openMu sync.Mutex // one Open at a time

	cached, direct, passthrough int
	released                    chan struct{} // closed (and replaced) when a passthrough open is released

	// last is the message's state as last known, kept (when kept is
	// true) for as long as the node lives, so that a descriptor still
	// open on a message that went answers fstat.
	last mail.Entry
	kept bool

	// The kernel's backing file of passthrough opens, and how many
	// opens use it (see msgNodes.addBacking).
	backingID   int32
	backingRefs int
}

// modesLocked returns the node's counts, made on first use; n.mu is held.
func (n *msgNode) modesLocked() *openModes {
	if n.modes == nil {
		n.modes = &openModes{}
	}
	return n.modes
}

// openLock serializes the node's opens.
func (n *msgNode) openLock() *sync.Mutex {
	n.mu.Lock()
	defer n.mu.Unlock()
	return &n.modesLocked().openMu
}

// passthroughWait bounds how long an open waits for passthrough opens to
// be released. The kernel forgets an open before mailfs sees its
// RELEASE, so `cat f; echo x >> f` may find one still counted.
const passthroughWait = 2 * time.Second

// modeOfHandle says which mode the kernel holds an open answered with h in.
func modeOfHandle(h gofs.FileHandle) ioMode {
	switch h := h.(type) {
	case *diskHandle:
		if h.passthrough() {
			return ioPassthrough
		}
		return ioCached
	case *modeHandle:
		return h.mode
	}
	return ioDirect // heads, ranges, writes, the bytes being written
}

// opened counts an open the kernel is being answered.
func (n *msgNode) opened(mode ioMode) {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.modesLocked()
	switch mode {
	case ioCached:
		m.cached++
	case ioDirect:
		m.direct++
	case ioPassthrough:
		m.passthrough++
	}
}

// closed uncounts a released open.
func (n *msgNode) closed(mode ioMode) {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.modesLocked()
	switch mode {
	case ioCached:
		m.cached--
	case ioDirect:
		m.direct--
	case ioPassthrough:
		m.passthrough--
		if m.released != nil {
			close(m.released)
			m.released = nil
		}
	}
}

// mayPassthrough reports whether a new open may be passthrough: the
// message is not open, or open only for passthrough.
func (n *msgNode) mayPassthrough() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.modesLocked()
	return m.passthrough > 0 || m.cached+m.direct == 0
}

// awaitNoPassthrough waits until no open of the node is passthrough,
// for an open that cannot be. ETXTBSY when one stays open: the kernel
// would refuse the open (as EIO) anyway.
func (n *msgNode) awaitNoPassthrough(ctx context.Context) syscall.Errno {
	deadline := time.NewTimer(passthroughWait)
	defer deadline.Stop()
	for {
		n.mu.Lock()
		m := n.modesLocked()
		if m.passthrough == 0 {
			n.mu.Unlock()
			return 0
		}
		if m.released == nil {
			m.released = make(chan struct{})
		}
		ch := m.released
		n.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			n.v.log.Warn("open refused: the message is open for kernel reads (passthrough) by another program; try again after it closes it", "file", n.v.name(n.state()))
			return syscall.ETXTBSY
		case <-ctx.Done():
			return syscall.EINTR
		}
	}
}

// modeHandle is the handle of an open whose reads need no state of
// their own (cached mode, or the bytes being written): it exists so
// that Release knows the open's mode, and for the bytes being written
// which file they are (read on from it once it is stored).
type modeHandle struct {
	mode    ioMode
	writing *files.File
}
