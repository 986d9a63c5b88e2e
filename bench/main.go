// Command bench is mailfs's performance benchmark. It generates a
// deterministic corpus straight into a private Dovecot, puts a latency
// proxy in front of it, and measures side by side: raw go-imap baselines
// (one pipelined bulk fetch, one pipelined listing fetch, a naive loop of
// one FETCH per message), grep over the corpus as a local Maildir, and a
// real mount of the mailfs binary (cold ls -l, cold and warm grep -r,
// head -c 4096 of big messages, peak RSS, connections, \Seen). It prints
// every figure with its wire bytes and its ratio to the baseline and to the
// target, and exits non-zero only when a correctness check fails, never on
// timing.
//
// Run it with `bash bench/run` (builds mailfs and this program), or
// `bash bench/run --smoke` for the quick correctness pass. See
// bench/README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"mailfs/internal/testenv"
)

// config is the command line.
type config struct {
	Messages     int           `json:"messages"`
	RTT          time.Duration `json:"-"`
	RTTString    string        `json:"rtt"`
	CacheSize    string        `json:"cache_size"`
	Connections  int           `json:"connections"`
	Seed         uint64        `json:"seed"`
	BigMailbox   int           `json:"big_mailbox"`
	Smoke        bool          `json:"smoke"`
	NaiveAll     bool          `json:"naive_all"`
	NaiveMax     int           `json:"naive_max"`
	Verify       bool          `json:"verify"`
	Bandwidth    string        `json:"bandwidth"`
	PhaseTimeout time.Duration `json:"-"`
	JSON         string        `json:"-"`
	Mailfs       string        `json:"-"`
	MailfsRev    string        `json:"mailfs_revision,omitempty"`

	cacheBytes int64
	bandwidth  int64
}

func defaultConfig() config {
	return config{
		Messages: 5000, RTT: 20 * time.Millisecond, CacheSize: "256MiB", Connections: 3,
		Seed: 1, NaiveMax: 300, Bandwidth: "0", PhaseTimeout: time.Hour,
	}
}

// smokeConfig is --smoke: a tiny corpus at 2 ms RTT, everything verified.
func smokeConfig(cfg config) config {
	cfg.Smoke = true
	cfg.Messages = 60
	cfg.RTT = 2 * time.Millisecond
	cfg.Verify = true
	cfg.NaiveAll = true
	cfg.PhaseTimeout = 2 * time.Minute
	return cfg
}

// finish checks values and fills the parsed forms.
func (cfg *config) finish() error {
	if cfg.Messages < 2 {
		return fmt.Errorf("--messages %d: want at least 2", cfg.Messages)
	}
	if cfg.RTT < 0 {
		return fmt.Errorf("--rtt must not be negative")
	}
	if cfg.Connections < 1 {
		return fmt.Errorf("--connections %d: want at least 1", cfg.Connections)
	}
	n, err := humanize.ParseBytes(cfg.CacheSize)
	if err != nil {
		return fmt.Errorf("--cache-size %q: want a size such as 256MiB", cfg.CacheSize)
	}
	cfg.cacheBytes = int64(n)
	if bw, err := humanize.ParseBytes(cfg.Bandwidth); err != nil {
		return fmt.Errorf("--bandwidth %q: want bytes per second such as 10MB (0: unlimited)", cfg.Bandwidth)
	} else {
		cfg.bandwidth = int64(bw)
	}
	if cfg.NaiveMax < 1 {
		cfg.NaiveMax = 1
	}
	cfg.RTTString = cfg.RTT.String()
	return nil
}

func parseFlags(args []string) (config, error) {
	cfg := defaultConfig()
	set := pflag.NewFlagSet("bench", pflag.ContinueOnError)
	set.SortFlags = false
	set.IntVar(&cfg.Messages, "messages", cfg.Messages, "messages in the corpus (~22 KB each on average)")
	set.DurationVar(&cfg.RTT, "rtt", cfg.RTT, "round trip time the proxy adds (half each way)")
	set.StringVar(&cfg.CacheSize, "cache-size", cfg.CacheSize, "passed to mailfs mount --cache-size")
	set.IntVar(&cfg.Connections, "connections", cfg.Connections, "passed to mailfs mount --connections")
	set.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "corpus seed (same seed, same bytes)")
	set.IntVar(&cfg.BigMailbox, "big-mailbox", 0, "also list a mailbox of this many tiny messages and report mailfs's peak RSS (100000 is the target case; 0 skips)")
	set.BoolVar(&cfg.Smoke, "smoke", false, "tiny corpus (60 messages, 2ms RTT): check correctness only; exit non-zero on a correctness failure")
	set.StringVar(&cfg.JSON, "json", "", "also write the results to this file as JSON")
	set.BoolVar(&cfg.NaiveAll, "naive-all", false, "run the naive one-FETCH-per-message loop over every message instead of extrapolating")
	set.IntVar(&cfg.NaiveMax, "naive-max", cfg.NaiveMax, "messages the naive loop fetches before extrapolating")
	set.BoolVar(&cfg.Verify, "verify", false, "read every file back through the mount and compare with the corpus (always on with --smoke)")
	set.StringVar(&cfg.Bandwidth, "bandwidth", cfg.Bandwidth, "bandwidth cap per direction and connection, bytes per second (e.g. 10MB; 0 = unlimited)")
	set.DurationVar(&cfg.PhaseTimeout, "phase-timeout", cfg.PhaseTimeout, "give up on a phase after this long")
	set.StringVar(&cfg.Mailfs, "mailfs", "", "the mailfs binary to mount with (bench/run builds it)")
	set.StringVar(&cfg.MailfsRev, "mailfs-rev", "", "the revision that binary was built from, for the report (bench/run sets it)")
	if err := set.Parse(args); err != nil {
		return cfg, err
	}
	if set.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", set.Args())
	}
	if cfg.Smoke {
		smoke := smokeConfig(cfg)
		// Explicit flags win over the smoke defaults.
		for _, keep := range []string{"messages", "rtt", "naive-max", "phase-timeout"} {
			if set.Changed(keep) {
				switch keep {
				case "messages":
					smoke.Messages = cfg.Messages
				case "rtt":
					smoke.RTT = cfg.RTT
				case "phase-timeout":
					smoke.PhaseTimeout = cfg.PhaseTimeout
				case "naive-max":
					smoke.NaiveAll = false
				}
			}
		}
		cfg = smoke
	}
	if cfg.Mailfs == "" {
		return cfg, fmt.Errorf("--mailfs PATH is required (bash bench/run builds mailfs and passes it)")
	}
	return cfg, cfg.finish()
}

func main() {
	os.Exit(mainExit(os.Args[1:], os.Stdout, os.Stderr))
}

func mainExit(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if _, err := os.Stat(cfg.Mailfs); err != nil {
		fmt.Fprintln(stderr, "bench: mailfs binary:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log := newLogger(stderr)
	log.printf("starting a private Dovecot")
	d, err := testenv.NewDovecot("")
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	defer func() {
		if err := d.Close(); err != nil {
			fmt.Fprintln(stderr, "bench: stopping Dovecot:", err)
		}
	}()

	res, err := run(ctx, cfg, d, log)
	if res != nil {
		printReport(stdout, res)
		if cfg.JSON != "" {
			if err := writeJSON(cfg.JSON, res); err != nil {
				fmt.Fprintln(stderr, "bench:", err)
				return 1
			}
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "bench: interrupted")
			return 130
		}
		fmt.Fprintln(stderr, "bench:", err)
		fmt.Fprintln(stderr, d.LogTail(15))
		return 1
	}
	if failed := res.failedChecks(); len(failed) > 0 {
		fmt.Fprintf(stderr, "bench: %d correctness check(s) failed: %v\n", len(failed), failed)
		return 1
	}
	return 0
}

// logger prints progress lines with the time since the start.
type logger struct {
	w     io.Writer
	start time.Time
}

func newLogger(w io.Writer) *logger { return &logger{w: w, start: time.Now()} }

func (l *logger) printf(format string, args ...any) {
	fmt.Fprintf(l.w, "[%7.1fs] %s\n", time.Since(l.start).Seconds(), fmt.Sprintf(format, args...))
}
