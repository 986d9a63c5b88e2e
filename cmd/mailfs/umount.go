package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"mailfs/fs"
)

func cmdUmount(args []string) error {
	set := pflag.NewFlagSet("umount", pflag.ContinueOnError)
	lazy := set.BoolP("lazy", "z", false, "detach now even if files are open; the mount goes away when they close")
	if err := set.Parse(args); err != nil {
		return fail(exitUsage, "%v", err)
	}
	if set.NArg() != 1 {
		return fail(exitUsage, "usage: mailfs umount [--lazy] MOUNTPOINT")
	}
	dir, err := filepath.Abs(set.Arg(0))
	if err != nil {
		return fail(exitMountPoint, "%v", err)
	}
	settle(dir)
	unstored, pending, pid := notStored(dir)
	started := time.Now()
	if err := unmount(dir, *lazy); err != nil {
		return err
	}
	// The mount goes on storing what was on its way (up to 5 minutes)
	// and then exits: wait for it, so that what is said below is what
	// happened, and the mount point and cache directory are free when
	// this returns.
	if pid > 0 && !*lazy {
		if pending {
			fmt.Fprintf(os.Stderr, "mailfs: unmounted; waiting for the mount (pid %d) to store the files still on their way (at most %v)\n", pid, drainTimeout)
		}
		if awaitProcessExit(pid, drainTimeout+30*time.Second) {
			if saved := savedSince(started); len(saved) > 0 {
				return fail(exitFailure, "unmounted, but %d files could not be stored; their bytes are saved: %s", len(saved), strings.Join(saved, ", "))
			}
			if refused := refusedOnly(unstored); len(refused) > 0 {
				return fail(exitFailure, "unmounted; these files were refused and are not on the server: %s", strings.Join(refused, "; "))
			}
			return nil
		}
	}
	if len(unstored) > 0 {
		return fail(exitFailure, "unmounted, but these files are not on the server: %s; the mount saves each to %s and logs where",
			strings.Join(unstored, "; "), filepath.Join(stateDir(), "unsaved"))
	}
	return nil
}

// refusedOnly keeps of notStored's lines those of files refused (not
// the ones still on their way, which the mount went on storing).
func refusedOnly(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "still on their way:") {
			out = append(out, l)
		}
	}
	return out
}

// awaitProcessExit waits until process pid has ended, at most limit; false when
// it cannot be watched (another user's, gone from view) or outlives it.
func awaitProcessExit(pid int, limit time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(limit)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(min(left, time.Minute).Milliseconds()))
		if err == nil && n > 0 {
			return true // readable: the process has exited
		}
		if err != nil && err != unix.EINTR {
			return false
		}
	}
}

// savedSince lists the files the mount saved below the unsaved
// directory since t (what it could not store).
func savedSince(t time.Time) []string {
	var out []string
	root := filepath.Join(stateDir(), "unsaved")
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil && !info.ModTime().Before(t) {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// notStored reads from the mount's status the files that are not on the
// server (refused, or still on their way), so that umount can say so. A
// mount whose status cannot be read gives none.
func notStored(dir string) (out []string, pending bool, pid int) {
	b, err := os.ReadFile(filepath.Join(dir, fs.StatusDir, "status"))
	if err != nil {
		return nil, false, 0
	}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "pid:") && pid == 0:
			pid, _ = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid:")))
		case strings.HasPrefix(line, "writes pending:"):
			section = "pending"
			if rest := strings.TrimSpace(strings.TrimPrefix(line, "writes pending:")); rest != "none" {
				out = append(out, "still on their way: "+rest)
				pending = true
			}
		case strings.HasPrefix(line, "not stored:"):
			section = "refused"
		case strings.HasPrefix(line, "                ") && section == "refused":
			out = append(out, strings.TrimSpace(line))
		default:
			section = ""
		}
	}
	return out, pending, pid
}

// settle asks the mount to take in every file closed just before (see
// fs.SettleFile): the kernel delivers their RELEASE after close(2) has
// returned, and an unmount would abort one still queued. A dead or hung
// mount is not waited for.
func settle(dir string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if f, err := os.Open(filepath.Join(dir, fs.StatusDir, fs.SettleFile)); err == nil {
			f.Close()
		}
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
	}
}

// deadMount is the failure of a command given path on a mount whose
// process ended without unmounting (kill -9, a crash): the kernel
// answers ENOTCONN ("transport endpoint is not connected") for it and
// everything below. It names the mount point (the topmost such
// directory) and the command that clears it.
func deadMount(path string) error {
	for {
		parent := filepath.Dir(path)
		if _, err := os.Stat(parent); parent == path || !errors.Is(err, syscall.ENOTCONN) {
			break
		}
		path = parent
	}
	return fail(exitMountPoint, "%s holds a dead mount (its mailfs process ended without unmounting); clear it with %s", path, umountHint(path))
}

// unmount works for a live mount and for one whose process was killed
// (the kernel then answers ENOTCONN, but unmounting still works).
func unmount(dir string, lazy bool) error {
	if os.Geteuid() == 0 {
		flags := 0
		if lazy {
			flags = syscall.MNT_DETACH
		}
		err := syscall.Unmount(dir, flags)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINVAL):
			return fail(exitMountPoint, "%s is not mounted", dir)
		case errors.Is(err, syscall.EBUSY):
			return fail(exitMountPoint, "%s is busy (a process has a file or its working directory there); close it, or use --lazy", dir)
		case errors.Is(err, syscall.ENOENT):
			return fail(exitMountPoint, "%s does not exist", dir)
		default:
			return fail(exitFailure, "unmount %s: %v", dir, err)
		}
	}
	bin, err := exec.LookPath("fusermount3")
	if err != nil {
		if bin, err = exec.LookPath("fusermount"); err != nil {
			return fail(exitNoFUSE, "fusermount3 not found: install it with apt-get install fuse3")
		}
	}
	argv := []string{"-u", dir}
	if lazy {
		argv = []string{"-u", "-z", dir}
	}
	out, err := exec.Command(bin, argv...).CombinedOutput()
	if err != nil {
		return fail(exitMountPoint, "%s", strings.TrimSpace(string(out)))
	}
	return nil
}
