package fs

import (
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"mailfs/cache"
)

// account is the shared state behind every node of one mounted account.
type account struct {
	id      string // identity for inode numbers: user@host:port
	backend Backend
	bodies  *cache.Bodies
	log     *slog.Logger
	style   NameStyle
	ttl     time.Duration // listings and the mailbox tree
	uid     uint32        // owner of every file
	gid     uint32
	started time.Time
	// readOnly refuses every change with EROFS (--read-only).
	readOnly bool
	// prefetch bounds read-ahead batches in flight (nil: no read-ahead).
	prefetch chan struct{}

	tree *tree

	mu        sync.Mutex // protects the following
	mailboxes map[string]*mailbox
}

// mailbox returns the listing cache of a full mailbox name.
func (a *account) mailbox(name string) *mailbox {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, ok := a.mailboxes[name]
	if !ok {
		m = newMailbox(name, a.backend, a.style, a.ttl, a.log)
		a.mailboxes[name] = m
	}
	return m
}

// Inode numbers derive from identity, so they are the same on every mount:
// (account, mailbox) for directories, (account, mailbox, UIDVALIDITY, UID)
// for messages.
func (a *account) dirIno(mailbox string) uint64 {
	return hashIno("d", a.id, mailbox)
}

func (a *account) msgIno(mailbox string, uidValidity, uid uint32) uint64 {
	return hashIno("m", a.id, mailbox, strconv.FormatUint(uint64(uidValidity), 10), strconv.FormatUint(uint64(uid), 10))
}

func hashIno(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	ino := h.Sum64()
	if ino <= 1 || ino == ^uint64(0) { // 1 is the root; 0 and ^0 are reserved
		ino += 2
	}
	return ino
}

// bodyKey is the cache key of a message body: its full identity.
func (a *account) bodyKey(mailbox string, uidValidity, uid uint32) string {
	return a.id + "\x00" + mailbox + "\x00" + strconv.FormatUint(uint64(uidValidity), 10) + "\x00" + strconv.FormatUint(uint64(uid), 10)
}
