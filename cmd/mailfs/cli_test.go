package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/internal/sample"
	"mailfs/internal/testenv"
)

// runCLI runs the mailfs binary to completion with the given password.
func runCLI(t *testing.T, password string, args ...string) (code int, stderr string) {
	t.Helper()
	return runCLIEnv(t, []string{"MAILFS_PASSWORD=" + password}, args...)
}

// runCLIEnv runs mailfs with env added to ours and waits for it.
func runCLIEnv(t *testing.T, env []string, args ...string) (code int, stderr string) {
	t.Helper()
	cmd := exec.Command(mailfsBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("mailfs %v hung; stderr: %s", args, errb.String())
	}
	return cmd.ProcessState.ExitCode(), errb.String()
}

func TestCLIWrongPassword(t *testing.T) {
	testenv.RequireFUSE(t)
	eachServer(t, func(t *testing.T, s *server) {
		const bad = "Wr0ng-Secret-p4ss"
		code, stderr := runCLI(t, bad, "mount", "imap+insecure://"+s.user+"@"+s.addr, t.TempDir())
		if code != exitAuth {
			t.Errorf("exit %d, want %d; stderr: %s", code, exitAuth, stderr)
		}
		if !strings.Contains(stderr, "authentication failed") || !strings.Contains(stderr, s.user) || !strings.Contains(stderr, s.addr) {
			t.Errorf("stderr does not say who failed where: %q", stderr)
		}
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr echoes the password: %q", stderr)
		}
		if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
			t.Errorf("want one line, got %d: %q", n+1, stderr)
		}
	})
}

func TestCLIUnreachable(t *testing.T) {
	testenv.RequireFUSE(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens here now
	start := time.Now()
	code, stderr := runCLI(t, "x", "mount", "--timeout=3s", "imap+insecure://bob@"+addr, t.TempDir())
	if code != exitUnreachable || !strings.Contains(stderr, "cannot reach "+addr) {
		t.Errorf("exit %d, stderr %q; want %d and 'cannot reach'", code, stderr, exitUnreachable)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v", time.Since(start))
	}

	// A server that accepts but never greets: bounded by --timeout.
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start = time.Now()
	code, stderr = runCLI(t, "x", "mount", "--timeout=1s", "imap+insecure://bob@"+hole.Addr().String(), t.TempDir())
	if code != exitUnreachable {
		t.Errorf("silent server: exit %d, stderr %q", code, stderr)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("silent server: gave up after %v with --timeout=1s", d)
	}
}

func TestCLIBadMountPoint(t *testing.T) {
	testenv.RequireFUSE(t)
	s := startMem(t)
	url := "imap+insecure://" + s.user + "@" + s.addr
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	busy := t.TempDir()
	startCLI(t, s, busy)
	for name, mp := range map[string]string{
		"missing":         filepath.Join(t.TempDir(), "nope"),
		"not a directory": file,
		"already mounted": busy,
	} {
		code, stderr := runCLI(t, s.pass, "mount", url, mp)
		if code != exitMountPoint {
			t.Errorf("%s: exit %d, want %d; stderr %q", name, code, exitMountPoint, stderr)
		}
	}
	if code, stderr := runCLI(t, s.pass, "mount", "--cache-size=lots", url, t.TempDir()); code != exitUsage {
		t.Errorf("bad flag: exit %d; %q", code, stderr)
	}
	if code, stderr := runCLI(t, s.pass, "mount", "imaps://"+s.addr, t.TempDir()); code != exitUsage || !strings.Contains(stderr, "no user name") {
		t.Errorf("URL without user: exit %d; %q", code, stderr)
	}
}

// TestCLINonEmptyMountPoint: a mount over a directory that holds files
// would hide them: refused with exit 5 and one line naming the
// directory, the files untouched; --nonempty mounts over them, and they
// are back after the unmount.
func TestCLINonEmptyMountPoint(t *testing.T) {
	testenv.RequireFUSE(t)
	s := startMem(t)
	dir := t.TempDir()
	kept := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(kept, []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stderr := runCLI(t, s.pass, "mount", "imap+insecure://"+s.user+"@"+s.addr, dir)
	if code != exitMountPoint || !strings.Contains(stderr, dir+" is not empty") || !strings.Contains(stderr, "--nonempty") {
		t.Errorf("exit %d, stderr %q; want %d naming %s and --nonempty", code, stderr, exitMountPoint, dir)
	}
	if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
		t.Errorf("want one line, got %d: %q", n+1, stderr)
	}
	if testenv.IsMounted(dir) {
		t.Fatal("mounted over a directory that is not empty")
	}
	if b, err := os.ReadFile(kept); err != nil || string(b) != "mine\n" {
		t.Fatalf("the file in the mount point: %q %v", b, err)
	}
	cmd, errb := startCLI(t, s, dir, "--nonempty")
	if _, err := os.Stat(filepath.Join(dir, "INBOX")); err != nil {
		t.Errorf("--nonempty: no INBOX in the mount: %v", err)
	}
	if code, msg := runCLI(t, "", "umount", dir); code != 0 {
		t.Fatalf("umount: %d %s", code, msg)
	}
	if code := waitExit(t, cmd, errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if b, err := os.ReadFile(kept); err != nil || string(b) != "mine\n" {
		t.Errorf("after the unmount: %q %v", b, err)
	}
}

// startCLI starts `mailfs mount` in the background and waits for the mount.
func startCLI(t *testing.T, s *server, dir string, extra ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	args := append([]string{"mount"}, extra...)
	args = append(args, "imap+insecure://"+s.user+"@"+s.addr, dir)
	return startMount(t, dir, []string{"MAILFS_PASSWORD=" + s.pass}, args...)
}

// startMount runs mailfs with args in the background (env added to ours)
// and waits until dir is mounted; Cleanup kills it if the test did not
// end it.
func startMount(t *testing.T, dir string, env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(mailfsBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
			exec.Command(mailfsBin, "umount", "--lazy", dir).Run()
		}
	})
	if !testenv.WaitMounted(dir, 15*time.Second) {
		t.Fatalf("not mounted; stderr: %s", errb.String())
	}
	return cmd, &errb
}

func waitExit(t *testing.T, cmd *exec.Cmd, stderr *bytes.Buffer) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("mailfs did not exit; stderr: %s", stderr.String())
	}
	return cmd.ProcessState.ExitCode()
}

// TestCLIMountAndUnmount drives the binary: mount, read with shell tools,
// then leave by `mailfs umount` and by SIGTERM; each exits 0, logs out,
// and leaves no mount behind.
func TestCLIMountAndUnmount(t *testing.T) {
	testenv.RequireFUSE(t)
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		for _, how := range []string{"umount", "SIGTERM", "SIGINT"} {
			t.Run(how, func(t *testing.T) {
				dir := t.TempDir()
				cmd, stderr := startCLI(t, s, dir)
				out, err := exec.Command("grep", "-rl", sample.PlantedWord, dir).Output()
				if err != nil || !strings.Contains(string(out), "Projects") {
					t.Fatalf("grep through the binary's mount: %q %v", out, err)
				}
				if out, err := exec.Command("ls", "-l", filepath.Join(dir, "INBOX")).Output(); err != nil || !strings.Contains(string(out), "-rw-------") {
					t.Fatalf("ls -l: %v\n%s", err, out)
				}
				switch how {
				case "umount":
					if code, msg := runCLI(t, "", "umount", dir); code != 0 {
						t.Fatalf("mailfs umount: exit %d: %s", code, msg)
					}
				case "SIGTERM":
					cmd.Process.Signal(syscall.SIGTERM)
				case "SIGINT":
					cmd.Process.Signal(syscall.SIGINT)
				}
				if code := waitExit(t, cmd, stderr); code != 0 {
					t.Fatalf("exit %d; stderr: %s", code, stderr.String())
				}
				if testenv.IsMounted(dir) {
					t.Fatal("still mounted")
				}
				if !strings.Contains(stderr.String(), "logging out") {
					t.Errorf("no logout in log: %s", stderr.String())
				}
			})
		}
	})
}

// TestCLIDebugIMAPRedacts: the protocol trace shows commands but never
// the password.
func TestCLIDebugIMAPRedacts(t *testing.T) {
	testenv.RequireFUSE(t)
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		dir := t.TempDir()
		cmd, stderr := startCLI(t, s, dir, "--debug-imap")
		if _, err := os.ReadFile(firstMessage(t, dir)); err != nil {
			t.Fatal(err)
		}
		exec.Command(mailfsBin, "umount", dir).Run()
		waitExit(t, cmd, stderr)
		trace := stderr.String()
		if !strings.Contains(trace, "UID FETCH") || !strings.Contains(trace, "BODY.PEEK[]") {
			t.Fatalf("trace lacks the FETCH commands:\n%.2000s", trace)
		}
		if strings.Contains(trace, s.pass) {
			t.Fatal("trace contains the password")
		}
		if !strings.Contains(trace, "redacted") {
			t.Error("trace does not mark the redacted login")
		}
	})
}

// TestCLIKill9ThenUmount: after kill -9 the mount point holds a dead mount;
// mailfs umount clears it and a new mount works there.
func TestCLIKill9ThenUmount(t *testing.T) {
	testenv.RequireFUSE(t)
	s := startMem(t)
	dir := killedMount(t, s)
	if code, msg := runCLI(t, "", "mount", "imap+insecure://"+s.user+"@"+s.addr, dir); code != exitMountPoint || !strings.Contains(msg, "umount") {
		t.Errorf("mount over a dead mount: exit %d: %s", code, msg)
	}
	if code, msg := runCLI(t, "", "umount", dir); code != 0 {
		t.Fatalf("mailfs umount of a dead mount: exit %d: %s", code, msg)
	}
	if testenv.IsMounted(dir) {
		t.Fatal("still mounted")
	}
	cmd2, stderr := startCLI(t, s, dir)
	if _, err := os.ReadDir(filepath.Join(dir, "INBOX")); err != nil {
		t.Fatalf("remount: %v", err)
	}
	cmd2.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd2, stderr); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestCLISigtermWhileBusy: SIGTERM with a file open detaches the mount at
// once; the process logs out and exits 0 when the file is closed.
func TestCLISigtermWhileBusy(t *testing.T) {
	testenv.RequireFUSE(t)
	s := startMem(t)
	s.seedSample(t)
	dir := t.TempDir()
	cmd, stderr := startCLI(t, s, dir)
	ents, err := os.ReadDir(filepath.Join(dir, "INBOX"))
	if err != nil || len(ents) == 0 {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "INBOX", ents[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, 10*time.Second, "SIGTERM with a busy mount detaches it", func() error {
		if testenv.IsMounted(dir) {
			return fmt.Errorf("still mounted")
		}
		return nil
	})
	// The open file still reads.
	buf := make([]byte, 100)
	if n, err := f.Read(buf); err != nil || n == 0 {
		t.Errorf("read from a file held across the detach: %v", err)
	}
	f.Close()
	if code := waitExit(t, cmd, stderr); code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, stderr.String())
	}
}

// tlsFront serves TLS with a self-signed certificate on loopback and
// forwards the plain stream to target.
func tlsFront(t *testing.T, target string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer s.Close()
				go io.Copy(s, c)
				io.Copy(c, s)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestCLITLSFailures: a certificate that does not verify, TLS spoken to a
// plain server, and a server without STARTTLS each end in one line and
// exit 4, before anything is mounted or any password is sent.
func TestCLITLSFailures(t *testing.T) {
	testenv.RequireFUSE(t)
	s := startMem(t)
	front := tlsFront(t, s.addr)
	for name, tc := range map[string]struct{ url, want string }{
		"self-signed certificate": {"imaps://" + s.user + "@" + front, "certificate"},
		"TLS to a plain server":   {"imaps://" + s.user + "@" + s.addr, "cannot reach"},
		"no STARTTLS":             {"imap://" + s.user + "@" + s.addr, "STARTTLS"},
	} {
		code, stderr := runCLI(t, s.pass, "mount", "--timeout=3s", tc.url, t.TempDir())
		if code != exitUnreachable || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", name, code, stderr, exitUnreachable, tc.want)
		}
		if strings.Contains(stderr, s.pass) {
			t.Errorf("%s: stderr shows the password", name)
		}
	}
}

// TestCLIDemoHintWorks: the demo's "leave:" line is a command that works
// from where it ran (here the built binary is not on the PATH, so its own
// path), and running it unmounts with exit 0 for both. ls -a shows . and
// .. in every directory.
func TestCLIDemoHintWorks(t *testing.T) {
	testenv.RequireFUSE(t)
	dir := filepath.Join(t.TempDir(), "mail")
	cmd := exec.Command(mailfsBin, "demo", dir)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	hints := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "leave:"); ok {
				hint, _, _ := strings.Cut(strings.TrimSpace(rest), "   (")
				hints <- hint
			}
		}
		close(hints)
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
			exec.Command(mailfsBin, "umount", "--lazy", dir).Run()
		}
	})
	if !testenv.WaitMounted(dir, 15*time.Second) {
		t.Fatalf("demo not mounted; stderr: %s", errb.String())
	}
	var hint string
	select {
	case hint = <-hints:
	case <-time.After(30 * time.Second):
		t.Fatal("no leave: line in the banner")
	}
	if want := mailfsBin + " umount " + dir; hint != want {
		t.Errorf("hint %q, want %q", hint, want)
	}
	for _, d := range []string{dir, filepath.Join(dir, "INBOX"), filepath.Join(dir, "Work", "Projects")} {
		ls, err := exec.Command("ls", "-a", d).Output()
		if err != nil {
			t.Fatalf("ls -a %s: %v", d, err)
		}
		got := strings.Fields(string(ls))
		if len(got) < 2 || got[0] != "." || got[1] != ".." {
			t.Errorf("ls -a %s starts %q, want . and ..", d, got)
		}
	}
	args := strings.Fields(hint)
	if msg, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", hint, err, msg)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo exit after the hint's umount: %v; stderr: %s", err, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo still running after the hint's umount")
	}
}

// TestCLIStatus: mailfs status shows the state, where rm sends mail, the
// last error of any kind and what was not stored, before and after a
// failure.
func TestCLIStatus(t *testing.T) {
	testenv.RequireFUSE(t)
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		t.Setenv("XDG_STATE_HOME", t.TempDir()) // the junk file is saved there at unmount
		dir := t.TempDir()
		cmd, stderr := startCLI(t, s, dir)
		status := func() string {
			t.Helper()
			out, err := exec.Command(mailfsBin, "status", dir).Output()
			if err != nil {
				t.Fatalf("mailfs status: %v", err)
			}
			return string(out)
		}
		st := status()
		for _, want := range []string{"state:          connected", "rm:             moves to Trash", "last error:     none", "not stored:     none", "writes pending: none"} {
			if !strings.Contains(st, want) {
				t.Errorf("status lacks %q:\n%s", want, st)
			}
		}
		// A file that is not a message fails at close; status keeps it.
		err := os.WriteFile(filepath.Join(dir, "INBOX", "junk.eml"), []byte("not a message at all"), 0o600)
		if err == nil {
			t.Fatal("junk accepted")
		}
		if st := status(); !strings.Contains(st, "not an RFC 5322 message") {
			t.Errorf("status does not show the last error:\n%s", st)
		}
		exec.Command(mailfsBin, "umount", dir).Run()
		waitExit(t, cmd, stderr)
	})
}

// TestCLIDaemon: mount --daemon returns 0 once the mount is ready and
// leaves it running; mailfs umount ends it. A failure before the mount
// (a wrong password) is the usual line and exit code, from the
// background process, before --daemon returns.
func TestCLIDaemon(t *testing.T) {
	testenv.RequireFUSE(t)
	s := startMem(t)
	s.seedSample(t)
	dir := t.TempDir()
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Cleanup(func() { exec.Command(mailfsBin, "umount", "--lazy", dir).Run() })
	code, stderr := runCLI(t, s.pass, "mount", "--daemon", "imap+insecure://"+s.user+"@"+s.addr, dir)
	if code != 0 {
		t.Fatalf("mount --daemon: exit %d: %s", code, stderr)
	}
	if !testenv.IsMounted(dir) {
		t.Fatal("--daemon returned before the mount was ready")
	}
	if _, err := os.ReadFile(firstMessage(t, dir)); err != nil {
		t.Fatalf("reading through the daemon's mount: %v", err)
	}
	if code, msg := runCLI(t, "", "umount", dir); code != 0 {
		t.Fatalf("umount: %d %s", code, msg)
	}
	if testenv.IsMounted(dir) {
		t.Fatal("still mounted after umount")
	}
	// The background process logs to the state directory once up, and
	// ends there cleanly.
	logPath := filepath.Join(state, "mailfs", "log", strings.ReplaceAll(strings.TrimPrefix(dir, "/"), "/", "-")+".log")
	waitFor(t, 20*time.Second, "a clean end in the daemon's log", func() error {
		if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), "logging out") {
			return fmt.Errorf("%s: %q", logPath, b)
		}
		return nil
	})
	code, stderr = runCLI(t, "wrong-password", "mount", "--daemon", "imap+insecure://"+s.user+"@"+s.addr, t.TempDir())
	if code != exitAuth || !strings.Contains(stderr, "authentication failed") || strings.Count(stderr, "authentication failed") != 1 {
		t.Errorf("wrong password with --daemon: exit %d, %q", code, stderr)
	}
}
