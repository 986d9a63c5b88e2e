package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"mailfs/internal/sample"
	"mailfs/internal/testenv"
)

// searchCLI runs `mailfs search ARGS` and returns its exit code, stdout
// and stderr.
func searchCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(mailfsBin, append([]string{"search"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// TestCLISearch: mailfs search prints the matching messages' paths in
// their mailboxes (the same files grep -rl finds), counts them, runs a
// named search, takes / in in:, exits 1 for no hits and 2 with the place
// a bad query fails.
func TestCLISearch(t *testing.T) {
	testenv.RequireFUSE(t)
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		dir := t.TempDir()
		startCLI(t, s, dir, "--search", "planted="+sample.PlantedWord)
		grep, err := exec.Command("grep", "-rl", sample.PlantedWord, dir).Output()
		if err != nil {
			t.Fatalf("grep -rl: %v", err)
		}
		want := strings.Fields(string(grep))
		sort.Strings(want)
		if len(want) == 0 {
			t.Fatal("grep finds nothing: the test proves nothing")
		}
		for _, q := range []string{sample.PlantedWord, "planted"} {
			code, out, errs := searchCLI(t, dir, q)
			got := strings.Fields(out)
			sort.Strings(got)
			if code != 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("mailfs search %s: exit %d %s\n got %v\nwant %v", q, code, errs, got, want)
			}
		}
		for _, p := range want {
			if _, err := os.Stat(p); err != nil || strings.Contains(p, ".search") {
				t.Errorf("printed path %s is not the message in its mailbox: %v", p, err)
			}
		}
		if code, out, _ := searchCLI(t, "--count", dir, sample.PlantedWord); code != 0 || strings.TrimSpace(out) != strconv.Itoa(len(want)) {
			t.Errorf("--count: exit %d, %q, want %d", code, out, len(want))
		}
		code, out, _ := searchCLI(t, dir, "in:Work/Projects "+sample.PlantedWord)
		if code != 0 || len(strings.Fields(out)) == 0 {
			t.Errorf("in:Work/Projects: exit %d %q", code, out)
		}
		for _, p := range strings.Fields(out) {
			if filepath.Base(filepath.Dir(p)) != "Projects" {
				t.Errorf("in:Work/Projects printed %s", p)
			}
		}
		if code, out, _ := searchCLI(t, dir, "nothing-matches-this-9931"); code != 1 || out != "" {
			t.Errorf("no hits: exit %d, %q", code, out)
		}
		if code, _, errs := searchCLI(t, dir, "from:alice (unclosed"); code != exitUsage || !strings.Contains(errs, "at ") {
			t.Errorf("bad query: exit %d, %q", code, errs)
		}
		if code, _, errs := searchCLI(t, t.TempDir(), "x"); code != exitMountPoint || !strings.Contains(errs, "not a mailfs mount") {
			t.Errorf("not a mount: exit %d, %q", code, errs)
		}
	})
}
