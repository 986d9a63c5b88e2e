// Package testenv provides helpers for tests that need real external
// prerequisites: a FUSE device and a private Dovecot IMAP server.
//
// A missing prerequisite fails the test and says what to install, so that
// nothing is silently untested, on a developer's machine as in CI. Set
// MAILFS_TEST_STRICT=0 to skip those tests instead (an explicit opt-out).
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// StrictEnv is the environment variable that makes missing prerequisites
// fail tests instead of skipping them.
const StrictEnv = "MAILFS_TEST_STRICT"

// Strict reports whether missing prerequisites must fail instead of skip:
// always, unless MAILFS_TEST_STRICT=0.
func Strict() bool {
	return os.Getenv(StrictEnv) != "0"
}

// Require skips the test (t.Skipf) with the reason when ok is false, or
// fails it (t.Fatalf) when Strict().
func Require(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if Strict() {
		t.Fatalf("missing test prerequisite: %s (or set %s=0 to skip the tests that need it)", msg, StrictEnv)
	}
	t.Skipf("skipping (%s=0): missing test prerequisite: %s", StrictEnv, msg)
}

// RequireFUSE checks /dev/fuse is openable and that we can mount (root, or
// fusermount3 on PATH); otherwise Require fails/skips with a hint
// "apt-get install fuse3".
func RequireFUSE(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	Require(t, err == nil, "cannot open /dev/fuse: %v (hint: apt-get install fuse3; in a container pass --device /dev/fuse)", err)
	f.Close()
	if os.Geteuid() == 0 {
		return
	}
	_, err = exec.LookPath("fusermount3")
	Require(t, err == nil, "not root and fusermount3 not on PATH: %v (hint: apt-get install fuse3)", err)
}
