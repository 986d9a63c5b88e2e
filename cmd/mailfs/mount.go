package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"mailfs/cache"
	"mailfs/fs"
	"mailfs/imapback"
	"mailfs/internal/private"
	"mailfs/mail"
	"mailfs/mail/files"
)

// watchWait bounds how long a mount waits for its watchers to have their
// mailboxes in view.
const watchWait = 5 * time.Second

// drainTimeout bounds how long an unmounted mailfs keeps trying to store
// files that were closed but could not reach the server yet.
const drainTimeout = 5 * time.Minute

func cmdMount(args []string) error {
	set, f := newMountFlags("mount")
	if err := set.Parse(args); err != nil {
		return fail(exitUsage, "%v (see mailfs help mount)", err)
	}
	if f.daemon {
		return daemonize(args)
	}
	hidePassword(append([]string{"mount"}, args...))
	configFlag, only := f.config, f.account
	switch set.NArg() {
	case 1:
		return mountConfig(set, f, configPath(configFlag), only, set.Arg(0))
	case 2:
		if configFlag != "" || only != "" {
			return fail(exitUsage, "--config and --account are for mounting the config file's accounts: mailfs mount [--account NAME] MOUNTPOINT")
		}
	default:
		return fail(exitUsage, "usage: mailfs mount [flags] URL MOUNTPOINT, or mailfs mount [--account NAME] MOUNTPOINT for the config file (see mailfs help mount)")
	}
	if err := f.parse(); err != nil {
		return fail(exitUsage, "%v", err)
	}
	ep, err := imapback.ParseURL(set.Arg(0))
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	log := newLogger(f.debug)
	dir, err := checkMountPoint(set.Arg(1), f.nonEmpty)
	if err != nil {
		return err
	}
	if err := checkFUSE(); err != nil {
		return err
	}
	pw, err := password(f.passwordCommand, ep.User+"@"+ep.Host)
	if err != nil {
		return err
	}
	return serve([]accountSetup{{ep: ep, password: pw, f: f}}, dir, f, log, readySignal(dir))
}

// mountConfig mounts the config file's accounts (or the one named).
func mountConfig(set *pflag.FlagSet, f *mountFlags, path, only, mountPoint string) error {
	c, err := loadConfig(path)
	if err != nil {
		return err
	}
	// Mount-wide values: the file's, then the command line's.
	for k, v := range c.mount {
		if set.Changed(k) {
			continue
		}
		if err := setFlag(set, k, v); err != nil {
			return fail(exitUsage, "%s: %s: %v", path, k, err)
		}
	}
	if err := f.parse(); err != nil {
		return fail(exitUsage, "%v", err)
	}
	for name, q := range c.searches {
		if _, ok := f.searches[name]; !ok { // --search wins
			f.searches[name] = q
		}
	}
	var setups []accountSetup
	for _, a := range c.accounts {
		if only != "" && a.name != only {
			continue
		}
		af, err := c.accountFlags(a, set)
		if err != nil {
			return err
		}
		ep, _ := imapback.ParseURL(a.url) // checked by loadConfig
		setups = append(setups, accountSetup{name: a.name, ep: ep, f: af, auth: a.auth, tokenCommand: a.token, searches: a.searches})
	}
	if len(setups) == 0 {
		var names []string
		for _, a := range c.accounts {
			names = append(names, a.name)
		}
		return fail(exitUsage, "%s: no account %q (accounts: %s)", path, only, strings.Join(names, ", "))
	}
	if only != "" {
		setups[0].name = "" // one account, at the root
	}
	log := newLogger(f.debug)
	dir, err := checkMountPoint(mountPoint, f.nonEmpty)
	if err != nil {
		return err
	}
	if err := checkFUSE(); err != nil {
		return err
	}
	for i := range setups {
		s := &setups[i]
		if s.auth != "plain" {
			continue
		}
		get := passwordFrom
		if len(setups) == 1 && s.f.passwordCommand == "" {
			get = password // one account: MAILFS_PASSWORD works as for a URL
		}
		if s.password, err = get(s.f.passwordCommand, s.ep.User+"@"+s.ep.Host); err != nil {
			if s.name != "" {
				return fail(exitUsage, "account %s: %v", s.name, err)
			}
			return err
		}
	}
	return serve(setups, dir, f, log, readySignal(dir))
}

// accountSetup is one account to mount: where, how to log in, its flags.
type accountSetup struct {
	name         string // directory at the root; "" mounts it at the root
	ep           imapback.Endpoint
	password     string
	auth         string // "" or plain, xoauth2, oauthbearer
	tokenCommand string
	f            *mountFlags
	searches     map[string]string // the account's own named searches
}

// served is one account, connected and modelled.
type served struct {
	setup  accountSetup
	client *imapback.Client
	acct   *mail.Account
	files  *files.Model
}

// serve dials every account, mounts them, and runs until the mount goes
// away. mount holds the mount-wide flags (cache size, names, debug).
// ready, when set, is called once the mount is up (the demo prints its
// banner there).
func serve(setups []accountSetup, dir string, mount *mountFlags, log *slog.Logger, ready func()) error {
	var trace io.Writer
	if mount.debugIMAP {
		trace = os.Stderr
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	for _, s := range setups {
		if s.ep.Security == imapback.Insecure && !s.ep.IsLoopback() {
			log.Warn("imap+insecure:// sends the password and all mail unencrypted over the network", "host", s.ep.Host)
		}
	}
	// Where the daemon's log and unsaved files go must be the user's
	// alone, like the disk cache: refused before anything is mounted.
	if err := private.Dir(stateDir()); err != nil {
		return fail(exitCode(err), "state directory: %v", err)
	}
	ms := &mountState{}
	if mount.diskBytes > 0 {
		disk, err := cache.OpenDisk(mount.cacheDir, mount.diskBytes, log)
		if err != nil {
			return fail(exitCode(err), "disk cache: %v", err)
		}
		defer disk.Close()
		ms.disk = disk
		log.Info("disk cache on: mail is kept on this disk", "dir", mount.cacheDir, "size", mount.diskCache)
	}
	// Every account is dialled at once; any failure mounts nothing. An
	// account whose server cannot be reached is mounted anyway when
	// there are others, or when the disk cache holds its mailbox tree
	// (it is served from there): it connects in the background.
	accounts := make([]served, len(setups))
	errs := make([]error, len(setups))
	var wg sync.WaitGroup
	for i, s := range setups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			accounts[i].setup = s
			kept := mail.HasKeptTree(ms.disk, accountID(s.ep))
			accounts[i].client, errs[i] = dialAccount(ctx, s, trace, log, len(setups) > 1 || kept, kept, ms.disk != nil, mount.nameStyle.UsesDate())
		}()
	}
	wg.Wait()
	for i, c := range accounts {
		if c.client != nil {
			defer c.client.Close()
		}
		if errs[i] != nil && errors.Is(errs[i], context.Canceled) {
			return fail(exitFailure, "interrupted while connecting")
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}

	bodies := cache.New(mount.cacheBytes) // one bound, shared by every account
	// Keep the garbage collector's slack small: without a limit the heap
	// may grow to twice what is live, and the cache is most of it. (A soft
	// limit: the GC works harder near it, nothing fails.)
	debug.SetMemoryLimit(mount.cacheBytes + 64<<20)
	started := time.Now()
	budget := files.NewBudget(512 << 20) // files being written, in every account together
	for i := range accounts {
		a := &accounts[i]
		f, ep := a.setup.f, a.setup.ep
		alog := log
		if a.setup.name != "" {
			alog = log.With("account", a.setup.name)
		}
		a.acct = mail.NewAccount(mail.Options{
			ID: accountID(ep), Backend: a.client, Bodies: bodies, TTL: f.pollInterval,
			Logger: alog, ReadOnly: f.readOnly, Delete: f.delete, ReadAhead: max(1, f.connections-len(f.watch)),
			Disk: ms.disk, Dates: mount.nameStyle.UsesDate(),
		})
		unsaved := a.setup.name
		if unsaved == "" {
			unsaved = ep.User + "@" + ep.Host
		}
		a.files = fs.FileModel(a.acct, mount.nameStyle, budget, unsavedDir(unsaved))
	}
	opts := fs.Options{Names: mount.nameStyle, Logger: log, DebugFUSE: mount.debugFUSE, Searches: mount.searches}
	if len(accounts) == 1 && accounts[0].setup.name == "" {
		a := accounts[0]
		opts.Account, opts.Files, opts.FsName = a.acct, a.files, a.setup.ep.String()
		opts.Searches = maps.Clone(mount.searches)
		if opts.Searches == nil {
			opts.Searches = map[string]string{}
		}
		maps.Copy(opts.Searches, a.setup.searches)
		opts.Status = func() string { return statusText(a.client, a.acct, a.files, a.setup.f, started, ms) }
	} else {
		opts.FsName = "mailfs"
		for _, a := range accounts {
			opts.Accounts = append(opts.Accounts, fs.Named{Name: a.setup.name, Account: a.acct, Files: a.files, Searches: a.setup.searches,
				Status: func() string { return statusText(a.client, a.acct, a.files, a.setup.f, started, ms) }})
		}
		opts.Status = func() string {
			var b strings.Builder
			for i, a := range accounts {
				if i > 0 {
					b.WriteString("\n")
				}
				fmt.Fprintf(&b, "[%s]\n%s", a.setup.name, statusText(a.client, a.acct, a.files, a.setup.f, started, ms))
			}
			return b.String()
		}
	}
	// Watchers first, in view of their mailboxes before the mount is
	// offered: a listing or search made before a watcher's EXAMINE could
	// miss mail that arrives in between and keep missing it for the TTL.
	// A watcher that cannot connect in a few seconds (its server is down)
	// is not waited for.
	var watchers []<-chan struct{}
	var inView []<-chan struct{}
	for _, a := range accounts {
		if err := checkWatched(ctx, a); err != nil {
			return err
		}
	}
	var late sync.WaitGroup // NOTIFY started once an account offline at mount time connects
	for _, a := range accounts {
		// Files written while the server could not be reached are
		// stored as soon as it answers again, not at their next try.
		late.Add(1)
		go func() {
			defer late.Done()
			for {
				select {
				case <-a.client.Reconnected():
					a.files.RetryNow()
				case <-ctx.Done():
					return
				}
			}
		}()
		if a.client.HasNotify() {
			// One NOTIFY connection reports every mailbox and the tree;
			// --watch's IDLE connections are not needed.
			seen := make(chan struct{})
			watchers = append(watchers, notifyAccount(ctx, a, seen))
			if a.client.Health().Connected {
				inView = append(inView, seen)
			}
			continue
		}
		if !a.client.Health().Connected {
			// Mounted offline: whether the server has NOTIFY is known
			// once it answers; then every mailbox is pushed too.
			late.Add(1)
			go func() {
				defer late.Done()
				select {
				case <-a.client.Connected():
				case <-ctx.Done():
					return
				}
				if a.client.HasNotify() {
					a.acct.Log().Info("the server offers NOTIFY: every mailbox is pushed from now on")
					<-notifyAccount(ctx, a, make(chan struct{}))
				}
			}()
		}
		for _, mb := range a.setup.f.watch {
			seen := make(chan struct{})
			var once sync.Once
			watchers = append(watchers, a.client.Watch(ctx, mb, func(flags, initial bool) {
				if initial {
					a.acct.Watching(mb)
					once.Do(func() { close(seen) })
				} else {
					a.acct.Changed(mb, flags)
				}
			}))
			if a.client.Health().Connected {
				inView = append(inView, seen)
			}
		}
	}
	waitUntil := time.After(min(mount.timeout, watchWait))
	for _, seen := range inView {
		select {
		case <-seen:
		case <-waitUntil:
		case <-ctx.Done():
		}
	}
	server, err := fs.Mount(dir, opts)
	if err != nil {
		return fail(exitMountPoint, "%v", err)
	}
	ms.passthrough = server.PassthroughStatus
	if ready != nil {
		ready() // --daemon: from here on the log is the mount's own file
	}
	for _, a := range accounts {
		log.Info("mounted", "account", a.setup.ep.String(), "name", a.setup.name, "mountpoint", dir)
	}
	unmounted := make(chan struct{})
	go func() {
		select {
		case <-unmounted:
			return // unmounted from outside (mailfs umount, fusermount3 -u)
		case <-ctx.Done():
		}
		log.Info("signal received; unmounting", "mountpoint", dir)
		if err := server.Unmount(); err != nil {
			log.Warn("mount point busy; detaching it (it goes away when the last file closes)", "err", err)
			if err := unmount(dir, true); err != nil {
				log.Error("unmount failed", "err", err)
			}
		}
	}()
	server.Wait()
	close(unmounted)
	cancel()
	for _, w := range watchers {
		<-w
	}
	late.Wait()
	// Files closed just before the unmount may still be on their way.
	drain, stop := context.WithTimeout(context.Background(), drainTimeout)
	defer stop()
	var lost []string
	for _, a := range accounts {
		if pending := a.files.Pending(); len(pending) > 0 {
			log.Info("unmounted; storing files still on their way", "account", a.setup.name, "files", len(pending))
		}
	}
	for _, a := range accounts {
		if err := a.files.Close(drain); err != nil {
			log.Error("unmounted with files not stored", "account", a.setup.name, "err", err)
			lost = append(lost, err.Error())
		}
		a.acct.Close()
	}
	if len(lost) > 0 {
		return fail(exitFailure, "%s", strings.Join(lost, "; "))
	}
	log.Info("unmounted; logging out", "mountpoint", dir)
	return nil
}

// notifyAccount keeps the account's NOTIFY connection (imapback.Notify),
// turning its notices into the model's; seen is closed once it is set.
func notifyAccount(ctx context.Context, a served, seen chan struct{}) <-chan struct{} {
	var once sync.Once
	return a.client.Notify(ctx, func(n imapback.Notice) {
		switch {
		case n.Initial:
			once.Do(func() { close(seen) })
		case n.Resync:
			a.acct.Resync()
		case n.Tree:
			a.acct.TreeNoticed()
		default:
			a.acct.Changed(n.Mailbox, n.Flags)
		}
	})
}

// exitCode is the exit status of a failure to set up the mount's own
// directories: a directory that is not the user's alone is a usage
// error (the user must choose or fix it).
func exitCode(err error) int {
	if errors.Is(err, private.ErrUnsafe) {
		return exitUsage
	}
	return exitFailure
}

// accountID names an account in the model and the disk cache.
func accountID(ep imapback.Endpoint) string { return ep.User + "@" + ep.Addr() }

// dialAccount connects one account; a failure is one line naming it.
// With several accounts (wait), one whose server cannot be reached is
// mounted anyway and connects in the background: only its directory
// fails (EIO) until then. dates: listings fetch the Date header too
// (--names date).
func dialAccount(ctx context.Context, s accountSetup, trace io.Writer, log *slog.Logger, wait, kept, disk, dates bool) (*imapback.Client, error) {
	f, ep := s.f, s.ep
	cfg := imapback.Config{
		Endpoint: ep, Password: s.password, Connections: f.connections, Timeout: f.timeout,
		Trace: trace, Logger: log, ReadOnly: f.readOnly, Dates: dates,
	}
	if s.auth != "" && s.auth != "plain" {
		cfg.Auth = s.auth
		cfg.Token = tokenSource(s.tokenCommand)
	}
	if s.name != "" {
		cfg.Logger = log.With("account", s.name)
	}
	dial := imapback.Dial
	if wait {
		dial = imapback.DialOrWait
	}
	client, err := dial(ctx, cfg)
	if err == nil {
		return client, nil
	}
	if client != nil {
		if kept {
			cfg.Logger.Warn("server unreachable; mounted from the disk cache (its mailbox tree, listings and bodies), connecting in the background", "server", ep.Addr(), "err", rootCause(err))
		} else {
			cfg.Logger.Warn("server unreachable; the account is mounted and connects in the background", "server", ep.Addr(), "err", rootCause(err))
		}
		return client, nil
	}
	who := ""
	if s.name != "" {
		who = "account " + s.name + ": "
	}
	switch {
	case errors.Is(err, imapback.ErrAuth):
		return nil, fail(exitAuth, "%sauthentication failed for user %q at %s", who, ep.User, ep.Addr())
	case errors.Is(err, context.Canceled):
		return nil, err
	case errors.Is(err, imapback.ErrUnsupported):
		return nil, fail(exitAuth, "%s%s: %s", who, ep.Addr(), rootCause(err))
	case disk:
		return nil, fail(exitUnreachable, "%scannot reach %s: %s (the disk cache holds nothing of this account yet to show meanwhile)", who, ep.Addr(), rootCause(err))
	default:
		return nil, fail(exitUnreachable, "%scannot reach %s: %s", who, ep.Addr(), rootCause(err))
	}
}

// rootCause words a connection failure for one line: the network's own
// reason ("connect: connection refused") when there is one.
func rootCause(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	var cert *tls.CertificateVerificationError
	if errors.As(err, &cert) {
		return "TLS certificate not trusted: " + cert.Err.Error()
	}
	return err.Error()
}

// checkMountPoint resolves dir and refuses one that is missing, not a
// directory, already a mount point, or (unless nonEmpty) holding files
// the mount would hide.
func checkMountPoint(arg string, nonEmpty bool) (string, error) {
	dir, err := filepath.Abs(arg)
	if err != nil {
		return "", fail(exitMountPoint, "mount point %s: %v", arg, err)
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fail(exitMountPoint, "mount point %s does not exist (create it with mkdir -p %s)", dir, dir)
	case errors.Is(err, syscall.ENOTCONN):
		return "", deadMount(dir)
	case err != nil:
		return "", fail(exitMountPoint, "mount point %s: %v", dir, err)
	case !st.IsDir():
		return "", fail(exitMountPoint, "mount point %s is not a directory", dir)
	}
	parent, err := os.Stat(filepath.Dir(dir))
	if err == nil && dir != "/" && !sameDevice(st, parent) {
		return "", fail(exitMountPoint, "%s is already a mount point (mailfs umount %s first)", dir, dir)
	}
	if !nonEmpty {
		d, err := os.Open(dir)
		if err != nil {
			return "", fail(exitMountPoint, "mount point %s: %v", dir, err)
		}
		names, _ := d.Readdirnames(1)
		d.Close()
		if len(names) > 0 {
			return "", fail(exitMountPoint, "mount point %s is not empty: the mount would hide its files (use an empty directory, or --nonempty)", dir)
		}
	}
	return dir, nil
}

func sameDevice(a, b os.FileInfo) bool {
	sa, oka := a.Sys().(*syscall.Stat_t)
	sb, okb := b.Sys().(*syscall.Stat_t)
	return !oka || !okb || sa.Dev == sb.Dev
}

// checkFUSE explains how to get FUSE when it is missing.
func checkFUSE() error {
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return fail(exitNoFUSE, "FUSE is not available (%v); install it with: apt-get install fuse3", err)
	}
	f.Close()
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("fusermount3"); err != nil {
			return fail(exitNoFUSE, "fusermount3 not found; install it with: apt-get install fuse3")
		}
	}
	return nil
}

func newLogger(debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// banner is printed by the demo once mounted.
func banner(dir, addr string) string {
	return fmt.Sprintf(`mailfs demo: sample mail mounted at %[1]s (embedded IMAP server on %[2]s, user demo)
  try:   ls %[1]s   ls -l %[1]s/INBOX   grep -rl invoice %[1]s
  leave: %[3]s   (or press Ctrl-C here)
`, dir, addr, umountHint(dir))
}

// umountHint is a command that unmounts dir from where mailfs was
// started: "mailfs umount DIR" when this binary is the mailfs on the
// PATH, its full path when it is another install, and under go run (a
// binary in the build cache) the same go run, or fusermount3.
func umountHint(dir string) string {
	self, err := os.Executable()
	if err != nil {
		return "fusermount3 -u " + dir
	}
	self, _ = filepath.EvalSymlinks(self)
	if onPath, err := exec.LookPath("mailfs"); err == nil {
		if p, err := filepath.EvalSymlinks(onPath); err == nil && p == self {
			return "mailfs umount " + dir
		}
	}
	if strings.Contains(self, string(filepath.Separator)+"go-build") {
		if _, err := os.Stat(filepath.Join("cmd", "mailfs")); err == nil {
			return "go run ./cmd/mailfs umount " + dir
		}
		return "fusermount3 -u " + dir
	}
	return self + " umount " + dir
}

// checkWatched refuses a --watch that names no mailbox of the account,
// before mounting: a watcher of a mailbox that does not exist would only
// reconnect in a loop. An account whose server cannot be reached now is
// not checked.
func checkWatched(ctx context.Context, a served) error {
	if !a.client.Health().Connected {
		return nil
	}
	list, err := a.client.Mailboxes(ctx)
	if err != nil {
		return nil
	}
	for _, w := range a.setup.f.watch {
		found := false
		for _, mb := range list {
			found = found || mb.Name == w && !mb.NoSelect || strings.EqualFold(w, "INBOX") && strings.EqualFold(mb.Name, "INBOX")
		}
		if !found {
			who := ""
			if a.setup.name != "" {
				who = " (account " + a.setup.name + ")"
			}
			return fail(exitUsage, "--watch %q%s: no such mailbox on the server (names are the server's, e.g. INBOX or Work/Projects)", w, who)
		}
	}
	return nil
}
