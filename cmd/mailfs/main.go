// Command mailfs mounts an IMAP account as a folder of .eml files.
//
// This package is wiring only: flags and configuration in, imapback, cache
// and fs connected, logging, signals and exit codes out. See README.md.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// Exit codes, documented in README.
const (
	exitOK          = 0
	exitFailure     = 1 // anything not listed below
	exitUsage       = 2 // bad command line
	exitAuth        = 3 // the server rejected the credentials
	exitUnreachable = 4 // cannot connect, TLS failure, no greeting
	exitMountPoint  = 5 // mount point missing, not a directory, or in use
	exitNoFUSE      = 6 // FUSE is not available on this machine
)

// exitError carries an exit code with the one line printed for it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func fail(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

const usage = `mailfs mounts IMAP mail as a folder: mailboxes are directories, messages are .eml files.

Usage:
  mailfs mount [flags] URL MOUNTPOINT   mount an account; stays in the foreground until unmounted
  mailfs mount [flags] MOUNTPOINT       mount every account of the config file, one directory each
                                        (--account NAME: one, at the root; --config FILE)
  mailfs demo [flags] MOUNTPOINT        mount an embedded demo server with sample mail
  mailfs umount [--lazy] MOUNTPOINT     unmount
  mailfs status MOUNTPOINT              connection state, cache and traffic of a mount
  mailfs search [--count] MOUNTPOINT QUERY
                                        print the paths of the messages matching QUERY
                                        (searched on the server; see README: Search);
                                        MOUNTPOINT/MAILBOX: that mailbox and its children
  mailfs version                        the version of this binary (also: mailfs --version)
  mailfs help [mount]                   this text, or the mount flags

URL is imaps://user@host[:port] (TLS), imap://user@host[:port] (STARTTLS required)
or imap+insecure://user@host[:port] (no TLS; for servers on this machine).
The password comes from MAILFS_PASSWORD, --password-command, or a prompt.
`

func main() {
	// MAILFS_CPUPROFILE=file writes a CPU profile of the whole run to
	// file.PID, for
	// `go tool pprof` (see BENCHMARKS.md).
	// MAILFS_MEMPROFILE=file writes the live heap to file.PID whenever it
	// reaches a new peak (checked every second).
	if path := os.Getenv("MAILFS_MEMPROFILE"); path != "" {
		go writeHeapProfiles(fmt.Sprintf("%s.%d", path, os.Getpid()))
	}
	if path := os.Getenv("MAILFS_CPUPROFILE"); path != "" {
		if f, err := os.Create(fmt.Sprintf("%s.%d", path, os.Getpid())); err == nil {
			pprof.StartCPUProfile(f)
			code := run(os.Args[1:])
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(run(os.Args[1:]))
}

// writeHeapProfiles overwrites path with a heap profile each time the
// heap in use reaches a new peak, checked every second.
func writeHeapProfiles(path string) {
	var peak uint64
	for range time.Tick(time.Second) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse <= peak+peak/20 {
			continue
		}
		peak = ms.HeapInuse
		if f, err := os.Create(path); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
		stats := fmt.Sprintf("HeapAlloc %d\nHeapInuse %d\nHeapIdle %d\nHeapReleased %d\nStackInuse %d\nSys %d\nNumGC %d\nNextGC %d\n",
			ms.HeapAlloc, ms.HeapInuse, ms.HeapIdle, ms.HeapReleased, ms.StackInuse, ms.Sys, ms.NumGC, ms.NextGC)
		os.WriteFile(path+".stats", []byte(stats), 0o644)
	}
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "mount":
		err = cmdMount(args[1:])
	case "demo":
		err = cmdDemo(args[1:])
	case "umount", "unmount":
		err = cmdUmount(args[1:])
	case "status":
		err = cmdStatus(args[1:])
	case "search":
		err = cmdSearch(args[1:])
	case "version", "--version":
		fmt.Println("mailfs " + version())
		return exitOK
	case "help", "-h", "--help":
		if len(args) > 1 && args[1] == "mount" {
			fs, _ := newMountFlags("mount")
			fmt.Print(usage, "\nFlags of mount and demo:\n", fs.FlagUsages())
		} else {
			fmt.Print(usage)
		}
		return exitOK
	default:
		err = fail(exitUsage, "unknown command %q (want mount, demo, umount, status, search or version)", args[0])
	}
	if err == nil {
		return exitOK
	}
	if !errors.Is(err, errAlreadyReported) {
		fmt.Fprintln(os.Stderr, "mailfs:", err)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}
