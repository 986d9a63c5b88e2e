package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailfs/internal/testenv"
)

// TestSmoke runs `bench --smoke` end to end: a tiny corpus in a private
// Dovecot, the baselines, and the real mailfs binary mounted through the
// latency proxy. It fails when any correctness check fails (every file
// equals the corpus, grep finds the planted word once, \Seen untouched,
// connections within --connections, clean unmount), never on timings.
func TestSmoke(t *testing.T) {
	testenv.RequireFUSE(t)
	d := testenv.StartDovecot(t)
	bin := buildMailfs(t)

	cfg := smokeConfig(defaultConfig())
	cfg.Mailfs = bin
	if err := cfg.finish(); err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := run(ctx, cfg, d, newLogger(&logBuf))
	var report bytes.Buffer
	if res != nil {
		printReport(&report, res)
	}
	if err != nil {
		t.Fatalf("bench --smoke: %v\n%s\n%s", err, logBuf.String(), report.String())
	}
	if failed := res.failedChecks(); len(failed) > 0 {
		t.Fatalf("correctness checks failed: %v\n%s\n%s", failed, logBuf.String(), report.String())
	}
	// Every check the smoke mode promises ran.
	for _, want := range []string{"every file equals the corpus bytes", "cold grep -r finds exactly the planted file",
		`\Seen and flags untouched`, "connections ≤ --connections", "mailfs umount and exit 0 (scan)"} {
		found := false
		for _, c := range res.Checks {
			found = found || c.Name == want
		}
		if !found {
			t.Errorf("check %q did not run", want)
		}
	}
	t.Logf("%s", report.String())
}

// buildMailfs builds cmd/mailfs into a temp dir, with the race detector
// when this test has it (the packages are then already compiled that way).
func buildMailfs(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH (it builds mailfs for the smoke test): %v", err)
	}
	bin := filepath.Join(t.TempDir(), "mailfs")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(goBin, append(args, "mailfs/cmd/mailfs")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build mailfs: %v\n%s", err, out)
	}
	return bin
}

// TestCorpus: same seed, same bytes; every message parses, has CRLF line
// ends only, and its MIME structure holds together; the planted word is in
// exactly one message.
func TestCorpus(t *testing.T) {
	const n = 400
	a, b := generateCorpus(n, 7), generateCorpus(n, 7)
	if a.Total != b.Total || a.Planted != b.Planted || a.Word != b.Word {
		t.Fatal("corpus is not deterministic")
	}
	for i := range a.Msgs {
		if !bytes.Equal(a.Msgs[i].Raw, b.Msgs[i].Raw) || a.Msgs[i].Flags != b.Msgs[i].Flags || !a.Msgs[i].Date.Equal(b.Msgs[i].Date) {
			t.Fatalf("message %d differs between two runs with the same seed", i)
		}
	}
	if c := generateCorpus(n, 8); c.Total == a.Total {
		t.Error("another seed gives the same corpus size")
	}
	if len(a.Msgs[a.ThreeMB].Raw) < 2_900_000 || len(a.Msgs[a.ThreeMB].Raw) > 3_100_000 {
		t.Errorf("the ~3 MB message has %d bytes", len(a.Msgs[a.ThreeMB].Raw))
	}
	kinds := map[string]int{}
	planted := 0
	for i, m := range a.Msgs {
		kinds[m.Kind]++
		if bytes.Contains(m.Raw, []byte(a.Word)) {
			planted++
		}
		if i > 0 && !m.Date.After(a.Msgs[i-1].Date) {
			t.Errorf("message %d: date %v not after the previous one", i, m.Date)
		}
		if bytes.Count(m.Raw, []byte("\n")) != bytes.Count(m.Raw, []byte("\r\n")) || bytes.Contains(m.Raw, []byte("\r\r")) {
			t.Fatalf("message %d (%s): bare LF or CR", i, m.Kind)
		}
		checkMIME(t, i, m)
	}
	if planted != 1 {
		t.Errorf("planted word in %d messages, want 1", planted)
	}
	for _, k := range []string{kindPlain, kindQP, kindAlt, kindAttach, kindBig} {
		if kinds[k] == 0 {
			t.Errorf("no %s message in %d: %v", k, n, kinds)
		}
	}
	for i, m := range generateTiny(50, 1) {
		if len(m.Raw) > 2000 {
			t.Errorf("tiny message %d has %d bytes", i, len(m.Raw))
		}
		checkMIME(t, i, m)
	}
}

func checkMIME(t *testing.T, i int, m corpusMsg) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		t.Fatalf("message %d: %v", i, err)
	}
	if got := strings.Trim(msg.Header.Get("Message-ID"), "<>"); got != m.MessageID {
		t.Errorf("message %d: Message-ID %q, want %q", i, got, m.MessageID)
	}
	dec := new(mime.WordDecoder)
	if _, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Errorf("message %d: Subject %q: %v", i, msg.Header.Get("Subject"), err)
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Errorf("message %d: %v", i, err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("message %d: Content-Type: %v", i, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	parts := 0
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("message %d (%s): part %d: %v", i, m.Kind, parts, err)
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("message %d: part %d: %v", i, parts, err)
		}
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			if _, err := io.ReadAll(base64Decoder(body)); err != nil {
				t.Errorf("message %d: base64 part: %v", i, err)
			}
		}
		parts++
	}
	if parts != 2 {
		t.Errorf("message %d (%s): %d parts, want 2", i, m.Kind, parts)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"--mailfs", os.Args[0], "--smoke", "--messages", "80"})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Smoke || cfg.Messages != 80 || cfg.RTT != 2*time.Millisecond || !cfg.Verify {
		t.Errorf("--smoke --messages 80: %+v", cfg)
	}
	cfg, err = parseFlags([]string{"--mailfs", "x", "--rtt", "50ms", "--cache-size", "64MiB"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Messages != 5000 || cfg.RTT != 50*time.Millisecond || cfg.cacheBytes != 64<<20 || cfg.Connections != 3 || cfg.Smoke {
		t.Errorf("defaults: %+v", cfg)
	}
	for _, bad := range [][]string{{"--mailfs", "x", "--cache-size", "lots"}, {"--messages", "10"}, {"--mailfs", "x", "extra"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

// base64Decoder decodes a base64 body (line ends are ignored).
func base64Decoder(body []byte) io.Reader {
	return base64.NewDecoder(base64.StdEncoding, bytes.NewReader(body))
}
