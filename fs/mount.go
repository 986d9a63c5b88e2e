package fs

import (
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	lru "github.com/hashicorp/golang-lru/v2"

	"mailfs/mail"
	"mailfs/mail/files"
)

// Options configure a mount.
type Options struct {
	// Account is the mail model the tree shows at the root; Files its
	// file model (nil: one is made with FileModel).
	Account *mail.Account
	Files   *files.Model
	// Accounts, instead of Account: several accounts, one directory each
	// at the root (Status is then the text for all of them).
	Accounts []Named
	Names    NameStyle
	Logger   *slog.Logger
	// DebugFUSE logs every kernel request (--debug-fuse).
	DebugFUSE bool
	// FsName appears in mount(8) and df output.
	FsName string
	// Status, when set, is the text of MOUNTPOINT/.mailfs/status.
	Status func() string
	// Searches are named searches (name -> query), listed in every
	// .search directory; Named.Searches add an account's own.
	Searches map[string]string
	// WriteBuffer bounds the memory of all files being written together
	// (ENOSPC past it) in the file models made here. Default 512 MiB.
	WriteBuffer int64
}

// FileModel makes the file model of an account for a mount whose names
// are of style: files being written share budget, and those not stored
// when the mount ends are written below unsaved ("" keeps none).
func FileModel(acct *mail.Account, style NameStyle, budget *files.Budget, unsaved string) *files.Model {
	return files.New(files.Options{Account: acct, Budget: budget, Unsaved: unsaved,
		Name:     func(e mail.Entry) string { return EntryName(style, e) },
		ParseUID: ParseMessageUID})
}

// Mounted is a mounted account, or several.
type Mounted struct {
	*fuse.Server
	views []*view
}

// settleLimit bounds how long an unmount waits for RELEASEs still queued
// in the kernel.
const settleLimit = 10 * time.Second

// Unmount unmounts once every descriptor opened for writing has been
// released (see view.settle), so that nothing closed just before is lost.
func (m *Mounted) Unmount() error {
	m.Settle()
	return m.Server.Unmount()
}

// Settle is the same wait, for an unmount made from outside the process
// (mailfs umount reads .mailfs/settle first).
func (m *Mounted) Settle() { settleAll(m.views, settleLimit) }

// settleAll settles every view within one limit.
func settleAll(views []*view, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for _, v := range views {
		v.settle(max(time.Until(deadline), 0))
	}
}

// Wait waits until the file system is unmounted, then for its background
// notifications.
func (m *Mounted) Wait() {
	m.Server.Wait()
	for _, v := range m.views {
		v.mu.Lock()
		v.unmounted = true
		v.mu.Unlock()
	}
	for _, v := range m.views {
		v.bg.Wait()
	}
}

// validAccountName: a directory name at the root that no file name rule
// or mailfs's own dot directories can clash with.
func validAccountName(n string) bool {
	return n != "" && n[0] != '.' && len(n) <= 255 && !strings.ContainsAny(n, "/\x00")
}

// searchResultsKept bounds the queries an account keeps results of (a
// result dropped from it is still held by its directory, but no longer
// freshened by server notices, only by the TTL).
const searchResultsKept = 256

// negativeTimeout is how long the kernel remembers that a name does not
// exist. Short: a message appended elsewhere must not stay hidden.
const negativeTimeout = time.Second

// Mount mounts the account at dir and returns the running server; call
// Unmount (or Wait after an external unmount) to finish, then close the
// account (mail.Account.Close) to let pending writes finish.
func Mount(dir string, opts Options) (*Mounted, error) {
	if opts.WriteBuffer <= 0 {
		opts.WriteBuffer = 512 << 20
	}
	started := time.Now()
	b := files.NewBudget(opts.WriteBuffer) // shared by every account
	pt := &passthrough{}
	nodes := newMsgNodes()
	newView := func(acct *mail.Account, fm *files.Model, log *slog.Logger, searches map[string]string) *view {
		if log == nil {
			log = acct.Log()
		}
		if fm == nil {
			fm = FileModel(acct, opts.Names, b, "")
		}
		v := &view{
			acct: acct, files: fm, log: log, style: opts.Names, ttl: acct.TTL(), started: started,
			uid: uint32(os.Getuid()), gid: uint32(os.Getgid()), readOnly: acct.ReadOnly(),
			inodes: map[uint64]*gofs.Inode{}, settled: make(chan struct{}),
			searches: searches, pt: pt, nodes: nodes,
		}
		v.results, _ = lru.New[string, *searchResult](searchResultsKept)
		close(v.settled) // nothing open for writing yet
		acct.Observe(v.observe)
		acct.ObserveTree(v.treeChanged)
		fm.SetNotify(v.notifyNames)
		return v
	}
	var views []*view
	var root gofs.InodeEmbedder
	readOnly := true
	if opts.Account != nil {
		v := newView(opts.Account, opts.Files, opts.Logger, opts.Searches)
		views = append(views, v)
		root = &dirNode{v: v, mb: opts.Account.Mailbox(""), status: opts.Status}
		readOnly = v.readOnly
	} else {
		if len(opts.Accounts) == 0 {
			return nil, fmt.Errorf("mount %s: no account", dir)
		}
		r := &accountsNode{owner: fuse.Owner{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}, started: started,
			views: map[string]*view{}, status: map[string]func() string{}, all: opts.Status,
			searches: opts.Searches, logger: opts.Logger}
		for _, a := range opts.Accounts {
			if _, dup := r.views[a.Name]; dup || !validAccountName(a.Name) {
				return nil, fmt.Errorf("mount %s: account name %q cannot be a directory here", dir, a.Name)
			}
			searches := maps.Clone(opts.Searches)
			if searches == nil {
				searches = map[string]string{}
			}
			maps.Copy(searches, a.Searches)
			v := newView(a.Account, a.Files, a.Account.Log(), searches)
			views = append(views, v)
			r.views[a.Name], r.status[a.Name] = v, a.Status
			readOnly = readOnly && v.readOnly
		}
		r.settle = func() { settleAll(views, settleLimit) }
		root = r
	}
	fsName := opts.FsName
	if fsName == "" {
		fsName = "mailfs"
	}
	// Entry and attribute timeouts are left nil on purpose: every node
	// sets its own (long for immutable bodies, zero for files being
	// written); go-fuse would otherwise overwrite a deliberate zero with
	// its default.
	var mountOpts []string
	if readOnly {
		mountOpts = append(mountOpts, "ro")
	}
	// NegativeTimeout is left nil too: msgNodes.Lookup sets it (go-fuse
	// would also apply it to a message's answer in READDIRPLUS).
	server, err := mountWith(dir, root, nodes, &gofs.Options{
		RootStableAttr: &gofs.StableAttr{Ino: 1, Mode: fuse.S_IFDIR},
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
	m := &Mounted{Server: server, views: views}
	m.enablePassthrough()
	return m, nil
}

// mountWith is gofs.Mount with the message nodes in front of the node
// file system.
func mountWith(dir string, root gofs.InodeEmbedder, nodes *msgNodes, options *gofs.Options) (*fuse.Server, error) {
	nodes.RawFileSystem = gofs.NewNodeFS(root, options)
	server, err := fuse.NewServer(nodes, dir, &options.MountOptions)
	if err != nil {
		return nil, err
	}
	go server.Serve()
	if err := server.WaitMount(); err != nil {
		server.Unmount()
		return nil, err
	}
	return server, nil
}
