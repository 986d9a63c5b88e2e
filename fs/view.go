package fs

import (
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	lru "github.com/hashicorp/golang-lru/v2"

	"mailfs/mail"
)

// view is the file system's side of one mounted account: the model it
// adapts, and what only this tree knows — names editors gave to messages,
// files being written, the directory inodes to notify.
type view struct {
	acct     *mail.Account
	log      *slog.Logger
	style    NameStyle
	ttl      time.Duration
	uid, gid uint32 // owner of every file
	started  time.Time
	readOnly bool
	budget   *budget           // memory for files being written
	searches map[string]string // named searches under .search: name -> query
	results  *lru.Cache[string, *searchResult]
	pt       *passthrough // shared by the mount's views
	// liveEdits counts the edits of this view's directories, so that
	// reads of a mount where nothing is being written look for none.
	liveEdits atomic.Int64
	bg        sync.WaitGroup // kernel notifications in flight

	mu        sync.Mutex           // protects the following
	dirs      map[uint64]*dirState // by mailbox ID
	unmounted bool                 // no more kernel notifications
	writing   int                  // descriptors open for writing (RELEASE not seen yet)
	settled   chan struct{}        // closed while writing is 0
}

// dirState is what the tree knows of one mailbox directory beyond the
// model.
type dirState struct {
	mu    sync.Mutex  // protects the following
	inode *gofs.Inode // the directory, for kernel notifications
	local map[string]*localNode
	// aliases are messages an editor renamed to a scratch name (its
	// backup): shown under that name, hidden under their own.
	aliases map[string]mail.Ref
	hidden  map[uint32]string
	// renamed are names that resolve to another message than their own:
	// a saved file's name (the new version has a new UID), the name a
	// message was moved in under.
	renamed map[string]mail.Ref
	// edits are the files being written over messages, by the version
	// each replaces next.
	edits map[mail.Ref]*edit
	live  *atomic.Int64 // the view's count of edits
}

func (v *view) dir(mb *mail.Mailbox) *dirState {
	v.mu.Lock()
	defer v.mu.Unlock()
	ds, ok := v.dirs[mb.ID()]
	if !ok {
		ds = &dirState{local: map[string]*localNode{}, aliases: map[string]mail.Ref{},
			hidden: map[uint32]string{}, renamed: map[string]mail.Ref{}, edits: map[mail.Ref]*edit{}, live: &v.liveEdits}
		v.dirs[mb.ID()] = ds
	}
	return ds
}

func (ds *dirState) setInode(in *gofs.Inode) {
	ds.mu.Lock()
	ds.inode = in
	ds.mu.Unlock()
}

func (ds *dirState) localFile(name string) *localNode {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.local[name]
}

func (ds *dirState) localNames() []string {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	names := make([]string, 0, len(ds.local))
	for n := range ds.local {
		names = append(names, n)
	}
	return names
}

// forgetLocal drops a scratch file by name if it is still n.
func (ds *dirState) forgetLocal(name string, n *localNode) bool {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.local[name] == n {
		delete(ds.local, name)
		return true
	}
	return false
}

// forgetIdle lets stored scratch file n go when nothing holds it open for
// writing or has bytes of it still to store; its name then opens the
// stored message. The check and the removal happen under n.mu, which an
// open for writing holds while it counts itself.
func (ds *dirState) forgetIdle(name string, n *localNode) bool {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.local[name] != n {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.name != name || !n.d.idle() {
		return false
	}
	delete(ds.local, name)
	n.name = ""
	return true
}

// hiddenName returns the alias of a hidden message ("" if not hidden).
func (ds *dirState) hiddenName(uid uint32) string {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.hidden[uid]
}

// hide shows a message under a scratch name only.
func (ds *dirState) hide(r mail.Ref, alias string) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if old, ok := ds.hidden[r.UID]; ok {
		delete(ds.aliases, old)
	}
	ds.hidden[r.UID], ds.aliases[alias] = alias, r
}

// unhide gives a message its own name back.
func (ds *dirState) unhide(uid uint32) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if alias, ok := ds.hidden[uid]; ok {
		delete(ds.aliases, alias)
		delete(ds.hidden, uid)
	}
}

// hiddenByOwnName returns the message renamed away whose own name is name
// (vim: rename f to f~, then create f).
func (v *view) hiddenByOwnName(mb *mail.Mailbox, ds *dirState, name string) (mail.Ref, bool) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for _, r := range ds.aliases {
		if e, ok := mb.Current(r); ok && v.name(e) == name {
			return r, true
		}
	}
	return mail.Ref{}, false
}

// succeed makes the name that opened message old open its new version
// now: the scratch name old was listed under (one it was written as)
// moves to it, or else name, old's own name or one it took over. It
// returns the name that now opens the new version.
func (ds *dirState) succeed(old, new mail.Ref, name string) string {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds._succeed(old, new, name)
}

// _succeed is succeed with ds.mu held.
func (ds *dirState) _succeed(old, new mail.Ref, name string) string {
	if alias, ok := ds.hidden[old.UID]; ok {
		delete(ds.hidden, old.UID)
		ds.hidden[new.UID], ds.aliases[alias] = alias, new
		return alias
	}
	ds.renamed[name] = new
	return name
}

func (ds *dirState) rename(name string, r mail.Ref) {
	ds.mu.Lock()
	ds.renamed[name] = r
	ds.mu.Unlock()
}

// name is a message's file name.
func (v *view) name(e mail.Entry) string {
	return MessageName(v.style, e.InternalDate, e.Subject, e.UID)
}

// msgIno is a message's inode number: from its identity (account, mailbox
// object, UIDVALIDITY, UID), so it is the same on every mount.
func (v *view) msgIno(mb *mail.Mailbox, r mail.Ref) uint64 {
	return mail.Hash("m", v.acct.ID(), strconv.FormatUint(mb.ID(), 16),
		strconv.FormatUint(uint64(r.UIDValidity), 10), strconv.FormatUint(uint64(r.UID), 10))
}

// observe turns the model's changes into kernel notifications.
func (v *view) observe(c mail.Change) {
	ds := v.dir(c.Mailbox)
	ds.mu.Lock()
	in := ds.inode
	var names []string
	for _, e := range append(c.Gone, c.Added...) {
		names = append(names, v.name(e))
		if alias, ok := ds.hidden[e.UID]; ok {
			names = append(names, alias)
		}
	}
	if c.Reset {
		for alias := range ds.aliases {
			names = append(names, alias)
		}
		ds.aliases, ds.hidden, ds.renamed = map[string]mail.Ref{}, map[uint32]string{}, map[string]mail.Ref{}
	}
	ds.mu.Unlock()
	v.notify(in, names...)
	v.searchChanged(c.Mailbox.Name())
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
