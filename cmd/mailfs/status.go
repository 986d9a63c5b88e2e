package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"

	"mailfs/cache"
	"mailfs/fs"
	"mailfs/imapback"
	"mailfs/mail"
	"mailfs/mail/files"
)

// cmdStatus prints MOUNTPOINT/.mailfs/status.
func cmdStatus(args []string) error {
	if len(args) != 1 {
		return fail(exitUsage, "usage: mailfs status MOUNTPOINT")
	}
	dir, err := filepath.Abs(args[0])
	if err != nil {
		return fail(exitMountPoint, "%v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, fs.StatusDir, "status"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fail(exitMountPoint, "%s is not a mailfs mount", dir)
		}
		if errors.Is(err, syscall.ENOTCONN) {
			return deadMount(dir)
		}
		return fail(exitMountPoint, "%s: %v", dir, err)
	}
	os.Stdout.Write(b)
	return nil
}

// statusText renders what a user needs when something seems wrong.
// mountState is what status shows of the mount as a whole.
type mountState struct {
	disk        *cache.Disk
	passthrough func() string // set once mounted
}

func statusText(c *imapback.Client, acct *mail.Account, fm *files.Model, f *mountFlags, mounted time.Time, ms *mountState) string {
	bodies := acct.Bodies()
	watched := f.watch
	var b strings.Builder
	h := c.Health()
	cfg := c.Config()
	st := c.Stats()
	cs := bodies.Stats()
	idle, busy := c.PoolSizes()
	state := "connected"
	if !h.Connected {
		state = "DISCONNECTED"
	}
	ago := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return fmt.Sprintf("%s (%s ago)", t.Format(time.RFC3339), time.Since(t).Round(time.Second))
	}
	fmt.Fprintf(&b, "account:        %s\n", cfg.Endpoint)
	fmt.Fprintf(&b, "version:        %s\n", version())
	fmt.Fprintf(&b, "mounted:        %s\n", ago(mounted))
	fmt.Fprintf(&b, "pid:            %d\n", os.Getpid())
	if logDest == "" {
		fmt.Fprintf(&b, "log:            standard error of the mailfs mount command (a --daemon mount logs to a file of its own)\n")
	} else {
		fmt.Fprintf(&b, "log:            %s\n", logDest)
	}
	fmt.Fprintf(&b, "state:          %s since %s\n", state, ago(h.Since))
	if !h.Connected && !h.NextTry.IsZero() {
		fmt.Fprintf(&b, "next attempt:   in %s\n", time.Until(h.NextTry).Round(time.Second))
	}
	// The last error of any kind: the connection's (dial, timeout) or
	// the account's (a refusal, a file that is not a message).
	lastErr, at := acct.LastError()
	if h.LastError != "" && h.ErrorAt.After(at) {
		lastErr, at = h.LastError, h.ErrorAt
	}
	if lastErr == "" {
		fmt.Fprintf(&b, "last error:     none\n")
	} else {
		fmt.Fprintf(&b, "last error:     %s: %s\n", at.Format(time.RFC3339), mail.OneLine(lastErr))
	}
	fmt.Fprintf(&b, "capabilities:   %s\n", strings.Join(c.Capabilities(), " "))
	fmt.Fprintf(&b, "connections:    %d busy, %d idle, at most %d\n", busy, idle, cfg.Connections)
	if c.HasNotify() {
		fmt.Fprintf(&b, "changes:        NOTIFY: every mailbox and the mailbox tree, on one connection\n")
	} else if len(watched) == 0 {
		fmt.Fprintf(&b, "changes:        no NOTIFY on the server; every mailbox polled (--poll-interval %s)\n", f.pollInterval)
	} else {
		fmt.Fprintf(&b, "changes:        no NOTIFY on the server; IDLE on %s, the others polled (--poll-interval %s)\n", strings.Join(watched, ", "), f.pollInterval)
	}
	rate := 0.0
	if total := cs.Hits + cs.Misses; total > 0 {
		rate = 100 * float64(cs.Hits) / float64(total)
	}
	share, shareN := acct.CacheShare()
	fmt.Fprintf(&b, "cache:          %s in %d bodies of this account; all: %s of %s in %d bodies, hit rate %.1f%% (%d hits, %d misses)\n",
		humanize.IBytes(uint64(share)), shareN,
		humanize.IBytes(uint64(cs.Bytes)), humanize.IBytes(uint64(cs.MaxBytes)), cs.Entries, rate, cs.Hits, cs.Misses)
	if ms != nil && ms.disk != nil {
		ds := ms.disk.Stats()
		fmt.Fprintf(&b, "disk cache:     %s of %s in %d bodies at %s; %d hits, %d misses, %d written, %d damaged entries removed, %d not kept\n",
			humanize.IBytes(uint64(ds.Bytes)), humanize.IBytes(uint64(ds.MaxBytes)), ds.Entries, ds.Dir, ds.Hits, ds.Misses, ds.Written, ds.Rejected, ds.Skipped)
		if ms.passthrough != nil {
			fmt.Fprintf(&b, "passthrough:    %s\n", ms.passthrough())
		}
	} else {
		fmt.Fprintf(&b, "disk cache:     off (--disk-cache SIZE)\n")
	}
	fmt.Fprintf(&b, "fetched:        %s: %d single bodies, %d read-ahead batches, %d ranges of large messages\n",
		humanize.IBytes(uint64(st.BytesFetched)), st.BodyFetches, st.BatchFetches, st.RangeFetches)
	fmt.Fprintf(&b, "listings:       %d full, %d revalidations (STATUS), %d delta fetches\n", st.ListFetches, st.Statuses, st.DeltaFetches)
	pending := fm.Pending()
	if len(pending) == 0 {
		fmt.Fprintf(&b, "writes pending: none\n")
	} else {
		fmt.Fprintf(&b, "writes pending: %d (%s)\n", len(pending), strings.Join(pending, ", "))
	}
	refused := fm.NotStored()
	if len(refused) == 0 {
		fmt.Fprintf(&b, "not stored:     none\n")
	} else {
		fmt.Fprintf(&b, "not stored:     %d (kept in this mount only until written again or removed; saved to disk at unmount)\n", len(refused))
		for _, r := range refused {
			fmt.Fprintf(&b, "                %s: refused by %s: %s\n", r.Label, r.By, r.Why)
		}
	}
	fmt.Fprintf(&b, "dials:          %d (timeouts: %d)\n", st.Dials, st.Timeouts)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	fmt.Fprintf(&b, "rm:             %s\n", acct.RemovePolicy(ctx))
	fmt.Fprintf(&b, "settings:       read-only %v; timeout %s; poll interval %s; cache %s\n", cfg.ReadOnly,
		cfg.Timeout, f.pollInterval, f.cacheSize)
	return b.String()
}
