package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mailfs/internal/testenv"
)

// mountProc is one `mailfs mount` process.
type mountProc struct {
	bin     string // the mailfs binary
	dir     string // mount point
	logPath string // its stderr
	cmd     *exec.Cmd
	done    chan struct{} // closed when it exited
	waitErr error         // its exit status, valid after done
}

// startMount runs `mailfs mount --connections N --cache-size S
// imap+insecure://USER@ADDR DIR` with MAILFS_PASSWORD in its environment
// and waits until DIR is a mount point.
func startMount(ctx context.Context, bin, addr, user, password, dir, logPath string, connections int, cacheSize string, extra ...string) (*mountProc, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	url := "imap+insecure://" + user + "@" + addr
	args := append([]string{"mount", "--connections", strconv.Itoa(connections), "--cache-size", cacheSize}, extra...)
	cmd := exec.Command(bin, append(args, url, dir)...)
	cmd.Env = append(os.Environ(), "MAILFS_PASSWORD="+password)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // Ctrl-C reaches us; we unmount it in order
		Pdeathsig: syscall.SIGTERM, // and it unmounts itself if we die
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	m := &mountProc{bin: bin, dir: dir, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		m.waitErr = cmd.Wait()
		close(m.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !testenv.IsMounted(dir) {
		select {
		case <-m.done:
			return nil, fmt.Errorf("mailfs mount exited before mounting (%v):\n%s", m.waitErr, m.logTail(20))
		case <-ctx.Done():
			m.kill()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.kill()
			return nil, fmt.Errorf("%s not mounted within 30 s:\n%s", dir, m.logTail(20))
		}
	}
	return m, nil
}

func (m *mountProc) pid() int { return m.cmd.Process.Pid }

// memory returns VmHWM (peak resident set) and VmRSS of the mount process
// in bytes.
func (m *mountProc) memory() (hwm, rss int64) {
	return procMemory(m.pid())
}

func procMemory(pid int) (hwm, rss int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmHWM":
			hwm = n << 10
		case "VmRSS":
			rss = n << 10
		}
	}
	return hwm, rss
}

// unmount runs `mailfs umount DIR` and waits for the mount process. It
// reports the exit status of both (0 expected).
func (m *mountProc) unmount() error {
	var errs []error
	var out []byte
	var err error
	for range 50 { // a reader (grep, head) may still hold a file for a moment
		out, err = exec.Command(m.bin, "umount", m.dir).CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("busy")) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("mailfs umount %s: %v: %s", m.dir, err, strings.TrimSpace(string(out))))
	}
	select {
	case <-m.done:
		if m.waitErr != nil {
			errs = append(errs, fmt.Errorf("mailfs mount exited with %v:\n%s", m.waitErr, m.logTail(20)))
		}
	case <-time.After(30 * time.Second):
		errs = append(errs, fmt.Errorf("mailfs mount still running 30 s after umount; killed it"))
		m.kill()
	}
	return errors.Join(errs...)
}

// kill ends the process and clears the mount point, for cleanup after a
// failure or an interrupt.
func (m *mountProc) kill() {
	select {
	case <-m.done:
	default:
		m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(5 * time.Second):
			m.cmd.Process.Kill()
			<-m.done
		}
	}
	if testenv.IsMounted(m.dir) {
		syscall.Unmount(m.dir, syscall.MNT_DETACH)
	}
}

// logTail returns the last n lines of the process's stderr.
func (m *mountProc) logTail(n int) string {
	data, _ := os.ReadFile(m.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "--- " + m.logPath + " ---\n" + strings.Join(lines, "\n")
}

// shell runs a command with LC_ALL=C and returns its stdout (capped: the
// rest is counted, not kept), exit code and stderr.
type shellResult struct {
	Stdout   []byte
	Lines    int // newline count of the whole stdout
	Stderr   string
	ExitCode int
	Took     time.Duration
}

func shell(ctx context.Context, keep int, name string, args ...string) (shellResult, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out := &cappedBuffer{max: keep}
	var stderr bytes.Buffer
	cmd.Stdout = out
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	res := shellResult{Stdout: out.buf.Bytes(), Lines: out.lines, Stderr: stderr.String(), Took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		res.ExitCode = ee.ExitCode()
	default:
		return res, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return res, nil
}

// cappedBuffer keeps the first max bytes written and counts newlines.
type cappedBuffer struct {
	buf   bytes.Buffer
	max   int
	lines int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.lines += bytes.Count(p, []byte{'\n'})
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

var _ io.Writer = (*cappedBuffer)(nil)

// grepFiles parses the output of grep -rZ: the distinct files named.
func grepFiles(out []byte) []string {
	seen := map[string]bool{}
	var files []string
	for _, line := range bytes.Split(out, []byte{'\n'}) {
		name, _, ok := bytes.Cut(line, []byte{0})
		if !ok {
			continue
		}
		if f := string(name); !seen[f] {
			seen[f] = true
			files = append(files, f)
		}
	}
	return files
}

// dirEntry is a file of a directory with its size.
type dirEntry struct {
	Name string
	Size int64
}

// listDir returns the regular files of dir with their sizes (lstat).
func listDir(dir string) ([]dirEntry, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]dirEntry, 0, len(ents))
	for _, e := range ents {
		fi, err := os.Lstat(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if fi.Mode().IsRegular() {
			out = append(out, dirEntry{e.Name(), fi.Size()})
		}
	}
	return out, nil
}
