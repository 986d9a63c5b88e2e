package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Targets mailfs will be held to (the benchmark only reports them).
const (
	targetColdGrep     = 2.0     // × raw bulk fetch
	targetColdLs       = 1.5     // × raw listing fetch
	targetLsPerMsg     = 300     // wire bytes per message for a listing
	targetWarmGrep     = 2.0     // × local grep
	targetHeadWire     = 1 << 20 // bytes on the wire for head -c 4096 of a 3 MB message
	targetNeomuttTime  = 1.5     // neomutt on .maildir vs over IMAP
	targetNeomuttBytes = 2.0
	targetBigRSS       = 200 << 20
	targetHugeRSS      = 400 << 20
	targetSearch       = 2.0       // ls -lR of a query × raw pipelined UID SEARCH
	targetBigFloor     = 1.3       // 100,000-message cold ls -l × the floor's ls -l of as many local files
	targetFloorCold    = 1.5       // cold grep -r × the floor's grep
	targetFloorWarm    = 1.0       // grep -r after a remount with the disk cache × the floor's
	targetFloorLs      = 1.1       // ls -l after a remount with the disk cache × the floor's
	targetTextGrep     = 1.3       // cold grep -r of .text × cold grep -r of the .eml files
	targetRSSOverhead  = 100 << 20 // over --cache-size during a scan
)

func mb(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }
func kb(n int64) string { return fmt.Sprintf("%.1f KB", float64(n)/1e3) }

// mib prints memory sizes (RSS) in MiB, like --cache-size.
func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

func secs(s float64) string {
	if s < 10 {
		return fmt.Sprintf("%.3f s", s)
	}
	return fmt.Sprintf("%.1f s", s)
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// table prints aligned rows.
type table struct {
	w    io.Writer
	rows [][]string
}

func (t *table) row(cols ...string) { t.rows = append(t.rows, cols) }

func (t *table) flush() {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		for i, c := range r {
			pad := widths[i] - len([]rune(c))
			switch i {
			case 1, 2: // numbers: right-aligned
				b.WriteString(strings.Repeat(" ", pad) + c)
			default:
				b.WriteString(c)
				if i < len(r)-1 {
					b.WriteString(strings.Repeat(" ", pad))
				}
			}
			if i < len(r)-1 {
				b.WriteString("   ")
			}
		}
		fmt.Fprintln(t.w, "  "+strings.TrimRight(b.String(), " "))
	}
	t.rows = nil
}

func printReport(w io.Writer, r *results) {
	cfg, c := r.Config, r.Corpus
	fmt.Fprintln(w)
	mode := ""
	if cfg.Smoke {
		mode = " [smoke: correctness only, timings are not meaningful]"
	}
	fmt.Fprintf(w, "mailfs benchmark%s\n", mode)
	fmt.Fprintf(w, "  corpus:  %d messages, %s (avg %s; %d with attachments, %d of 2-6 MB, largest %s), seed %d\n",
		c.Messages, mb(c.Bytes), kb(c.Bytes/int64(max(c.Messages, 1))), c.Attachments, c.Big, mb(c.Largest), cfg.Seed)
	bw := "unlimited bandwidth"
	if cfg.bandwidth > 0 {
		bw = fmt.Sprintf("%s/s per direction", mb(cfg.bandwidth))
	}
	fmt.Fprintf(w, "  link:    RTT %v through the proxy (%v each way), %s\n", cfg.RTT, cfg.RTT/2, bw)
	rev := cfg.MailfsRev
	if rev == "" {
		rev = "(revision unknown)"
	}
	fmt.Fprintf(w, "  mailfs:  %s, --connections %d --cache-size %s\n", rev, cfg.Connections, cfg.CacheSize)
	m := r.Machine
	fmt.Fprintf(w, "  machine: %d × %s, Linux %s, Dovecot %s, %s\n", m.CPUs, m.CPU, m.Kernel, m.Dovecot, m.GoVersion)
	fmt.Fprintln(w)

	n := int64(max(c.Messages, 1))
	t := &table{w: w}
	fmt.Fprintln(w, "Baselines (go-imap through the same proxy; grep on a local Maildir)")
	if r.Listing.Seconds > 0 {
		t.row("raw listing fetch", secs(r.Listing.Seconds), mb(r.Listing.Wire())+" wire",
			fmt.Sprintf("%d B/msg, %s   UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])", r.Listing.Wire()/n, r.Listing.Note))
		t.row("raw bulk fetch", secs(r.Bulk.Seconds), mb(r.Bulk.Wire())+" wire", r.Bulk.Note+"   UID FETCH 1:* BODY.PEEK[]")
		note := fmt.Sprintf("UID FETCH <uid> BODY.PEEK[] × %d, one at a time", r.NaiveSampled)
		if r.Naive.Note != "" {
			note = fmt.Sprintf("%s (measured %s for %d)", r.Naive.Note, secs(r.NaiveMeasure.Seconds), r.NaiveSampled)
		}
		t.row("naive loop", secs(r.Naive.Seconds), mb(r.Naive.Wire())+" wire",
			fmt.Sprintf("%.1fx bulk fetch; %s", ratio(r.Naive.Seconds, r.Bulk.Seconds), note))
	}
	if r.LocalGrep.Seconds > 0 {
		t.row("local grep -r", secs(r.LocalGrep.Seconds), "-", r.LocalGrep.Note)
	}
	t.flush()
	fmt.Fprintln(w)

	fmt.Fprintln(w, "mailfs (a real mount of the binary through the proxy)")
	if r.ColdLs.Seconds > 0 {
		lsRatio := ratio(r.ColdLs.Seconds, r.Listing.Seconds)
		t.row("cold ls -l", secs(r.ColdLs.Seconds), mb(r.ColdLs.Wire())+" wire",
			fmt.Sprintf("%.1fx raw listing (target ≤ %.1fx)", lsRatio, targetColdLs), verdict(lsRatio <= targetColdLs))
		perMsg := r.ColdLs.Wire() / n
		t.row("cold ls -l bytes/message", "", fmt.Sprintf("%d B/msg", perMsg),
			fmt.Sprintf("target ≤ %d B/msg", targetLsPerMsg), verdict(perMsg <= targetLsPerMsg),
			fmt.Sprintf("raw listing: %d B/msg", r.Listing.Wire()/n))
	}
	if r.WarmLs.Seconds > 0 {
		t.row("warm ls -l", secs(r.WarmLs.Seconds), mb(r.WarmLs.Wire())+" wire", "(information)", "",
			"listing cached: the kernel round trips alone")
	}
	if r.ColdGrep.Seconds > 0 {
		g := ratio(r.ColdGrep.Seconds, r.Bulk.Seconds)
		t.row("cold grep -r", secs(r.ColdGrep.Seconds), mb(r.ColdGrep.Wire())+" wire",
			fmt.Sprintf("%.1fx bulk fetch (target ≤ %.0fx)", g, targetColdGrep), verdict(g <= targetColdGrep),
			fmt.Sprintf("%.2fx naive loop", ratio(r.ColdGrep.Seconds, r.Naive.Seconds)))
	}
	if r.TextGrep.Seconds > 0 {
		g := ratio(r.TextGrep.Seconds, r.ColdGrep.Seconds)
		t.row("cold grep -r .text/INBOX", secs(r.TextGrep.Seconds), mb(r.TextGrep.Wire())+" wire",
			fmt.Sprintf("%.2fx cold grep -r of the .eml files (target ≤ %.1fx)", g, targetTextGrep), verdict(g <= targetTextGrep),
			"decoded text, fresh mount")
		t.row("warm grep -r .text/INBOX", secs(r.TextWarm.Seconds), mb(r.TextWarm.Wire())+" wire", "(information)", "", "texts cached")
	}
	if r.WarmGrep.Seconds > 0 {
		g := ratio(r.WarmGrep.Seconds, r.LocalGrep.Seconds)
		t.row("warm grep -r", secs(r.WarmGrep.Seconds), mb(r.WarmGrep.Wire())+" wire",
			fmt.Sprintf("%.1fx local grep (target ≤ %.0fx)", g, targetWarmGrep), verdict(g <= targetWarmGrep), r.WarmGrep.Note)
	}
	if r.HeadThree.Seconds > 0 {
		t.row("head -c 4096 (~3 MB msg)", secs(r.HeadThree.Seconds), mb(r.HeadThree.Wire())+" wire",
			"target ≤ 1 MB wire", verdict(r.HeadThree.Wire() <= targetHeadWire),
			fmt.Sprintf("%s file, fresh mount", mb(r.ThreeSize)))
	}
	if r.HeadLargest.Seconds > 0 {
		t.row("head -c 4096 (largest msg)", secs(r.HeadLargest.Seconds), mb(r.HeadLargest.Wire())+" wire",
			"target ≤ 1 MB wire", verdict(r.HeadLargest.Wire() <= targetHeadWire),
			fmt.Sprintf("%s file, same fresh mount", mb(r.LargestSize)))
	}
	if n := r.Neomutt; n != nil && n.IMAP.Seconds > 0 {
		t.row("neomutt over IMAP", secs(n.IMAP.Seconds), mb(n.IMAP.Wire())+" wire", "(baseline)", "",
			"opens INBOX: header fields of every message, nothing cached")
		tr, br := ratio(n.Maildir.Seconds, n.IMAP.Seconds), ratio(float64(n.Maildir.Wire()), float64(n.IMAP.Wire()))
		t.row("neomutt on .maildir", secs(n.Maildir.Seconds), mb(n.Maildir.Wire())+" wire",
			fmt.Sprintf("%.2fx time, %.2fx bytes of neomutt over IMAP (target ≤ %.1fx, ≤ %.0fx)", tr, br, targetNeomuttTime, targetNeomuttBytes),
			verdict(tr <= targetNeomuttTime && br <= targetNeomuttBytes), "fresh mount: listing and every head")
		t.row("neomutt on .maildir again", secs(n.Warm.Seconds), mb(n.Warm.Wire())+" wire", "(information)", "",
			"the same mount: heads cached, the kernel round trips alone")
		t.row("neomutt on a local Maildir", secs(n.Local.Seconds), "", "(information)", "", "the same messages on local disk, page cache warm")
		t.row("neomutt on the FUSE floor", secs(n.Floor.Seconds), "", fmt.Sprintf("mailfs again: %.2fx", ratio(n.Warm.Seconds, n.Floor.Seconds)), "",
			"the local Maildir through go-fuse's loopback (first open)")
	}
	if r.PeakRSS > 0 {
		limit := cfg.cacheBytes + targetRSSOverhead
		note := "VmHWM of the mailfs process, highest of its mounts"
		if c.Bytes <= cfg.cacheBytes {
			note += "; the corpus fits in --cache-size, so this bound is not stressed (try --cache-size 64MiB)"
		}
		t.row("peak RSS", mib(r.PeakRSS), "", fmt.Sprintf("target ≤ cache + 100 MiB = %s", mib(limit)), verdict(r.PeakRSS <= limit), note)
	}
	t.row("max connections", fmt.Sprint(r.MaxConns), "", fmt.Sprintf("target ≤ --connections %d", cfg.Connections),
		verdict(r.MaxConns <= cfg.Connections), "most open at once through the proxy")
	t.row(`\Seen untouched`, fmt.Sprint(r.FlagsChanged), "", "target 0 changed", verdict(r.FlagsChanged == 0),
		fmt.Sprintf("messages whose flags changed (%d gained \\Seen), checked with a separate client", r.SeenGained))
	t.flush()

	if b := r.Big; b != nil && b.ColdLs.Seconds > 0 {
		bn := int64(max(b.Messages, 1))
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Big mailbox (%d tiny messages, %s)\n", b.Messages, mb(b.Bytes))
		t.row("raw listing fetch", secs(b.Listing.Seconds), mb(b.Listing.Wire())+" wire", fmt.Sprintf("%d B/msg, %s", b.Listing.Wire()/bn, b.Listing.Note))
		lr := ratio(b.ColdLs.Seconds, b.Listing.Seconds)
		t.row("cold ls -l", secs(b.ColdLs.Seconds), mb(b.ColdLs.Wire())+" wire",
			fmt.Sprintf("%.1fx raw listing (target ≤ %.1fx)", lr, targetColdLs), verdict(lr <= targetColdLs),
			fmt.Sprintf("%d B/msg", b.ColdLs.Wire()/bn))
		if b.FloorLs.Seconds > 0 {
			fr := ratio(b.ColdLs.Seconds, b.FloorLs.Seconds)
			t.row("floor ls -l (loopback)", secs(b.FloorLs.Seconds), "", b.FloorLs.Note)
			t.row("cold ls -l vs floor", "", fmt.Sprintf("%.2fx floor", fr), fmt.Sprintf("target ≤ %.1fx", targetBigFloor), verdict(fr <= targetBigFloor))
		}
		rssLimit := int64(targetBigRSS)
		if b.Messages > 100_000 {
			rssLimit = targetHugeRSS // issue 21: a million messages in 400 MiB
		}
		t.row("peak RSS", mib(b.PeakRSS), "", fmt.Sprintf("target ≤ %s", mib(rssLimit)), verdict(b.PeakRSS <= rssLimit),
			"VmHWM of the mailfs process")
		if b.RemountLs.Seconds > 0 {
			t.row("ls -l after a remount (disk cache)", secs(b.RemountLs.Seconds), kb(b.RemountLs.Wire())+" wire",
				fmt.Sprintf("%.2fx cold ls -l", ratio(b.RemountLs.Seconds, b.ColdLs.Seconds)), "", "target: no listing fetch")
			t.row("peak RSS (remount)", mib(b.RemountRSS), "", fmt.Sprintf("target ≤ %s", mib(rssLimit)), verdict(b.RemountRSS <= rssLimit), "")
		}
		t.flush()
	}

	if f := r.Floor; f != nil && f.WarmGrep.Seconds > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "FUSE floor (go-fuse loopback over the local Maildir, in the benchmark process; passthrough where the kernel allows)")
		t.row("floor ls -l", secs(f.WarmLs.Seconds), "", f.WarmLs.Note, "", fmt.Sprintf("first: %s", secs(f.ColdLs.Seconds)))
		t.row("floor grep -r", secs(f.WarmGrep.Seconds), "", f.WarmGrep.Note, "", fmt.Sprintf("first: %s", secs(f.ColdGrep.Seconds)))
		t.flush()
		fmt.Fprintln(w, "mailfs against the floor")
		fl := func(name string, s, floor, target float64) {
			g := ratio(s, floor)
			if target > 0 {
				t.row(name, secs(s), fmt.Sprintf("%.2fx floor", g), fmt.Sprintf("target ≤ %.1fx", target), verdict(g <= target))
			} else {
				t.row(name, secs(s), fmt.Sprintf("%.2fx floor", g), "(information)")
			}
		}
		fl("cold ls -l", r.ColdLs.Seconds, f.WarmLs.Seconds, 0)
		fl("warm ls -l", r.WarmLs.Seconds, f.WarmLs.Seconds, 0)
		fl("cold grep -r", r.ColdGrep.Seconds, f.WarmGrep.Seconds, targetFloorCold)
		fl("warm grep -r", r.WarmGrep.Seconds, f.WarmGrep.Seconds, 0)
		if d := r.Disk; d != nil && d.RemountGrp.Seconds > 0 {
			fl("ls -l after a remount (disk cache)", d.RemountLs.Seconds, f.WarmLs.Seconds, targetFloorLs)
			t.row("  its bytes on the wire", "", kb(d.RemountLs.Wire()), "target: no listing fetch", verdict(d.RemountLs.Wire() < r.Listing.Wire()/10),
				fmt.Sprintf("a listing is %s", mb(r.Listing.Wire())))
			fl("grep -r after a remount (disk cache)", d.RemountGrp.Seconds, f.WarmGrep.Seconds, targetFloorWarm)
			t.row("  its bytes on the wire", "", kb(d.RemountGrp.Wire()), "(information)")
			fl("cold grep -r filling the disk cache", d.FirstGrep.Seconds, f.WarmGrep.Seconds, 0)
		}
		t.flush()
		if d := r.Disk; d != nil && d.Status != "" {
			fmt.Fprintf(w, "  remount status:\n")
			for l := range strings.Lines(d.Status) {
				fmt.Fprintf(w, "    %s", l)
			}
		}
	}
	if s := r.Search; s != nil && s.Query.Seconds > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Search (INBOX + %d small mailboxes, %d hits of the planted word)\n", s.Mailboxes-1, s.Hits)
		t.row("raw pipelined UID SEARCH", secs(s.Raw.Seconds), kb(s.Raw.Wire())+" wire",
			fmt.Sprintf("EXAMINE + UID SEARCH TEXT × %d mailboxes, all sent at once; %s", s.Mailboxes, s.Raw.Note))
		q := ratio(s.Query.Seconds, s.Raw.Seconds)
		t.row("ls -lR .search/WORD", secs(s.Query.Seconds), kb(s.Query.Wire())+" wire",
			fmt.Sprintf("%.1fx raw search (target ≤ %.0fx)", q, targetSearch), verdict(q <= targetSearch),
			fmt.Sprintf("fresh mount; %d B on the wire per hit", s.Query.Wire()/int64(max(s.Hits, 1))))
		t.row("cold grep -rl (all mailboxes)", secs(s.Grep.Seconds), mb(s.Grep.Wire())+" wire",
			fmt.Sprintf("the query is %.0fx faster, %.0fx fewer bytes", ratio(s.Grep.Seconds, s.Query.Seconds), ratio(float64(s.Grep.Wire()), float64(s.Query.Wire()))))
		t.flush()
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Correctness checks")
	for _, ch := range r.Checks {
		fmt.Fprintf(w, "  %-4s %s: %s\n", map[bool]string{true: "ok", false: "FAIL"}[ch.OK], ch.Name, ch.Detail)
	}
	fmt.Fprintf(w, "\ntotal run time %.0f s\n", r.TotalSeconds)
}

func writeJSON(path string, r *results) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
