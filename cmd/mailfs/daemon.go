package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"mailfs/internal/private"
)

// --daemon: mailfs mount starts itself again in the background (a new
// session, so the shell's hangup does not reach it) and returns once that
// process reports the mount ready, with its exit status when it fails
// first. Errors before the mount still go to this terminal.

// readyEnv names the descriptor the background process reports on.
const readyEnv = "MAILFS_READY_FD"

// daemonize runs the mount in the background and waits for it.
func daemonize(args []string) error {
	self, err := os.Executable()
	if err != nil {
		return fail(exitFailure, "--daemon: %v", err)
	}
	var rest []string
	for _, a := range args {
		if a != "--daemon" && a != "--daemon=true" {
			rest = append(rest, a)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fail(exitFailure, "--daemon: %v", err)
	}
	cmd := exec.Command(self, append([]string{"mount"}, rest...)...)
	cmd.Env = append(withoutPassword(os.Environ()), readyEnv+"=3")
	cmd.ExtraFiles = []*os.File{w}
	// The password goes to the background process on a pipe, never in
	// its environment (readable in /proc/PID/environ while it runs).
	if pw, ok := os.LookupEnv("MAILFS_PASSWORD"); ok {
		pr, pwW, err := os.Pipe()
		if err != nil {
			return fail(exitFailure, "--daemon: %v", err)
		}
		go func() {
			pwW.Write([]byte(pw))
			pwW.Close()
		}()
		defer pr.Close()
		cmd.ExtraFiles = append(cmd.ExtraFiles, pr)
		cmd.Env = append(cmd.Env, passwordFDEnv+"=4")
	}
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fail(exitFailure, "--daemon: %v", err)
	}
	w.Close()
	msg, _ := io.ReadAll(r) // "ready" once mounted; EOF when it ended first
	r.Close()
	if strings.TrimSpace(string(msg)) == "ready" {
		cmd.Process.Release()
		return nil
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		// The background process printed its own line already.
		return &exitError{code: ee.ExitCode(), err: errAlreadyReported}
	}
	return fail(exitFailure, "--daemon: the background mount ended before it was ready")
}

// errAlreadyReported marks a failure whose line was printed already.
var errAlreadyReported = errors.New("")

// readySignal reports the mount ready to a waiting --daemon parent. It
// opens the mount's own log now (daemonLogPath), and sets logDest; the
// returned function sends the process's output there.
func readySignal(dir string) func() {
	if os.Getenv(readyEnv) != "3" {
		return nil
	}
	os.Unsetenv(readyEnv)
	f := os.NewFile(3, "ready")
	lf, err := openDaemonLog(dir)
	if err == nil {
		logDest = lf.Name()
	} else {
		logDest = "none: " + err.Error()
		lf, _ = os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	}
	return func() {
		// From now on the log goes to a file: the terminal (or pipe) of
		// the command that started the mount is no longer ours.
		if lf != nil {
			unix.Dup2(int(lf.Fd()), 1)
			unix.Dup2(int(lf.Fd()), 2)
			lf.Close()
		}
		f.WriteString("ready\n")
		f.Close()
	}
}

// logDest is where this process logs once mounted, for mailfs status:
// the --daemon mount's log file, or "" for standard error. It is set
// before the mount is served and never changes.
var logDest string

// daemonLogPath is where a --daemon mount at dir logs once it is up:
// $XDG_STATE_HOME/mailfs/log/NAME.log (else ~/.local/state/mailfs/log/),
// one file per mount point, NAME from its path (logName).
func daemonLogPath(dir string) string {
	return filepath.Join(stateDir(), "log", logName(dir))
}

// logName names the log of the mount at dir (an absolute, clean path):
// the path without its leading /, each / written -, and -, % and
// control bytes written %XX, so that every mount point has its own name
// and the name reads back as its path: /home/alice/Mail logs to
// home-alice-Mail.log, /srv/my-mail to srv-my%2Dmail.log, / to -.log. A
// name too long for a file is cut and ends in a hash of the whole path.
func logName(dir string) string {
	var b strings.Builder
	for _, c := range []byte(strings.TrimPrefix(dir, "/")) {
		switch {
		case c == '/':
			b.WriteByte('-')
		case c == '-' || c == '%' || c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	name := b.String()
	if name == "" {
		name = "-"
	}
	const most = 200 // bytes, of the 255 a file name may have
	if len(name) > most {
		cut := most
		for !utf8.RuneStart(name[cut]) {
			cut--
		}
		sum := sha256.Sum256([]byte(dir))
		name = name[:cut] + "~" + hex.EncodeToString(sum[:8])
	}
	return name + ".log"
}

// stateDir is $XDG_STATE_HOME/mailfs, else ~/.local/state/mailfs.
func stateDir() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "mailfs")
}

// unsavedDir is where the files of an account that could not be stored
// when its mount ended are written: $XDG_STATE_HOME/mailfs/unsaved/ACCOUNT.
func unsavedDir(account string) string {
	return filepath.Join(stateDir(), "unsaved", account)
}

// openDaemonLog opens (creates) the log of the mount at dir, private to
// the user (internal/private: O_NOFOLLOW, 0600, in directories only the
// user may write to).
func openDaemonLog(dir string) (*os.File, error) {
	path := daemonLogPath(dir)
	if err := private.Dir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	return private.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE)
}
