package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"mailfs/cache"
	"mailfs/fs"
	"mailfs/mail"
)

// mountFlags are the options of mount and demo.
type mountFlags struct {
	readOnly        bool
	connections     int
	cacheSize       string
	diskCache       string
	cacheDir        string
	names           string
	deleteMode      string
	timeout         time.Duration
	pollInterval    time.Duration
	watch           []string
	passwordCommand string
	searchArgs      []string // --search NAME=QUERY
	debug           bool
	debugFUSE       bool
	debugIMAP       bool
	nonEmpty        bool // mount over a directory that holds files
	// mount only: the config file of accounts.
	config, account string
	daemon          bool

	// Parsed forms.
	cacheBytes int64
	diskBytes  int64 // 0: no disk cache
	nameStyle  fs.NameStyle
	delete     mail.DeleteMode
	searches   map[string]string // named searches: name -> query
}

func newMountFlags(cmd string) (*pflag.FlagSet, *mountFlags) {
	f := &mountFlags{}
	set := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
	set.SortFlags = false
	set.BoolVar(&f.readOnly, "read-only", false, "never change anything on the server: EXAMINE only, every write fails with EROFS")
	set.IntVar(&f.connections, "connections", 3, "most IMAP connections to open at once")
	set.StringVar(&f.cacheSize, "cache-size", "256MiB", "memory for cached message bodies (e.g. 64MiB, 1GiB)")
	set.StringVar(&f.diskCache, "disk-cache", "0", "also keep bodies and listings on disk, up to this size (e.g. 2GiB; 0: off): puts mail on the disk")
	set.StringVar(&f.cacheDir, "cache-dir", "", "directory of the disk cache (default $XDG_CACHE_HOME/mailfs)")
	set.StringVar(&f.names, "names", "readable", "message file names: readable (DATE_TIME_SUBJECT_UID.eml, the arrival date), date (the same from the Date header) or uid (UID.eml)")
	set.StringVar(&f.deleteMode, "delete", "trash", "what rm does: trash (move to the Trash mailbox; refused when the account has none) or expunge")
	set.DurationVar(&f.timeout, "timeout", 30*time.Second, "longest wait for the server on any command before giving up with EIO")
	set.DurationVar(&f.pollInterval, "poll-interval", 30*time.Second, "how long listings are served before asking the server again")
	set.StringSliceVar(&f.watch, "watch", []string{"INBOX"}, "mailboxes kept in IDLE, so new mail shows within seconds (comma-separated; --watch= for none); each takes one of --connections")
	set.StringVar(&f.passwordCommand, "password-command", "", "command whose output is the password (e.g. 'pass show mail')")
	set.StringArrayVar(&f.searchArgs, "search", nil, "a named search, listed in .search: NAME=QUERY (repeat for more; config file: [searches])")
	set.BoolVar(&f.nonEmpty, "nonempty", false, "mount over a directory that is not empty (its files are hidden until the unmount)")
	set.BoolVar(&f.debug, "debug", false, "log mailfs's own decisions")
	set.BoolVar(&f.debugFUSE, "debug-fuse", false, "log every kernel request")
	set.BoolVar(&f.debugIMAP, "debug-imap", false, "log the IMAP protocol (credentials redacted)")
	if cmd == "mount" {
		set.StringVar(&f.config, "config", "", "config file of accounts, for a mount without a URL (default $XDG_CONFIG_HOME/mailfs/config.toml)")
		set.StringVar(&f.account, "account", "", "mount only this account of the config file, at the mount point's root")
		set.BoolVar(&f.daemon, "daemon", false, "return once the mount is ready, leaving it running in the background")
	}
	return set, f
}

// parse checks values and fills the parsed forms.
func (f *mountFlags) parse() error {
	n, err := humanize.ParseBytes(f.cacheSize)
	if err != nil {
		return fmt.Errorf("--cache-size %q: want a size such as 256MiB", f.cacheSize)
	}
	f.cacheBytes = int64(n)
	if n, err = humanize.ParseBytes(f.diskCache); err != nil {
		return fmt.Errorf("--disk-cache %q: want a size such as 2GiB, or 0 for none", f.diskCache)
	}
	f.diskBytes = int64(n)
	if f.diskBytes > 0 && f.diskBytes < 16<<20 {
		return fmt.Errorf("--disk-cache %s: want at least 16MiB (or 0 for none)", f.diskCache)
	}
	if f.cacheDir == "" {
		f.cacheDir = cache.DefaultDiskDir()
	}
	if f.connections < 1 || f.connections > 32 {
		return fmt.Errorf("--connections %d: want 1 to 32", f.connections)
	}
	if f.timeout <= 0 {
		return fmt.Errorf("--timeout must be positive")
	}
	if f.pollInterval <= 0 {
		return fmt.Errorf("--poll-interval must be positive")
	}
	var watch []string
	for _, w := range f.watch {
		if w = strings.TrimSpace(w); w != "" {
			watch = append(watch, w)
		}
	}
	f.watch = watch
	if len(f.watch) >= f.connections {
		return fmt.Errorf("--watch names %d mailboxes but --connections is %d: each watched mailbox holds a connection, and one must stay free", len(f.watch), f.connections)
	}
	if f.nameStyle, err = fs.ParseNameStyle(f.names); err != nil {
		return err
	}
	if f.delete, err = mail.ParseDeleteMode(f.deleteMode); err != nil {
		return err
	}
	f.searches = map[string]string{}
	for _, arg := range f.searchArgs {
		name, query, ok := strings.Cut(arg, "=")
		if !ok {
			return fmt.Errorf("--search %q: want NAME=QUERY", arg)
		}
		if err := checkSearch(name, query); err != nil {
			return fmt.Errorf("--search %s", err)
		}
		f.searches[name] = query
	}
	return nil
}

// checkSearch checks a named search: its name must be a file name that
// is not a dot name, and its query must parse.
func checkSearch(name, query string) error {
	if name == "" || name[0] == '.' || len(name) > 255 || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%q: a search's name is a directory name: no leading dot, no /", name)
	}
	if _, err := mail.ParseQuery(query, time.Now()); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return nil
}
