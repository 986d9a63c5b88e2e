package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"mailfs/cache"
	"mailfs/fs"
	"mailfs/imapback"
	"mailfs/mail"
)

// drainTimeout bounds how long an unmounted mailfs keeps trying to store
// files that were closed but could not reach the server yet.
const drainTimeout = 5 * time.Minute

func cmdMount(args []string) error {
	set, f := newMountFlags("mount")
	if err := set.Parse(args); err != nil {
		return fail(exitUsage, "%v (see mailfs help mount)", err)
	}
	if set.NArg() != 2 {
		return fail(exitUsage, "usage: mailfs mount [flags] URL MOUNTPOINT (see mailfs help mount)")
	}
	if err := f.parse(); err != nil {
		return fail(exitUsage, "%v", err)
	}
	ep, err := imapback.ParseURL(set.Arg(0))
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	log := newLogger(f.debug)
	if ep.Security == imapback.Insecure && !ep.IsLoopback() {
		log.Warn("imap+insecure:// sends the password and all mail unencrypted over the network", "host", ep.Host)
	}
	dir, err := checkMountPoint(set.Arg(1))
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
	return serve(ep, pw, dir, f, log, nil)
}

// serve dials, mounts, and runs until the mount goes away. ready, when
// set, is called once the mount is up (the demo prints its banner there).
func serve(ep imapback.Endpoint, pw, dir string, f *mountFlags, log *slog.Logger, ready func()) error {
	var trace io.Writer
	if f.debugIMAP {
		trace = os.Stderr
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	client, err := imapback.Dial(ctx, imapback.Config{
		Endpoint: ep, Password: pw, Connections: f.connections, Timeout: f.timeout,
		Trace: trace, Logger: log, ReadOnly: f.readOnly,
	})
	if err != nil {
		switch {
		case errors.Is(err, imapback.ErrAuth):
			return fail(exitAuth, "authentication failed for user %q at %s", ep.User, ep.Addr())
		case errors.Is(err, context.Canceled):
			return fail(exitFailure, "interrupted while connecting to %s", ep.Addr())
		default:
			return fail(exitUnreachable, "cannot reach %s: %s", ep.Addr(), rootCause(err))
		}
	}
	defer client.Close()

	bodies := cache.New(f.cacheBytes)
	// Keep the garbage collector's slack small: without a limit the heap
	// may grow to twice what is live, and the cache is most of it. (A soft
	// limit: the GC works harder near it, nothing fails.)
	debug.SetMemoryLimit(f.cacheBytes + 64<<20)
	started := time.Now()
	acct := mail.NewAccount(mail.Options{
		ID: ep.User + "@" + ep.Addr(), Backend: client, Bodies: bodies, TTL: f.pollInterval,
		Logger: log, ReadOnly: f.readOnly, Delete: f.delete, ReadAhead: max(1, f.connections-len(f.watch)),
	})
	server, err := fs.Mount(dir, fs.Options{
		Account: acct, Names: f.nameStyle, Logger: log, DebugFUSE: f.debugFUSE, FsName: ep.String(),
		Status: func() string { return statusText(client, acct, f, started) },
	})
	if err != nil {
		return fail(exitMountPoint, "%v", err)
	}
	log.Info("mounted", "account", ep.String(), "mountpoint", dir)
	var watchers []<-chan struct{}
	for _, mb := range f.watch {
		watchers = append(watchers, client.Watch(ctx, mb, func(flags bool) { acct.Changed(mb, flags) }))
	}
	if ready != nil {
		ready()
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
	// Files closed just before the unmount may still be on their way.
	if pending := acct.Pending(); len(pending) > 0 {
		log.Info("unmounted; storing files still on their way", "files", len(pending))
	}
	drain, stop := context.WithTimeout(context.Background(), drainTimeout)
	defer stop()
	if err := acct.Close(drain); err != nil {
		log.Error("unmounted with files not stored", "err", err)
		return fail(exitFailure, "%v", err)
	}
	log.Info("unmounted; logging out", "mountpoint", dir)
	return nil
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
// directory, or already a mount point.
func checkMountPoint(arg string) (string, error) {
	dir, err := filepath.Abs(arg)
	if err != nil {
		return "", fail(exitMountPoint, "mount point %s: %v", arg, err)
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fail(exitMountPoint, "mount point %s does not exist (create it with mkdir -p %s)", dir, dir)
	case errors.Is(err, syscall.ENOTCONN):
		return "", fail(exitMountPoint, "mount point %s holds a dead mount; clear it with mailfs umount %s", dir, dir)
	case err != nil:
		return "", fail(exitMountPoint, "mount point %s: %v", dir, err)
	case !st.IsDir():
		return "", fail(exitMountPoint, "mount point %s is not a directory", dir)
	}
	parent, err := os.Stat(filepath.Dir(dir))
	if err == nil && dir != "/" && !sameDevice(st, parent) {
		return "", fail(exitMountPoint, "%s is already a mount point (mailfs umount %s first)", dir, dir)
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
