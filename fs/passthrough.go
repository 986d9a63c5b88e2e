package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/internal/private"
)

// Messages whose body is in the disk cache are opened on its file. Where
// the kernel allows FUSE passthrough (Linux 6.9 and later, with
// CAP_SYS_ADMIN), go-fuse hands it the file and reads never reach
// mailfs; elsewhere mailfs reads the file itself (pread), which still
// needs no network and no body in memory.

// passthrough counts what happened to disk-cached opens.
type passthrough struct {
	kernel   atomic.Bool  // the kernel offered passthrough at INIT, and we may use it
	opens    atomic.Int64 // opens on a disk cache file
	fallback atomic.Int64 // of them, reads mailfs served itself
}

// diskHandle is a message opened on its disk cache file.
type diskHandle struct {
	f         *os.File
	pt        *passthrough
	viaMailfs bool        // not passthrough: the message is open in another mode too
	served    atomic.Bool // a read reached mailfs
}

var (
	_ = (gofs.FilePassthroughFder)((*diskHandle)(nil))
	_ = (gofs.FileReader)((*diskHandle)(nil))
	_ = (gofs.FileReleaser)((*diskHandle)(nil))
)

func (h *diskHandle) PassthroughFd() (int, bool) {
	if !h.passthrough() {
		return 0, false
	}
	return int(h.f.Fd()), true
}

// passthrough says whether the kernel reads this open's file itself.
func (h *diskHandle) passthrough() bool { return !h.viaMailfs && h.pt.kernel.Load() }

func (h *diskHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if !h.served.Swap(true) {
		h.pt.fallback.Add(1)
	}
	n, err := h.f.ReadAt(dest, off)
	if n == 0 && err != nil && !errors.Is(err, io.EOF) {
		return nil, gofs.ToErrno(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *diskHandle) Release(ctx context.Context) syscall.Errno {
	h.f.Close()
	return 0
}

// openFromDisk opens the message on its disk cache file, if it has one.
func (n *msgNode) openFromDisk() (*diskHandle, int64, bool) {
	mb, ref := n.where()
	path, size, ok := mb.DiskFile(ref)
	if !ok {
		return nil, 0, false
	}
	f, err := private.OpenFile(path, os.O_RDONLY)
	if err != nil {
		return nil, 0, false // evicted meanwhile: the usual way
	}
	n.v.pt.opens.Add(1)
	return &diskHandle{f: f, pt: n.v.pt}, size, true
}

// PassthroughStatus says whether disk-cached messages are read by the
// kernel directly, for mailfs status.
func (m *Mounted) PassthroughStatus() string {
	if len(m.views) == 0 {
		return "-"
	}
	pt := m.views[0].pt
	opens, fallback := pt.opens.Load(), pt.fallback.Load()
	switch {
	case !pt.kernel.Load():
		return fmt.Sprintf("off (%s); %d disk-cached opens read by mailfs", passthroughWhyNot(m.Server), opens)
	case opens > 0 && fallback == opens:
		return fmt.Sprintf("refused by the kernel; %d disk-cached opens read by mailfs", opens)
	default:
		return fmt.Sprintf("on: %d disk-cached opens, %d of them read through mailfs", opens, fallback)
	}
}

func passthroughWhyNot(s *fuse.Server) string {
	if os.Geteuid() != 0 {
		return "needs root or CAP_SYS_ADMIN"
	}
	if s == nil || s.KernelSettings().Flags64()&fuse.CAP_PASSTHROUGH == 0 {
		return "the kernel does not offer it: Linux 6.9 or later"
	}
	return "unavailable"
}

// enablePassthrough decides, once the kernel has answered INIT, whether
// disk-cached opens may use passthrough.
func (m *Mounted) enablePassthrough() {
	ok := os.Geteuid() == 0 && m.Server.KernelSettings().Flags64()&fuse.CAP_PASSTHROUGH != 0
	for _, v := range m.views {
		v.pt.kernel.Store(ok)
	}
}
