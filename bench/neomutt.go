package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

// neomuttResult: neomutt opening INBOX over IMAP through the proxy (it
// fetches header fields only), and the same neomutt opening it as a
// Maildir on a fresh mailfs mount through the same proxy.
type neomuttResult struct {
	IMAP    phase `json:"neomutt_imap"`
	Maildir phase `json:"neomutt_maildir_on_mailfs"`
	Warm    phase `json:"neomutt_maildir_on_mailfs_again"` // the same mount again: heads cached
	Local   phase `json:"neomutt_local_maildir"`           // the corpus as a Maildir on local disk
	Floor   phase `json:"neomutt_fuse_floor"`              // the same through go-fuse's loopback
}

// neomuttRC is a muttrc with nothing cached, that quits without asking.
const neomuttRC = `set quit=yes
set mark_old=no
set header_cache=""
set message_cachedir=""
set imap_check_subscribed=no
set mail_check_stats=no
set ssl_starttls=no
set ssl_force_tls=no
set imap_user=%q
set imap_pass=%q
set folder=%q
`

var msgsShown = regexp.MustCompile(`Msgs:(\d+)`)

// neomuttOpen runs neomutt on folder in a pseudo-terminal (script(1)):
// it opens the mailbox, draws the index and quits.
func (b *bench) neomuttOpen(ctx context.Context, label, folder, rcFolder string) (phase, error) {
	rc := filepath.Join(b.work, "muttrc")
	if err := os.WriteFile(rc, fmt.Appendf(nil, neomuttRC, b.d.User, b.d.Password, rcFolder), 0o600); err != nil {
		return phase{}, err
	}
	var r shellResult
	ph, err := b.measure(label, func() (err error) {
		pctx, cancel := b.phaseCtx(ctx)
		defer cancel()
		cmd := fmt.Sprintf("TERM=xterm neomutt -n -F %s -f %s -e 'push <quit>'", rc, folder)
		r, err = shell(pctx, 4<<20, "script", "-qec", cmd, "/dev/null")
		return err
	})
	if err != nil {
		return ph, err
	}
	shown := -1
	if m := msgsShown.FindAllSubmatch(r.Stdout, -1); len(m) > 0 {
		shown, _ = strconv.Atoi(string(m[len(m)-1][1]))
	}
	b.res.check(label+" shows every message", r.ExitCode == 0 && shown == b.cfg.Messages,
		"exit %d, %d messages shown of %d %s", r.ExitCode, shown, b.cfg.Messages, firstLine(r.Stderr))
	return ph, nil
}

// neomuttRun compares the two (skipped, and said so, without neomutt).
func (b *bench) neomuttRun(ctx context.Context) error {
	if _, err := exec.LookPath("neomutt"); err != nil {
		b.log.printf("neomutt is not installed: its comparison is skipped (apt-get install neomutt)")
		return nil
	}
	if _, err := exec.LookPath("script"); err != nil {
		b.log.printf("script(1) is not installed: the neomutt comparison is skipped (apt-get install bsdutils)")
		return nil
	}
	res := &neomuttResult{}
	b.res.Neomutt = res
	local := filepath.Join(b.work, "local")
	var err error
	if res.Local, err = b.neomuttOpen(ctx, "neomutt on a local Maildir", filepath.Join(local, "INBOX"), local); err != nil {
		return err
	}
	floor := filepath.Join(b.work, "floor-neomutt")
	unmount, err := mountFloor(local, floor)
	if err != nil {
		return err
	}
	res.Floor, err = b.neomuttOpen(ctx, "neomutt on the FUSE floor", filepath.Join(floor, "INBOX"), floor)
	unmount()
	if err != nil {
		return err
	}
	imapURL := fmt.Sprintf("imap://%s@%s/", b.d.User, b.p.Addr)
	if res.IMAP, err = b.neomuttOpen(ctx, "neomutt over IMAP", imapURL+"INBOX", imapURL); err != nil {
		return err
	}
	if _, err := b.startMount(ctx, "mnt-neomutt"); err != nil {
		return err
	}
	maildir := filepath.Join(b.mount.dir, ".maildir")
	if res.Maildir, err = b.neomuttOpen(ctx, "neomutt on mailfs .maildir", filepath.Join(maildir, "INBOX"), maildir); err != nil {
		return err
	}
	if res.Warm, err = b.neomuttOpen(ctx, "neomutt on mailfs .maildir again", filepath.Join(maildir, "INBOX"), maildir); err != nil {
		return err
	}
	b.res.PeakRSS = max(b.res.PeakRSS, b.stopMount("neomutt"))
	return nil
}
