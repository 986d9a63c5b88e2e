package fs

import (
	"os"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
)

// The kernel's nodes of messages are kept here, outside go-fuse's tree of
// nodes: a go-fuse node costs about 270 bytes (its Inode, its entries in
// go-fuse's tables and in its parent's), and `ls -l` of a mailbox makes
// one for every message. A message's node costs a table entry and a small
// msgNode instead. Directories, files being written and the decoded views
// stay go-fuse nodes.
//
// A message's node id is its inode number with the top bit set (go-fuse
// counts its own node ids up from 1), so a request is routed by its id
// alone. A directory's Lookup that finds a message makes its node here
// (msgNodes.lookedUp), fills the kernel's answer and returns errMessage,
// which msgNodes.Lookup turns into that answer; go-fuse's READDIRPLUS
// sends the answer as it is.

// msgBit marks the node ids of messages.
const msgBit = 1 << 63

// errMessage is a directory Lookup's way of saying "the answer in out is
// a message's node, made in msgNodes". It never reaches the kernel.
const errMessage = syscall.EBADSLT

// msgNodes is the kernel adapter's front: requests for message nodes are
// answered from its table, every other request goes to go-fuse.
type msgNodes struct {
	fuse.RawFileSystem // go-fuse's node file system

	server *fuse.Server

	mu     sync.Mutex
	nodes  map[uint64]*msgNode  // by node id
	files  map[uint64]*openFile // open messages by handle number
	nextFh uint64
	// noBacking: the kernel refused a backing file once; no more tries.
	noBacking bool
}

// openFile is one open of a message.
type openFile struct {
	n *msgNode
	h gofs.FileHandle
}

func newMsgNodes() *msgNodes {
	return &msgNodes{nodes: map[uint64]*msgNode{}, files: map[uint64]*openFile{}}
}

func isMsgNode(id uint64) bool { return id&msgBit != 0 }

func (k *msgNodes) Init(s *fuse.Server) {
	k.server = s
	k.RawFileSystem.Init(s)
}

// lookedUp returns the node of the message e of mb, made if the kernel
// holds none, and counts one more lookup the kernel is about to receive.
func (k *msgNodes) lookedUp(v *view, mb *mail.Mailbox, e mail.Entry) *msgNode {
	ino := v.msgIno(mb, e.Ref())
	id := ino | msgBit
	k.mu.Lock()
	defer k.mu.Unlock()
	n := k.nodes[id]
	if n == nil {
		n = &msgNode{v: v, mb: mb, ref: e.Ref(), ino: ino}
		k.nodes[id] = n
	}
	n.lookups++
	return n
}

// find returns the node of the message whose inode number is ino, nil
// when the kernel holds none.
func (k *msgNodes) find(ino uint64) *msgNode {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.nodes[ino|msgBit]
}

// Count is how many message nodes the kernel holds (for tests).
func (k *msgNodes) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.nodes)
}

func (k *msgNodes) node(id uint64) *msgNode {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.nodes[id]
}

// handle returns the open file fh of node n, or the node's first open
// when the kernel gave no handle (stat(2) of an open file: go-fuse does
// the same for its nodes).
func (k *msgNodes) handle(n *msgNode, fh uint64) gofs.FileHandle {
	k.mu.Lock()
	defer k.mu.Unlock()
	if f := k.files[fh]; f != nil && fh != 0 {
		return f.h
	}
	for _, f := range k.files { // few: the files open now
		if f.n == n {
			return f.h
		}
	}
	return nil
}

func ctxOf(caller fuse.Caller, cancel <-chan struct{}) *fuse.Context {
	return &fuse.Context{Caller: caller, Cancel: cancel}
}

func (k *msgNodes) Lookup(cancel <-chan struct{}, header *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	if isMsgNode(header.NodeId) {
		return fuse.Status(syscall.ENOTDIR)
	}
	st := k.RawFileSystem.Lookup(cancel, header, name, out)
	switch {
	case st == fuse.Status(errMessage):
		return fuse.OK
	case st == fuse.ENOENT && out.EntryTimeout() == 0:
		// The kernel remembers for a while that the name is not
		// there (go-fuse's NegativeTimeout, which would also turn a
		// message's answer in READDIRPLUS into a negative one).
		*out = fuse.EntryOut{}
		out.SetEntryTimeout(negativeTimeout)
		return fuse.OK
	}
	return st
}

func (k *msgNodes) Forget(nodeid, nlookup uint64) {
	if !isMsgNode(nodeid) {
		k.RawFileSystem.Forget(nodeid, nlookup)
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if n := k.nodes[nodeid]; n != nil {
		if n.lookups <= nlookup {
			delete(k.nodes, nodeid)
		} else {
			n.lookups -= nlookup
		}
	}
}

func (k *msgNodes) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.GetAttr(cancel, in, out)
	}
	n := k.node(in.NodeId)
	if n == nil {
		return fuse.Status(syscall.ESTALE)
	}
	return fuse.Status(n.Getattr(ctxOf(in.Caller, cancel), k.handle(n, in.Fh()), out))
}

func (k *msgNodes) SetAttr(cancel <-chan struct{}, in *fuse.SetAttrIn, out *fuse.AttrOut) fuse.Status {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.SetAttr(cancel, in, out)
	}
	n := k.node(in.NodeId)
	if n == nil {
		return fuse.Status(syscall.ESTALE)
	}
	fh, _ := in.GetFh()
	var h gofs.FileHandle
	if fh != 0 {
		h = k.handle(n, fh)
	}
	return fuse.Status(n.Setattr(ctxOf(in.Caller, cancel), h, in, out))
}

func (k *msgNodes) Access(cancel <-chan struct{}, in *fuse.AccessIn) fuse.Status {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.Access(cancel, in)
	}
	n := k.node(in.NodeId)
	if n == nil {
		return fuse.Status(syscall.ESTALE)
	}
	// A message is the mounting user's, 0600 (see fillAttr).
	if in.Caller.Uid != 0 && in.Caller.Uid != n.v.uid {
		return fuse.EACCES
	}
	if in.Mask&1 != 0 { // X_OK
		return fuse.EACCES
	}
	return fuse.OK
}

func (k *msgNodes) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.Open(cancel, in, out)
	}
	n := k.node(in.NodeId)
	if n == nil {
		return fuse.Status(syscall.ESTALE)
	}
	h, flags, errno := n.Open(ctxOf(in.Caller, cancel), in.Flags)
	if errno != 0 {
		return fuse.Status(errno)
	}
	out.OpenFlags = flags
	if h == nil {
		return fuse.OK
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.nextFh++
	out.Fh = k.nextFh
	k.files[out.Fh] = &openFile{n: n, h: h}
	k.addBacking(n, h, out)
	return fuse.OK
}

// addBacking hands the kernel the file of a passthrough open (one
// backing id per node, counted by its opens); k.mu is held.
func (k *msgNodes) addBacking(n *msgNode, h gofs.FileHandle, out *fuse.OpenOut) {
	pt, ok := h.(gofs.FilePassthroughFder)
	if !ok || k.noBacking || k.server == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.modesLocked()
	if m.backingID == 0 {
		fd, ok := pt.PassthroughFd()
		if !ok {
			return
		}
		id, errno := k.server.RegisterBackingFd(&fuse.BackingMap{Fd: int32(fd)})
		if errno != 0 {
			k.noBacking = true // not root, or no CAP_SYS_ADMIN
			return
		}
		m.backingID = id
	}
	out.BackingID = m.backingID
	out.OpenFlags |= fuse.FOPEN_PASSTHROUGH
	out.OpenFlags &^= fuse.FOPEN_KEEP_CACHE
	m.backingRefs++
}

func (k *msgNodes) Release(cancel <-chan struct{}, in *fuse.ReleaseIn) {
	if !isMsgNode(in.NodeId) {
		k.RawFileSystem.Release(cancel, in)
		return
	}
	k.mu.Lock()
	f := k.files[in.Fh]
	delete(k.files, in.Fh)
	k.mu.Unlock()
	if f == nil {
		return
	}
	f.n.Release(ctxOf(in.Caller, cancel), f.h)
	if _, ok := f.h.(gofs.FilePassthroughFder); !ok {
		return
	}
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	m := f.n.modesLocked()
	if m.backingID == 0 {
		return
	}
	if m.backingRefs--; m.backingRefs == 0 {
		if errno := k.server.UnregisterBackingFd(m.backingID); errno != 0 {
			f.n.v.log.Warn("the kernel kept a passthrough file", "err", errno)
		}
		m.backingID = 0
	}
}

// sharedDiskFile opens again the file that a passthrough open of n
// reads, nil when n has none: a message this mount moved while a
// program read it keeps its node (and its bytes), but its disk cache
// file is the one of where it was, so a new read joins the kernel's
// passthrough mode of the node instead of waiting for that program to
// close it.
func (k *msgNodes) sharedDiskFile(n *msgNode) *diskHandle {
	n.mu.Lock()
	none := n.modes == nil || n.modes.passthrough == 0
	n.mu.Unlock()
	if none {
		return nil // the common case: no look at the open files
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, f := range k.files {
		h, ok := f.h.(*diskHandle)
		if !ok || f.n != n || !h.passthrough() {
			continue
		}
		fd, err := syscall.Dup(int(h.f.Fd())) // not closed: Release deletes from k.files first
		if err != nil {
			return nil
		}
		syscall.CloseOnExec(fd)
		h.pt.opens.Add(1)
		return &diskHandle{f: os.NewFile(uintptr(fd), h.f.Name()), pt: h.pt}
	}
	return nil
}

// opened returns the node and handle of a request on an open message.
func (k *msgNodes) opened(fh uint64) (*msgNode, gofs.FileHandle, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.files[fh]
	if f == nil {
		return nil, nil, false
	}
	return f.n, f.h, true
}

func (k *msgNodes) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.Read(cancel, in, buf)
	}
	n, h, ok := k.opened(in.Fh)
	if !ok {
		return nil, fuse.EBADF
	}
	// The kernel marks the reads it makes for a process's read(2) on a
	// direct-I/O file (fuse_direct_io); splice, copy_file_range and mmap
	// fill the page cache even for such a file, and take a short read
	// for the end of the file.
	direct := in.ReadFlags&fuse.READ_LOCKOWNER != 0
	r, errno := n.Read(ctxOf(in.Caller, cancel), h, buf, int64(in.Offset), direct)
	return r, fuse.Status(errno)
}

func (k *msgNodes) Write(cancel <-chan struct{}, in *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.Write(cancel, in, data)
	}
	n, h, ok := k.opened(in.Fh)
	if !ok {
		return 0, fuse.EBADF
	}
	w, errno := n.Write(ctxOf(in.Caller, cancel), h, data, int64(in.Offset))
	return w, fuse.Status(errno)
}

func (k *msgNodes) Writev(cancel <-chan struct{}, in *fuse.WriteIn, data [][]byte) (uint32, fuse.Status) {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.Writev(cancel, in, data)
	}
	var all []byte
	for _, d := range data {
		all = append(all, d...)
	}
	return k.Write(cancel, in, all)
}

func (k *msgNodes) Flush(cancel <-chan struct{}, in *fuse.FlushIn) fuse.Status {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.Flush(cancel, in)
	}
	n, h, ok := k.opened(in.Fh)
	if !ok {
		return fuse.EBADF
	}
	return fuse.Status(n.Flush(ctxOf(in.Caller, cancel), h))
}

func (k *msgNodes) Fsync(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.Fsync(cancel, in)
	}
	n, h, ok := k.opened(in.Fh)
	if !ok {
		return fuse.EBADF
	}
	return fuse.Status(n.Fsync(ctxOf(in.Caller, cancel), h, in.FsyncFlags))
}

func (k *msgNodes) GetXAttr(cancel <-chan struct{}, in *fuse.InHeader, attr string, dest []byte) (uint32, fuse.Status) {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.GetXAttr(cancel, in, attr, dest)
	}
	n := k.node(in.NodeId)
	if n == nil {
		return 0, fuse.Status(syscall.ESTALE)
	}
	sz, errno := n.Getxattr(ctxOf(in.Caller, cancel), attr, dest)
	return sz, fuse.Status(errno)
}

func (k *msgNodes) ListXAttr(cancel <-chan struct{}, in *fuse.InHeader, dest []byte) (uint32, fuse.Status) {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.ListXAttr(cancel, in, dest)
	}
	n := k.node(in.NodeId)
	if n == nil {
		return 0, fuse.Status(syscall.ESTALE)
	}
	sz, errno := n.Listxattr(ctxOf(in.Caller, cancel), dest)
	return sz, fuse.Status(errno)
}

func (k *msgNodes) SetXAttr(cancel <-chan struct{}, in *fuse.SetXAttrIn, attr string, data []byte) fuse.Status {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.SetXAttr(cancel, in, attr, data)
	}
	n := k.node(in.NodeId)
	if n == nil {
		return fuse.Status(syscall.ESTALE)
	}
	return fuse.Status(n.Setxattr(ctxOf(in.Caller, cancel), attr, data, in.Flags))
}

func (k *msgNodes) RemoveXAttr(cancel <-chan struct{}, in *fuse.InHeader, attr string) fuse.Status {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.RemoveXAttr(cancel, in, attr)
	}
	n := k.node(in.NodeId)
	if n == nil {
		return fuse.Status(syscall.ESTALE)
	}
	return fuse.Status(n.Removexattr(ctxOf(in.Caller, cancel), attr))
}

// Lseek: SEEK_DATA and SEEK_HOLE of a file without holes, as go-fuse
// answers for its nodes.
func (k *msgNodes) Lseek(cancel <-chan struct{}, in *fuse.LseekIn, out *fuse.LseekOut) fuse.Status {
	if !isMsgNode(in.NodeId) {
		return k.RawFileSystem.Lseek(cancel, in, out)
	}
	n, h, ok := k.opened(in.Fh)
	if !ok {
		return fuse.EBADF
	}
	var a fuse.AttrOut
	if errno := n.Getattr(ctxOf(in.Caller, cancel), h, &a); errno != 0 {
		return fuse.Status(errno)
	}
	switch in.Whence {
	case unixSeekData:
		if in.Offset >= a.Size {
			return fuse.Status(syscall.ENXIO)
		}
		out.Offset = in.Offset
		return fuse.OK
	case unixSeekHole:
		if in.Offset > a.Size {
			return fuse.Status(syscall.ENXIO)
		}
		out.Offset = a.Size
		return fuse.OK
	}
	return fuse.ENOTSUP
}

const (
	unixSeekData = 3
	unixSeekHole = 4
)

// What a message does not do.

func (k *msgNodes) Statx(cancel <-chan struct{}, in *fuse.StatxIn, out *fuse.StatxOut) fuse.Status {
	if isMsgNode(in.NodeId) {
		return fuse.ENOSYS // the kernel asks GETATTR instead
	}
	return k.RawFileSystem.Statx(cancel, in, out)
}

func (k *msgNodes) GetLk(cancel <-chan struct{}, in *fuse.LkIn, out *fuse.LkOut) fuse.Status {
	if isMsgNode(in.NodeId) {
		return fuse.ENOTSUP
	}
	return k.RawFileSystem.GetLk(cancel, in, out)
}

func (k *msgNodes) SetLk(cancel <-chan struct{}, in *fuse.LkIn) fuse.Status {
	if isMsgNode(in.NodeId) {
		return fuse.ENOTSUP
	}
	return k.RawFileSystem.SetLk(cancel, in)
}

func (k *msgNodes) SetLkw(cancel <-chan struct{}, in *fuse.LkIn) fuse.Status {
	if isMsgNode(in.NodeId) {
		return fuse.ENOTSUP
	}
	return k.RawFileSystem.SetLkw(cancel, in)
}

func (k *msgNodes) Fallocate(cancel <-chan struct{}, in *fuse.FallocateIn) fuse.Status {
	if isMsgNode(in.NodeId) {
		return fuse.ENOTSUP
	}
	return k.RawFileSystem.Fallocate(cancel, in)
}

func (k *msgNodes) CopyFileRange(cancel <-chan struct{}, in *fuse.CopyFileRangeIn) (uint32, fuse.Status) {
	if isMsgNode(in.NodeId) || isMsgNode(in.NodeIdOut) {
		return 0, fuse.ENOTSUP // the kernel copies through the page cache
	}
	return k.RawFileSystem.CopyFileRange(cancel, in)
}

func (k *msgNodes) Ioctl(cancel <-chan struct{}, in *fuse.IoctlIn, inbuf []byte, out *fuse.IoctlOut, outbuf []byte) fuse.Status {
	if isMsgNode(in.NodeId) {
		return fuse.Status(syscall.ENOTTY)
	}
	return k.RawFileSystem.Ioctl(cancel, in, inbuf, out, outbuf)
}

func (k *msgNodes) Readlink(cancel <-chan struct{}, in *fuse.InHeader) ([]byte, fuse.Status) {
	if isMsgNode(in.NodeId) {
		return nil, fuse.EINVAL
	}
	return k.RawFileSystem.Readlink(cancel, in)
}

// Link is refused with EPERM everywhere: this file system has no hard
// links, and EPERM is how link(2) says so (mutt, neomutt and mblaze then
// rename instead). go-fuse would answer ENOTSUP for most directories.
func (k *msgNodes) Link(cancel <-chan struct{}, in *fuse.LinkIn, name string, out *fuse.EntryOut) fuse.Status {
	return fuse.EPERM
}

// StatFs of a message is its file system's.
func (k *msgNodes) StatFs(cancel <-chan struct{}, in *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	if isMsgNode(in.NodeId) {
		root := *in
		root.NodeId = fuse.FUSE_ROOT_ID
		return k.RawFileSystem.StatFs(cancel, &root, out)
	}
	return k.RawFileSystem.StatFs(cancel, in, out)
}

// notifyContent tells the kernel a message's cached pages and attributes
// are out of date.
func (k *msgNodes) notifyContent(n *msgNode) {
	if k.server != nil {
		k.server.InodeNotify(n.ino|msgBit, 0, 0)
	}
}
