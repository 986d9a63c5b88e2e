package main

import (
	"context"
	"path/filepath"
	"strings"
)

// The disk-cache run: mailfs mounted again on the disk cache a first
// mount filled.

type diskResult struct {
	FirstLs    phase  `json:"first_ls"`     // cold, filling the disk cache
	FirstGrep  phase  `json:"first_grep"`   // cold, filling the disk cache
	RemountLs  phase  `json:"remount_ls"`   // after a remount on that cache
	RemountGrp phase  `json:"remount_grep"` // after the remount, best of 3
	Status     string `json:"status"`
}

// diskRemount: a mount with --disk-cache lists and greps INBOX cold
// (filling the cache), unmounts; a second mount on the same cache lists
// and greps again.
func (b *bench) diskRemount(ctx context.Context) error {
	cacheDir := filepath.Join(b.work, "diskcache")
	extra := []string{"--disk-cache", "1GiB", "--cache-dir", cacheDir}
	dr := &diskResult{}
	b.res.Disk = dr
	inbox := func() string { return filepath.Join(b.mount.dir, "INBOX") }
	ls := func(label string) (phase, error) {
		var r shellResult
		ph, err := b.measure(label, func() (err error) {
			r, err = shell(ctx, 0, "ls", "-l", inbox())
			return err
		})
		if err == nil {
			b.res.check(label+" lists every message", r.ExitCode == 0 && r.Lines == len(b.c.Msgs)+1, "%d lines", r.Lines)
		}
		return ph, err
	}
	grep := func(label string) (phase, error) {
		var r shellResult
		ph, err := b.measure(label, func() (err error) {
			r, err = shell(ctx, 1<<20, "grep", "-rZ", b.c.Word, inbox())
			return err
		})
		if err == nil {
			b.res.check(label+" finds the planted file", len(grepFiles(r.Stdout)) == 1, "%v", grepFiles(r.Stdout))
		}
		return ph, err
	}
	var err error
	if _, err = b.startMount(ctx, "mnt-disk1", extra...); err != nil {
		return err
	}
	if dr.FirstLs, err = ls("mailfs --disk-cache cold ls -l"); err != nil {
		return err
	}
	if dr.FirstGrep, err = grep("mailfs --disk-cache cold grep -r"); err != nil {
		return err
	}
	b.res.PeakRSS = max(b.res.PeakRSS, b.stopMount("disk cache, first mount"))
	if _, err = b.startMount(ctx, "mnt-disk2", extra...); err != nil {
		return err
	}
	if dr.RemountLs, err = ls("mailfs ls -l after a remount on the disk cache"); err != nil {
		return err
	}
	// Once: a second run would read the memory cache of this mount.
	if dr.RemountGrp, err = grep("mailfs grep -r after a remount on the disk cache"); err != nil {
		return err
	}
	if st, err := shell(ctx, 1<<16, b.cfg.Mailfs, "status", b.mount.dir); err == nil {
		for line := range strings.Lines(string(st.Stdout)) {
			if strings.HasPrefix(line, "disk cache:") || strings.HasPrefix(line, "passthrough:") {
				dr.Status += line
			}
		}
	}
	b.res.PeakRSS = max(b.res.PeakRSS, b.stopMount("disk cache, remount"))
	return nil
}
