package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailfs/internal/testenv"
)

// TestCLIPrivateDirs: a cache directory or state directory that is not
// the user's alone is refused with exit 2 and one line naming it, before
// anything is mounted or written: a symlink, one owned by someone else,
// one others can write to; and a lock file planted as a symlink is never
// followed. Run as root and as a normal user (.ci/nonroot).
func TestCLIPrivateDirs(t *testing.T) {
	testenv.RequireFUSE(t)
	url := "imap+insecure://nobody@127.0.0.1:1"
	base := t.TempDir()
	own := filepath.Join(base, "own")
	if err := os.Mkdir(own, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(own, link); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	// Someone else's: as root, a directory given to nobody; as a user,
	// one root owns.
	theirs := filepath.Join(base, "theirs")
	if os.Geteuid() == 0 {
		if err := os.Mkdir(theirs, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(theirs, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	} else {
		theirs = "/usr/share"
	}
	// A lock planted as a symlink to a file that must stay untouched.
	planted := filepath.Join(base, "planted")
	if err := os.Mkdir(planted, 0o700); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(base, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(planted, "lock")); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	for _, c := range []struct {
		name, cacheDir, stateHome, want string
		code                            int
	}{
		{"symlinked cache dir", link, state, "symbolic link", exitUsage},
		{"cache dir others can write", open, state, "others can write", exitUsage},
		{"someone else's cache dir", theirs, state, "belongs to uid", exitUsage},
		{"lock planted as a symlink", planted, state, "lock", exitFailure},
		{"symlinked state dir", own, link, "symbolic link", exitUsage},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.stateHome == link {
				// $XDG_STATE_HOME/mailfs is the symlink.
				home := t.TempDir()
				if err := os.Symlink(own, filepath.Join(home, "mailfs")); err != nil {
					t.Fatal(err)
				}
				c.stateHome = home
			}
			code, msg := runCLIEnv(t, []string{"MAILFS_PASSWORD=x", "XDG_STATE_HOME=" + c.stateHome},
				"mount", "--disk-cache", "1GiB", "--cache-dir", c.cacheDir, url, t.TempDir())
			if code != c.code || !strings.Contains(msg, c.want) || strings.Count(strings.TrimSpace(msg), "\n") > 0 {
				t.Fatalf("exit %d, %q; want exit %d and one line with %q", code, msg, c.code, c.want)
			}
		})
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Fatalf("the file a planted lock pointed at was changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(own, "bodies")); err == nil {
		t.Fatal("a cache was made through the symlink")
	}
}

// TestCLIPasswordNotInEnviron: the password given in MAILFS_PASSWORD is
// not in the mount's /proc/PID/environ (nor its --daemon process's): it
// is handed over on a pipe.
func TestCLIPasswordNotInEnviron(t *testing.T) {
	testenv.RequireFUSE(t)
	s := startMem(t)
	s.seedSample(t)
	environOf := func(dir string) string {
		t.Helper()
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			cmdline, _ := os.ReadFile(p)
			if strings.Contains(string(cmdline), dir) && strings.HasPrefix(string(cmdline), mailfsBin) {
				env, err := os.ReadFile(filepath.Join(filepath.Dir(p), "environ"))
				if err != nil {
					t.Fatal(err)
				}
				return string(env)
			}
		}
		t.Fatalf("no mailfs process mounting %s", dir)
		return ""
	}
	dir := t.TempDir()
	cmd, stderr := startCLI(t, s, dir)
	if _, err := os.ReadFile(firstMessage(t, dir)); err != nil {
		t.Fatal(err)
	}
	if env := environOf(dir); strings.Contains(env, s.pass) || !strings.Contains(env, "PATH=") {
		t.Errorf("the mount's environ holds the password (or was not read)")
	}
	unmountCLI(t, dir)
	waitExit(t, cmd, stderr)

	dir = t.TempDir()
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	if code, msg := runCLI(t, s.pass, "mount", "--daemon", "imap+insecure://"+s.user+"@"+s.addr, dir); code != 0 {
		t.Fatalf("mount --daemon: %d %s", code, msg)
	}
	defer unmountCLI(t, dir)
	if _, err := os.ReadFile(firstMessage(t, dir)); err != nil {
		t.Fatal(err)
	}
	if env := environOf(dir); strings.Contains(env, s.pass) || !strings.Contains(env, "PATH=") {
		t.Errorf("the --daemon process's environ holds the password (or was not read)")
	}
}
