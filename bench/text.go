package main

import (
	"context"
	"path/filepath"
	"strings"
)

// textScan: cold grep -r over .text/INBOX on a fresh mount, beside the
// cold grep -r over INBOX of the scan run (both after an ls -l).
func (b *bench) textScan(ctx context.Context) error {
	if _, err := b.startMount(ctx, "mnt-text"); err != nil {
		return err
	}
	dir := filepath.Join(b.mount.dir, ".text", "INBOX")
	// As in the scan run, the listing is fetched before the grep (by an
	// ls, unmeasured), so both greps fetch the same bodies and nothing
	// else.
	if _, err := shell(ctx, 0, "ls", "-l", dir); err != nil {
		return err
	}
	var r shellResult
	ph, err := b.measure("mailfs cold grep -r .text/INBOX", func() (err error) {
		pctx, cancel := b.phaseCtx(ctx)
		defer cancel()
		r, err = shell(pctx, 1<<20, "grep", "-rZ", b.c.Word, dir)
		return err
	})
	if err != nil {
		return err
	}
	b.res.TextGrep = ph
	if b.res.TextWarm, err = b.measure("mailfs warm grep -r .text/INBOX", func() (err error) {
		_, err = shell(ctx, 1<<20, "grep", "-rZ", b.c.Word, dir)
		return err
	}); err != nil {
		return err
	}
	files := grepFiles(r.Stdout)
	b.res.check("cold grep -r of .text finds the planted message's text", r.ExitCode == 0 && len(files) == 1 && strings.HasSuffix(files[0], ".txt"),
		"exit %d, files %v %s", r.ExitCode, files, firstLine(r.Stderr))
	ls, err := shell(ctx, 0, "ls", dir)
	if err == nil {
		b.res.check("every message has its .txt", ls.Lines == len(b.c.Msgs), "%d files for %d messages", ls.Lines, len(b.c.Msgs))
	}
	b.res.PeakRSS = max(b.res.PeakRSS, b.stopMount("text"))
	return nil
}
