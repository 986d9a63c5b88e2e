package testenv

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Leaks records open file descriptors and goroutines; Check fails the test
// when, after a grace period, more remain than at the start.
type Leaks struct {
	fds, goroutines int
}

// StartLeakCheck takes the "before" figures.
func StartLeakCheck() Leaks {
	return Leaks{fds: countFDs(), goroutines: runtime.NumGoroutine()}
}

// Check compares with the "before" figures, allowing slack for runtime
// helpers, and prints the goroutine dump on failure.
func (l Leaks) Check(t testing.TB, slack int) {
	t.Helper()
	var fds, gs int
	for range 100 {
		fds, gs = countFDs(), runtime.NumGoroutine()
		if fds <= l.fds+slack && gs <= l.goroutines+slack {
			return
		}
		time.Sleep(30 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	t.Errorf("leak: fds %d -> %d, goroutines %d -> %d\n%s", l.fds, fds, l.goroutines, gs, filterStacks(string(buf[:n])))
}

func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(ents)
}

// filterStacks drops the testing framework's own goroutines from a dump.
func filterStacks(dump string) string {
	var keep []string
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.Contains(g, "testing.tRunner") && !strings.Contains(g, "mailfs/") {
			continue
		}
		keep = append(keep, g)
	}
	return strings.Join(keep, "\n\n")
}
