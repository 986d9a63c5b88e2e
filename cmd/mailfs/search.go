package main

import (
	"bufio"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"mailfs/fs"
	"mailfs/mail"
)

// exitNoHits is mailfs search's answer when nothing matched, as grep's.
const exitNoHits = 1

// cmdSearch prints the paths of the messages matching a query, one a
// line, as the mount shows them in their mailboxes (MOUNTPOINT/INBOX/…),
// found through MOUNTPOINT/.search/QUERY/. QUERY may be a named search.
func cmdSearch(args []string) error {
	set := pflag.NewFlagSet("search", pflag.ContinueOnError)
	count := set.Bool("count", false, "print only the number of matching messages")
	if err := set.Parse(args); err != nil {
		return fail(exitUsage, "%v (usage: mailfs search [--count] MOUNTPOINT QUERY)", err)
	}
	if set.NArg() != 2 {
		return fail(exitUsage, "usage: mailfs search [--count] MOUNTPOINT QUERY")
	}
	mountPoint, query := set.Arg(0), set.Arg(1)
	// The mount parses the same way; parsing here too gives the line
	// saying where a query fails on the terminal, not only in the log.
	if _, err := mail.ParseQuery(query, time.Now()); err != nil {
		return fail(exitUsage, "%v", err)
	}
	root, err := filepath.Abs(mountPoint)
	if err != nil {
		return fail(exitMountPoint, "%v", err)
	}
	if _, err := os.Stat(filepath.Join(root, fs.StatusDir)); err != nil {
		return fail(exitMountPoint, "%s is not a mailfs mount", root)
	}
	top := filepath.Join(root, fs.SearchDir, fs.QueryName(query))
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	n := 0
	err = filepath.WalkDir(top, func(path string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		n++
		if !*count {
			rel, _ := filepath.Rel(top, path)
			fmt.Fprintln(out, filepath.Join(root, rel))
		}
		return nil
	})
	switch {
	case errors.Is(err, syscall.EINVAL):
		return fail(exitUsage, "the mount refused the query %q (its log says why)", query)
	case err != nil:
		return fail(exitFailure, "search %q: %v", query, strings.TrimPrefix(err.Error(), top+": "))
	}
	if *count {
		fmt.Fprintln(out, n)
	}
	if n == 0 {
		out.Flush()
		return &exitError{code: exitNoHits, err: errAlreadyReported}
	}
	return nil
}
