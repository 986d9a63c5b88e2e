package main

import (
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"

	"mailfs/internal/testenv"
)

// TestCLIVersion: `mailfs version` and `mailfs --version` print one line
// with what `go build` embedded in the binary (read back with
// `go version -m`): the module version, the VCS revision and whether
// the tree was modified, the Go version; `mailfs status` shows the same.
func TestCLIVersion(t *testing.T) {
	info, err := exec.Command("go", "version", "-m", mailfsBin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	var goVersion, modVersion, revision, modified string
	for i, line := range strings.Split(string(info), "\n") {
		f := strings.Fields(line)
		switch {
		case i == 0 && len(f) == 2:
			goVersion = f[1]
		case len(f) >= 3 && f[0] == "mod" && f[1] == "mailfs":
			modVersion = f[2]
		case len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.revision="):
			revision = strings.TrimPrefix(f[1], "vcs.revision=")
		case len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.modified="):
			modified = strings.TrimPrefix(f[1], "vcs.modified=")
		}
	}
	if goVersion == "" || modVersion == "" {
		t.Fatalf("go version -m says no Go or module version:\n%s", info)
	}
	want := []string{"mailfs " + modVersion + ", ", ", " + goVersion + " "}
	if revision != "" {
		want = append(want, "revision "+revision)
	} else {
		want = append(want, "revision unknown")
	}
	var outs []string
	for _, arg := range []string{"version", "--version"} {
		out, err := exec.Command(mailfsBin, arg).Output()
		if err != nil {
			t.Fatalf("mailfs %s: %v", arg, err)
		}
		line := string(out)
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
			t.Errorf("mailfs %s: want one line, got %q", arg, line)
		}
		for _, w := range want {
			if !strings.Contains(line, w) {
				t.Errorf("mailfs %s: %q lacks %q", arg, line, w)
			}
		}
		if got := strings.Contains(line, "uncommitted changes"); got != (modified == "true") {
			t.Errorf("mailfs %s: %q; vcs.modified=%s", arg, line, modified)
		}
		outs = append(outs, line)
	}
	if outs[0] != outs[1] {
		t.Errorf("version and --version differ: %q, %q", outs[0], outs[1])
	}

	testenv.RequireFUSE(t)
	s := startMem(t)
	dir := t.TempDir()
	cmd, stderr := startCLI(t, s, dir)
	st, err := exec.Command(mailfsBin, "status", dir).Output()
	if err != nil {
		t.Fatalf("mailfs status: %v", err)
	}
	if line := "version:        " + strings.TrimPrefix(outs[0], "mailfs "); !strings.Contains(string(st), line) {
		t.Errorf("status lacks %q:\n%s", line, st)
	}
	exec.Command(mailfsBin, "umount", dir).Run()
	waitExit(t, cmd, stderr)
}

// TestVersionOf: the line for a build with and without VCS information.
func TestVersionOf(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "mailfs", Version: "v0.0.0-20261207163234-7eb8aaaa1493+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "7eb8aaaa14939e68dab92d951d1686278a44673a"}, {Key: "vcs.modified", Value: "true"}}}
	for _, tc := range []struct {
		modified, want string
	}{
		{"true", "v0.0.0-20261207163234-7eb8aaaa1493+dirty, revision 7eb8aaaa14939e68dab92d951d1686278a44673a with uncommitted changes, go1.26.8 linux/amd64"},
		{"false", "v0.0.0-20261207163234-7eb8aaaa1493+dirty, revision 7eb8aaaa14939e68dab92d951d1686278a44673a, go1.26.8 linux/amd64"},
	} {
		bi.Settings[2].Value = tc.modified
		if got := versionOf(bi, "linux/amd64"); got != tc.want {
			t.Errorf("modified=%s: %q, want %q", tc.modified, got, tc.want)
		}
	}
	plain := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "mailfs", Version: "(devel)"}}
	if got := versionOf(plain, "linux/amd64"); !strings.HasPrefix(got, "(devel), revision unknown (") || !strings.HasSuffix(got, ", go1.26.8 linux/amd64") {
		t.Errorf("no VCS information: %q", got)
	}
}
