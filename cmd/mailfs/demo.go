package main

import (
	"errors"
	"fmt"
	"os"

	"mailfs/imapback"
	"mailfs/internal/demoserver"
)

// cmdDemo serves the sample account from an in-process IMAP server and
// mounts it like any other account.
func cmdDemo(args []string) error {
	set, f := newMountFlags("demo")
	if err := set.Parse(args); err != nil {
		return fail(exitUsage, "%v (see mailfs help mount)", err)
	}
	if set.NArg() != 1 {
		return fail(exitUsage, "usage: mailfs demo [flags] MOUNTPOINT")
	}
	if err := f.parse(); err != nil {
		return fail(exitUsage, "%v", err)
	}
	log := newLogger(f.debug)
	// The demo makes its mount point if needed: one command to try it.
	if _, err := os.Stat(set.Arg(0)); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(set.Arg(0), 0o700); err != nil {
			return fail(exitMountPoint, "creating mount point: %v", err)
		}
	}
	dir, err := checkMountPoint(set.Arg(0), f.nonEmpty)
	if err != nil {
		return err
	}
	if err := checkFUSE(); err != nil {
		return err
	}
	srv, err := demoserver.Start(demoserver.Options{User: "demo", Password: "demo", Seed: true})
	if err != nil {
		return fail(exitFailure, "starting the demo server: %v", err)
	}
	defer srv.Close()
	ep, err := imapback.ParseURL("imap+insecure://demo@" + srv.Addr)
	if err != nil {
		return err
	}
	return serve([]accountSetup{{ep: ep, password: "demo", f: f}}, dir, f, log, func() { fmt.Fprint(os.Stdout, banner(dir, srv.Addr)) })
}
