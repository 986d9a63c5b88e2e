package testenv

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"mailfs/fs"
)

// Mount mounts a mailfs file system with opts in a fresh temp dir and
// unmounts it in Cleanup, failing the test if the unmount fails or the
// mount lingers. FUSE debug output appears only with -v and
// MAILFS_TEST_FUSE_DEBUG set.
func Mount(t testing.TB, opts fs.Options) (string, *fs.Mounted) {
	t.Helper()
	RequireFUSE(t)
	dir := t.TempDir()
	if testing.Verbose() && os.Getenv("MAILFS_TEST_FUSE_DEBUG") != "" {
		opts.DebugFUSE = true
	}
	server, err := fs.Mount(dir, opts)
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() { Unmount(t, server, dir) })
	return dir, server
}

// Unmount unmounts server from dir and waits for it to end, failing the
// test if it cannot or the mount lingers. A reader may still hold a file
// for a moment (EBUSY): the unmount is retried until a deadline.
func Unmount(t testing.TB, server *fs.Mounted, dir string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	err := server.Unmount()
	for err != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling the unmount itself, not a barrier
		err = server.Unmount()
	}
	if err != nil {
		t.Errorf("unmount %s: %v", dir, err)
	}
	server.Wait()
	if IsMounted(dir) {
		t.Errorf("%s still mounted after unmount", dir)
	}
}

// IsMounted reports whether dir is a mount point, from /proc/self/mountinfo.
func IsMounted(dir string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && unescapeMountinfo(fields[4]) == dir {
			return true
		}
	}
	return false
}

// unescapeMountinfo undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			v := (s[i+1]-'0')*64 + (s[i+2]-'0')*8 + (s[i+3] - '0')
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// WaitMounted polls until dir is a mount point or the timeout passes.
func WaitMounted(dir string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if IsMounted(dir) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
