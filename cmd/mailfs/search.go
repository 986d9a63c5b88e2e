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

// maxName is the longest file name, in bytes (a query under .search is one).
const maxName = 255

// cmdSearch prints the paths of the messages matching a query, one a
// line, as the mount shows them in their mailboxes (MOUNTPOINT/INBOX/…),
// found through MOUNTPOINT/.search/QUERY/. QUERY may be a named search.
// MOUNTPOINT may be a mailbox directory of the mount: then that mailbox
// and its children are searched, as in:MAILBOX would.
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
	path, err := filepath.Abs(mountPoint)
	if err != nil {
		return fail(exitMountPoint, "%v", err)
	}
	root, box, err := searchRoot(path)
	if err != nil {
		return err
	}
	name := query
	if box != "" {
		name = inMailbox(root, box, query)
	}
	top := filepath.Join(root, fs.SearchDir, fs.QueryName(name))
	// The result is the account's tree pruned to the mailboxes with
	// hits: the mailbox's own branch of it holds what is searched for.
	from := filepath.Join(top, box)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	n := 0
	err = filepath.WalkDir(from, func(path string, d iofs.DirEntry, err error) error {
		if err != nil {
			if path == from && box != "" && errors.Is(err, iofs.ErrNotExist) {
				return filepath.SkipAll // no hits in that mailbox
			}
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

// searchRoot finds the account root that holds path, a directory of a
// mailfs mount, and the mailbox path below it ("" for that root itself).
// The mount's root is the topmost directory on path's device; a mount of
// several accounts has its account roots one level down (each with its
// own .mailfs). mailfs's own directories (.search, .maildir, …) are not
// mailboxes, and no name is looked up in them: a name under .search is a
// query.
func searchRoot(path string) (root, box string, err error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, syscall.ENOTCONN):
		return "", "", deadMount(path)
	case err != nil:
		return "", "", fail(exitMountPoint, "%v", err)
	case !st.IsDir():
		return "", "", fail(exitMountPoint, "%s is not a mailbox directory", path)
	}
	root = path
	for root != "/" {
		up, err := os.Stat(filepath.Dir(root))
		if err != nil || !sameDevice(st, up) {
			break
		}
		root = filepath.Dir(root)
	}
	if _, err := os.Stat(filepath.Join(root, fs.StatusDir)); err != nil {
		return "", "", fail(exitMountPoint, "%s is not a mailfs mount", path)
	}
	box, _ = filepath.Rel(root, path)
	if box == "." {
		return root, "", nil
	}
	first, rest, _ := strings.Cut(box, string(filepath.Separator))
	if strings.HasPrefix(first, ".") {
		return "", "", fail(exitMountPoint, "%s is not a mailbox: search the mount or a mailbox directory in it", path)
	}
	if _, err := os.Stat(filepath.Join(root, first, fs.StatusDir)); err == nil {
		return filepath.Join(root, first), rest, nil // an account's root
	}
	return root, box, nil
}

// inMailbox is query narrowed to the mailbox at box and its children,
// written as in: takes it, so that the server searches only there. A
// named search, a query with in: of its own and a box in: cannot quote
// are run as they are: the walk of the result's box branch leaves out
// their other hits.
func inMailbox(root, box, query string) string {
	if strings.Contains(box, `"`) {
		return query
	}
	named, _ := os.ReadDir(filepath.Join(root, fs.SearchDir)) // lists the named searches
	for _, e := range named {
		if e.Name() == query {
			return query
		}
	}
	if q, err := mail.ParseQuery(query, time.Now()); err != nil || len(q.Boxes) > 0 {
		return query
	}
	narrowed := fmt.Sprintf(`in:"%s" (%s)`, box, query)
	if _, err := mail.ParseQuery(narrowed, time.Now()); err != nil || len(fs.QueryName(narrowed)) > maxName {
		return query
	}
	return narrowed
}
