// Package testenv provides helpers for tests that need real external
// prerequisites: a FUSE device and a private Dovecot IMAP server.
//
// Missing prerequisites skip the test by default so that "go test ./..."
// works on a bare developer machine. CI sets MAILFS_TEST_STRICT=1, which
// turns every such skip into a failure so that nothing is silently untested.
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
// true when env MAILFS_TEST_STRICT=1 (CI sets it).
func Strict() bool {
	return os.Getenv(StrictEnv) == "1"
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
		t.Fatalf("missing test prerequisite (%s=1, so this is fatal): %s", StrictEnv, msg)
	}
	t.Skipf("skipping: missing test prerequisite: %s (set %s=1 to fail instead)", msg, StrictEnv)
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
