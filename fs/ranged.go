package fs

import (
	"context"
	"strconv"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Large messages are read in ranges: `head -c 4096` of a 5 MB message
// moves one chunk, not 5 MB. A file bigger than rangeThreshold whose body
// is not already cached (or coming with read-ahead) is opened in ranged
// mode: direct I/O (the kernel takes EOF from short reads, so a wrong
// RFC822.SIZE cannot cut a reader short), served from chunks of
// chunkSize fetched with BODY.PEEK[]<off.len> and cached by chunk. A
// sequential reader gets the next chunks fetched ahead.
const (
	rangeThreshold = 1 << 20
	chunkSize      = 256 << 10
	chunkAhead     = 2 // chunks fetched ahead of a sequential reader
)

// rangedHandle is a large message opened in ranged mode.
type rangedHandle struct {
	mu   sync.Mutex // protects the following
	next int64      // chunk a sequential reader asks for next
}

// wantsRanged decides the mode of an open.
func (n *msgNode) wantsRanged(e entry) bool {
	if e.Size <= rangeThreshold {
		return false
	}
	return !n.acct.bodies.Has(n.acct.bodyKey(n.mb.name, n.uidValidity, n.uid))
}

func (n *msgNode) openRanged() (gofs.FileHandle, uint32, syscall.Errno) {
	return &rangedHandle{}, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, 0
}

func (n *msgNode) chunkKey(i int64) string {
	return n.acct.bodyKey(n.mb.name, n.uidValidity, n.uid) + "#" + strconv.FormatInt(i, 10)
}

// chunk returns chunk i (shorter at the end of the message, empty past it).
func (n *msgNode) chunk(ctx context.Context, i int64) ([]byte, error) {
	return n.acct.bodies.GetOrLoad(ctx, n.chunkKey(i), func(ctx context.Context) ([]byte, error) {
		b, err := n.acct.backend.Range(ctx, n.mb.name, n.uidValidity, n.uid, i*chunkSize, chunkSize)
		if err == nil && len(b) < chunkSize && (len(b) > 0 || i == 0) {
			// The last chunk: now the true size is known.
			if n.mb.measured(n.uidValidity, n.uid, i*chunkSize+int64(len(b))) {
				goSafe(n.acct.log, "kernel notification", func() { n.NotifyContent(0, 0) }) // not from READ
			}
		}
		return b, err
	})
}

func (n *msgNode) readRanged(ctx context.Context, h *rangedHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	// The whole body may be cached meanwhile (read-ahead of a scan).
	if body, ok := n.acct.bodies.Peek(n.acct.bodyKey(n.mb.name, n.uidValidity, n.uid)); ok {
		return readAt(body, dest, off), 0
	}
	first := off / chunkSize
	h.mu.Lock()
	sequential := first == h.next || first == h.next-1
	h.next = (off+int64(len(dest))-1)/chunkSize + 1
	h.mu.Unlock()
	if sequential && first > 0 {
		for i := int64(1); i <= chunkAhead; i++ {
			goSafe(n.acct.log, "chunk read-ahead", func() { n.chunk(context.Background(), first+i) })
		}
	}
	out := make([]byte, 0, len(dest))
	for pos := off; len(out) < len(dest); {
		i := pos / chunkSize
		c, err := n.chunk(ctx, i)
		if err != nil {
			return nil, toErrno(n.acct.log, "read "+n.mb.name, err)
		}
		within := pos - i*chunkSize
		if within >= int64(len(c)) {
			break // past the end
		}
		take := min(int64(len(c))-within, int64(len(dest)-len(out)))
		out = append(out, c[within:within+take]...)
		pos += take
		if len(c) < chunkSize {
			break // last chunk
		}
	}
	return fuse.ReadResultData(out), 0
}
