package fs

import (
	"context"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
)

// Large messages are read in ranges: `head -c 4096` of a 5 MB message
// moves one chunk, not 5 MB. A file bigger than rangeThreshold whose body
// is not already cached (or coming with read-ahead) is opened in ranged
// mode: direct I/O (the kernel takes EOF from short reads, so a wrong
// RFC822.SIZE cannot cut a reader short), served from the model's chunks.
// A sequential reader gets the next chunks fetched ahead.
const (
	rangeThreshold = 1 << 20
	chunkAhead     = 2 // chunks fetched ahead of a sequential reader
)

// rangedHandle is a large message opened in ranged mode.
type rangedHandle struct {
	mu   sync.Mutex // protects the following
	next int64      // chunk a sequential reader asks for next
}

func (n *msgNode) wantsRanged(mb *mail.Mailbox, e mail.Entry) bool {
	return e.Size > rangeThreshold && !mb.HasBody(e.Ref())
}

// chunk returns chunk i; when it shows the size was wrong, the kernel is
// told from a goroutine (never from READ itself).
func (n *msgNode) chunk(ctx context.Context, mb *mail.Mailbox, ref mail.Ref, i int64) ([]byte, error) {
	c, corrected, err := mb.Chunk(ctx, ref, i)
	if corrected {
		n.v.goSafe("kernel notification", func() { n.v.nodes.notifyContent(n) })
	}
	return c, err
}

func (n *msgNode) readRanged(ctx context.Context, h *rangedHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	mb, ref := n.where()
	// The whole body may be cached meanwhile (read-ahead of a scan).
	if body, ok := mb.CachedBody(ref); ok {
		return readAt(body, dest, off), 0
	}
	first := off / mail.ChunkSize
	h.mu.Lock()
	sequential := first == h.next || first == h.next-1
	h.next = (off+int64(len(dest))-1)/mail.ChunkSize + 1
	h.mu.Unlock()
	if sequential && first > 0 {
		for i := int64(1); i <= chunkAhead; i++ {
			n.v.goSafe("chunk read-ahead", func() { n.chunk(context.Background(), mb, ref, first+i) })
		}
	}
	out := make([]byte, 0, len(dest))
	for pos := off; len(out) < len(dest); {
		i := pos / mail.ChunkSize
		c, err := n.chunk(ctx, mb, ref, i)
		if err != nil {
			return nil, n.v.errno("read "+mb.Name(), err)
		}
		within := pos - i*mail.ChunkSize
		if within >= int64(len(c)) {
			break // past the end
		}
		take := min(int64(len(c))-within, int64(len(dest)-len(out)))
		out = append(out, c[within:within+take]...)
		pos += take
		if len(c) < mail.ChunkSize {
			break // last chunk
		}
	}
	return fuse.ReadResultData(out), 0
}
