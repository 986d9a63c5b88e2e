package fs

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
)

// Options configure a mount.
type Options struct {
	// Account is the mail model the tree shows.
	Account *mail.Account
	Names   NameStyle
	Logger  *slog.Logger
	// DebugFUSE logs every kernel request (--debug-fuse).
	DebugFUSE bool
	// FsName appears in mount(8) and df output.
	FsName string
	// Status, when set, is the text of MOUNTPOINT/.mailfs/status.
	Status func() string
	// WriteBuffer bounds the memory of all files being written together
	// (ENOSPC past it). Default 512 MiB.
	WriteBuffer int64
}

// Mounted is a mounted account.
type Mounted struct {
	*fuse.Server
	v *view
}

// settleLimit bounds how long an unmount waits for RELEASEs still queued
// in the kernel.
const settleLimit = 10 * time.Second

// Unmount unmounts once every descriptor opened for writing has been
// released (see view.settle), so that nothing closed just before is lost.
func (m *Mounted) Unmount() error {
	m.v.settle(settleLimit)
	return m.Server.Unmount()
}

// Settle is the same wait, for an unmount made from outside the process
// (mailfs umount reads .mailfs/settle first).
func (m *Mounted) Settle() { m.v.settle(settleLimit) }

// Wait waits until the file system is unmounted, then for its background
// notifications.
func (m *Mounted) Wait() {
	m.Server.Wait()
	m.v.mu.Lock()
	m.v.unmounted = true
	m.v.mu.Unlock()
	m.v.bg.Wait()
}

// negativeTimeout is how long the kernel remembers that a name does not
// exist. Short: a message appended elsewhere must not stay hidden.
const negativeTimeout = time.Second

// Mount mounts the account at dir and returns the running server; call
// Unmount (or Wait after an external unmount) to finish, then close the
// account (mail.Account.Close) to let pending writes finish.
func Mount(dir string, opts Options) (*Mounted, error) {
	if opts.Logger == nil {
		opts.Logger = opts.Account.Log()
	}
	if opts.WriteBuffer <= 0 {
		opts.WriteBuffer = 512 << 20
	}
	acct := opts.Account
	v := &view{
		acct: acct, log: opts.Logger, style: opts.Names, ttl: acct.TTL(), started: time.Now(),
		uid: uint32(os.Getuid()), gid: uint32(os.Getgid()), readOnly: acct.ReadOnly(),
		budget: &budget{max: opts.WriteBuffer}, dirs: map[uint64]*dirState{}, settled: make(chan struct{}),
	}
	close(v.settled) // nothing open for writing yet
	acct.Observe(v.observe)
	root := &dirNode{v: v, mb: acct.Mailbox(""), status: opts.Status}
	neg := negativeTimeout
	fsName := opts.FsName
	if fsName == "" {
		fsName = "mailfs"
	}
	// Entry and attribute timeouts are left nil on purpose: every node
	// sets its own (long for immutable bodies, zero for files being
	// written); go-fuse would otherwise overwrite a deliberate zero with
	// its default.
	var mountOpts []string
	if v.readOnly {
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
	return &Mounted{Server: server, v: v}, nil
}
