package fs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/cache"
)

// Options configure a mount.
type Options struct {
	Backend Backend
	Bodies  *cache.Bodies
	// Account identifies the account in inode numbers (e.g. user@host:993).
	Account string
	Names   NameStyle
	// TTL is how long a listing or the mailbox tree is served before the
	// server is asked again (--poll-interval). Default 30 s.
	TTL    time.Duration
	Logger *slog.Logger
	// DebugFUSE logs every kernel request (--debug-fuse).
	DebugFUSE bool
	// ReadOnly makes every write EROFS (--read-only); the mount is also
	// mounted read-only in the kernel.
	ReadOnly bool
	// FsName appears in mount(8) and df output.
	FsName string
	// Status, when set, is the text of MOUNTPOINT/.mailfs/status.
	Status func() string
	// ReadAhead is how many read-ahead batches may be in flight at once
	// (each uses a pooled connection); 0 turns read-ahead off.
	ReadAhead int
}

// Mounted is a mounted account.
type Mounted struct {
	*fuse.Server
	acct *account
}

// Changed tells the mount that the server reported a change in mailbox
// (IDLE): it revalidates now, in the background, and tells the kernel what
// appeared or went away. flags: message flags changed.
func (m *Mounted) Changed(mailbox string, flags bool) {
	mb := m.acct.mailbox(mailbox)
	mb.changed(flags)
	goSafe(m.acct.log, "revalidate "+mailbox, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := mb.refresh(ctx); err != nil {
			m.acct.log.Debug("revalidation after a server notice failed", "mailbox", mailbox, "err", err)
		}
	})
}

func prefetchSlots(n int) chan struct{} {
	if n <= 0 {
		return nil
	}
	return make(chan struct{}, n)
}

// negativeTimeout is how long the kernel remembers that a name does not
// exist. Short: a message appended elsewhere must not stay hidden.
const negativeTimeout = time.Second

// Mount mounts the account at dir and returns the running server; call
// Unmount (or Wait after an external unmount) to finish.
func Mount(dir string, opts Options) (*Mounted, error) {
	if opts.TTL <= 0 {
		opts.TTL = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Bodies == nil {
		opts.Bodies = cache.New(256 << 20)
	}
	acct := &account{
		id: opts.Account, backend: opts.Backend, bodies: opts.Bodies, log: opts.Logger,
		style: opts.Names, ttl: opts.TTL, started: time.Now(),
		uid: uint32(os.Getuid()), gid: uint32(os.Getgid()), readOnly: opts.ReadOnly,
		tree:      &tree{backend: opts.Backend, ttl: opts.TTL},
		prefetch:  prefetchSlots(opts.ReadAhead),
		mailboxes: map[string]*mailbox{},
	}
	root := &dirNode{acct: acct, name: "", status: opts.Status}
	neg := negativeTimeout
	fsName := opts.FsName
	if fsName == "" {
		fsName = "mailfs"
	}
	// Entry and attribute timeouts are left nil on purpose: every node
	// sets its own (long for immutable bodies, zero for sizes the server
	// reported but nobody measured yet); go-fuse would otherwise
	// overwrite a deliberate zero with its default.
	var mountOpts []string
	if opts.ReadOnly {
		mountOpts = append(mountOpts, "ro")
	}
	server, err := gofs.Mount(dir, root, &gofs.Options{
		NegativeTimeout: &neg,
		RootStableAttr:  &gofs.StableAttr{Ino: 1, Mode: fuse.S_IFDIR},
		MountOptions: fuse.MountOptions{
			FsName:       fsName,
			Name:         "mailfs",
			DirectMount:  os.Geteuid() == 0,
			Debug:        opts.DebugFUSE,
			MaxReadAhead: 128 << 10,
			Options:      mountOpts,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", dir, err)
	}
	return &Mounted{Server: server, acct: acct}, nil
}
