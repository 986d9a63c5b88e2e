package main

import (
	"bytes"
	"fmt"
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

// TestCLISearchInMailbox: mailfs search takes a mailbox directory of the
// mount for MOUNTPOINT and searches that mailbox and its children (as
// in:MAILBOX), printing their full paths: a mailbox with children, a
// nested one, a named search and a query with its own in: (what both
// allow); a path inside the mount that is not a mailbox is exit 5.
func TestCLISearchInMailbox(t *testing.T) {
	testenv.RequireFUSE(t)
	s := startMem(t)
	s.seedSample(t)
	dir := t.TempDir()
	startCLI(t, s, dir, "--search", "everything=larger:1")
	under := func(box string) []string {
		t.Helper()
		return emlUnder(t, filepath.Join(dir, box))
	}
	all := under("")
	for _, box := range []string{"Work", "Work/Projects", "INBOX"} {
		want := under(box)
		if len(want) == 0 || len(want) == len(all) {
			t.Fatalf("%s holds %d of %d messages: the test proves nothing", box, len(want), len(all))
		}
		for _, q := range []string{"larger:1", "everything", "in:Work larger:1"} {
			if q == "in:Work larger:1" && box == "INBOX" {
				want = nil // in:Work and INBOX/ have nothing in common
			}
			code, got, errs := searchSorted(t, filepath.Join(dir, box), q)
			if strings.Join(got, "\n") != strings.Join(want, "\n") || (code != 0) != (len(want) == 0) {
				t.Errorf("mailfs search %s/%s %q: exit %d %s\n got %v\nwant %v", dir, box, q, code, errs, got, want)
			}
		}
	}
	if code, got, errs := searchSorted(t, filepath.Join(dir, "Work"), sample.PlantedWord); code != 0 || len(got) != 1 || !strings.HasPrefix(got[0], filepath.Join(dir, "Work", "Projects")+"/") {
		t.Errorf("the planted word under Work: exit %d %s %v", code, errs, got)
	}
	if code, got, _ := searchSorted(t, filepath.Join(dir, "INBOX"), sample.PlantedWord); code != exitNoHits || len(got) != 0 {
		t.Errorf("the planted word under INBOX (it is in Work/Projects): exit %d %v", code, got)
	}
	if code, out, _ := searchCLI(t, "--count", filepath.Join(dir, "Work", "Projects"), "larger:1"); code != 0 || strings.TrimSpace(out) != strconv.Itoa(len(under("Work/Projects"))) {
		t.Errorf("--count in Work/Projects: exit %d %q", code, out)
	}
	for _, p := range []string{filepath.Join(dir, ".search"), filepath.Join(dir, "INBOX", "nope")} {
		if code, _, errs := searchCLI(t, p, "larger:1"); code != exitMountPoint {
			t.Errorf("mailfs search %s: exit %d, %q; want %d", p, code, errs, exitMountPoint)
		}
	}

	// Several accounts: a path in one searches that account (its root or
	// a mailbox of it).
	other := startMem(t)
	other.seedSample(t)
	account := "[accounts.%s]\nurl = \"imap+insecure://%s@%s\"\npassword-command = \"printf %%s %s\"\n"
	cfg := writeConfig(t, fmt.Sprintf(account, "one", s.user, s.addr, s.pass)+fmt.Sprintf(account, "two", other.user, other.addr, other.pass))
	multi := t.TempDir()
	startMount(t, multi, nil, "mount", "--config", cfg, multi)
	for _, box := range []string{"two", "two/Work", "two/Work/Projects"} {
		want := emlUnder(t, filepath.Join(multi, box))
		if code, got, errs := searchSorted(t, filepath.Join(multi, box), "larger:1"); code != 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("mailfs search %s/%s: exit %d %s\n got %v\nwant %v", multi, box, code, errs, got, want)
		}
	}
}

// emlUnder lists the message files below dir, sorted (find).
func emlUnder(t *testing.T, dir string) []string {
	t.Helper()
	out, err := exec.Command("find", dir, "-name", "*.eml").Output()
	if err != nil {
		t.Fatalf("find: %v", err)
	}
	got := strings.Fields(string(out))
	sort.Strings(got)
	return got
}

// searchSorted runs mailfs search ARGS: its exit code, the paths it
// printed (sorted) and its stderr.
func searchSorted(t *testing.T, args ...string) (int, []string, string) {
	t.Helper()
	code, out, errs := searchCLI(t, args...)
	got := strings.Fields(out)
	sort.Strings(got)
	return code, got, errs
}

// TestInMailbox: a query run for a mailbox directory is narrowed to it
// with in: where in: can say it, else run as it is.
func TestInMailbox(t *testing.T) {
	root := t.TempDir() // no .search here: no named searches
	for _, c := range []struct{ box, query, want string }{
		{"Work", "invoice", `in:"Work" (invoice)`},
		{"Work/Projects", "a OR b", `in:"Work/Projects" (a OR b)`},
		{"Deleted Items", "-is:read", `in:"Deleted Items" (-is:read)`},
		{"Work", "in:INBOX invoice", "in:INBOX invoice"},
		{`say "hi"`, "invoice", "invoice"},
		{"Work", strings.Repeat("x", 250), strings.Repeat("x", 250)},
	} {
		if got := inMailbox(root, c.box, c.query); got != c.want {
			t.Errorf("inMailbox(%q, %q) = %q, want %q", c.box, c.query, got, c.want)
		}
	}
}
