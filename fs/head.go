package fs

import (
	"context"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
)

// headHandle is a message opened while its body is not here: a small
// first read gets the header alone (mail.Head, fetched with the next
// messages' headers), a short read ending at the blank line; a read past
// it, or a large one, gets the body, fetched ahead for a scan (or, for a
// large message, the ranges read).
type headHandle struct {
	mu      sync.Mutex    // protects the following
	headLen int           // bytes of the header served (0: none)
	reading bool          // the body was asked for
	ranged  *rangedHandle // a large body: read in ranges (nil: whole)
}

func (n *msgNode) readHeadFirst(ctx context.Context, h *headHandle, dest []byte, off int64, direct bool) (fuse.ReadResult, syscall.Errno) {
	mb, ref := n.where()
	h.mu.Lock()
	headLen, reading := h.headLen, h.reading
	h.mu.Unlock()
	// Only a process's own read(2) may be answered short: the kernel
	// takes a short read that fills its page cache (splice,
	// copy_file_range, mmap) for the end of the file.
	small := off == 0 && len(dest) <= mail.MaxHeadRead || off > 0 && off < int64(headLen)
	if !reading && small && direct {
		if _, cached := mb.CachedBody(ref); !cached {
			// An empty head (a message with no header, or a server that
			// answers "" for one gone) is no answer: the body says.
			if head, err := mb.Head(ctx, ref); err == nil && len(head) > 0 {
				h.mu.Lock()
				h.headLen = len(head)
				h.mu.Unlock()
				mb.ReadHead()
				return readAt(head, dest, off), 0
			} else if mail.IsInterrupt(err) {
				return nil, syscall.EINTR
			}
			// Any other failure: the body says what is wrong.
		}
	}
	if !reading {
		h.mu.Lock()
		h.reading = true
		h.mu.Unlock()
		mb.ReadBody()
		if h.ranged == nil {
			mb.Reading(ref.UID)
		}
	}
	if h.ranged != nil {
		return n.readRanged(ctx, h.ranged, dest, off)
	}
	body, corrected, err := mb.Body(ctx, ref)
	if err != nil {
		return nil, n.v.errno("read "+mb.Name(), err)
	}
	if corrected {
		n.v.goSafe("kernel notification", func() { n.v.nodes.notifyContent(n) })
	}
	return readAt(body, dest, off), 0
}
