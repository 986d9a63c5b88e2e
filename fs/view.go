package fs

import (
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	lru "github.com/hashicorp/golang-lru/v2"

	"mailfs/mail"
	"mailfs/mail/files"
)

// view is the file system's side of one mounted account: the models it
// adapts (the mail model, and the file model for names and files being
// written), and the directory inodes to notify.
type view struct {
	acct     *mail.Account
	files    *files.Model
	log      *slog.Logger
	style    NameStyle
	ttl      time.Duration
	uid, gid uint32 // owner of every file
	started  time.Time
	readOnly bool
	searches map[string]string // named searches under .search: name -> query
	results  *lru.Cache[string, *searchResult]
	pt       *passthrough   // shared by the mount's views
	nodes    *msgNodes      // the kernel's nodes of messages
	bg       sync.WaitGroup // kernel notifications in flight

	mu        sync.Mutex             // protects the following
	inodes    map[uint64]*gofs.Inode // mailbox directories by mailbox ID, for kernel notifications
	unmounted bool                   // no more kernel notifications
	writing   int                    // descriptors open for writing (RELEASE not seen yet)
	settled   chan struct{}          // closed while writing is 0
}

// dirInode remembers the inode of mailbox mb's directory (nil: only
// make sure the model knows of it).
func (v *view) dirInode(mb *mail.Mailbox, in *gofs.Inode) {
	if in == nil {
		return
	}
	v.mu.Lock()
	v.inodes[mb.ID()] = in
	v.mu.Unlock()
}

// name is a message's file name.
func (v *view) name(e mail.Entry) string {
	return EntryName(v.style, e)
}

// msgIno is a message's inode number: from its identity (account, mailbox
// object, UIDVALIDITY, UID), so it is the same on every mount. A message
// this mount moved to another mailbox keeps the number of the identity it
// had before (mail.Account.FirstIdentity), as a file keeps its inode
// through rename(2): the moved path, its listing and every view agree.
func (v *view) msgIno(mb *mail.Mailbox, r mail.Ref) uint64 {
	id, r := v.acct.FirstIdentity(mb, r)
	return mail.Hash("m", v.acct.ID(), strconv.FormatUint(id, 16),
		strconv.FormatUint(uint64(r.UIDValidity), 10), strconv.FormatUint(uint64(r.UID), 10))
}

// fileIno is the inode number of a file of this mount not stored yet.
func (v *view) fileIno(f *files.File) uint64 {
	return mail.Hash("f", v.acct.ID(), strconv.FormatUint(f.ID(), 16))
}

// observe turns the model's changes into kernel notifications.
func (v *view) observe(c mail.Change) {
	names := v.files.Observe(c)
	for _, e := range append(append(c.Gone, c.Added...), c.Flagged...) {
		names = append(names, v.name(e))
	}
	v.notifyNames(c.Mailbox, names...)
	v.searchChanged(c.Mailbox.Name())
}

// treeChanged tells the kernel that mailboxes another client made,
// removed or renamed appeared or went away in their parents' directories
// (the old name of a renamed mailbox goes at once, not after the entry
// timeout).
func (v *view) treeChanged(gone, added []string) {
	delim := string(v.acct.Delimiter())
	for _, name := range append(gone, added...) {
		parent, leaf := "", name
		if i := strings.LastIndex(name, delim); i >= 0 {
			parent, leaf = name[:i], name[i+1:]
		}
		v.notifyNames(v.acct.Mailbox(parent), escapeLeaf(parent == "", leaf))
	}
}

// notifyNames tells the kernel to look names in mailbox mb's directory
// up again (the file model calls it when a name opens something else).
func (v *view) notifyNames(mb *mail.Mailbox, names ...string) {
	v.mu.Lock()
	in := v.inodes[mb.ID()]
	v.mu.Unlock()
	v.notify(in, names...)
}

// notify tells the kernel to look names in dir up again. Always from a
// goroutine of its own: a notification sent from inside a FUSE request
// that holds a lock the kernel needs (the directory in LOOKUP, the inode
// in FSYNC or FLUSH while a concurrent rm or mv waits) deadlocks.
func (v *view) notify(dir *gofs.Inode, names ...string) {
	if dir == nil || len(names) == 0 {
		return
	}
	v.goSafe("kernel notification", func() {
		dir.NotifyContent(0, 0) // its mtime and listing changed
		for _, n := range names {
			dir.NotifyEntry(n)
		}
	})
}

// wrote counts a descriptor opened for writing; released its RELEASE.
func (v *view) wrote() {
	v.mu.Lock()
	if v.writing == 0 {
		v.settled = make(chan struct{})
	}
	v.writing++
	v.mu.Unlock()
}

func (v *view) released() {
	v.mu.Lock()
	v.writing--
	if v.writing == 0 {
		close(v.settled)
	}
	v.mu.Unlock()
}

func (v *view) owner() fuse.Owner { return fuse.Owner{Uid: v.uid, Gid: v.gid} }

// settle waits (up to limit) until every descriptor opened for writing has
// been released. The kernel sends RELEASE after close(2) has returned, and
// an unmount aborts whatever the daemon has not read yet: waiting for it
// first is what keeps a file closed just before an unmount.
func (v *view) settle(limit time.Duration) bool {
	v.mu.Lock()
	settled := v.settled
	v.mu.Unlock()
	select {
	case <-settled:
		return true
	case <-time.After(limit):
		v.mu.Lock()
		n := v.writing
		v.mu.Unlock()
		v.log.Warn("unmounting with files still open for writing", "files", n)
		return false
	}
}
