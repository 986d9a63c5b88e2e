package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

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

// readySignal reports the mount ready to a waiting --daemon parent.
func readySignal() func() {
	if os.Getenv(readyEnv) != "3" {
		return nil
	}
	os.Unsetenv(readyEnv)
	f := os.NewFile(3, "ready")
	return func() {
		// From now on the log goes to a file: the terminal (or pipe) of
		// the command that started the mount is no longer ours.
		if lf, err := openDaemonLog(); err == nil {
			unix.Dup2(int(lf.Fd()), 1)
			unix.Dup2(int(lf.Fd()), 2)
			lf.Close()
		} else if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
			unix.Dup2(int(null.Fd()), 1)
			unix.Dup2(int(null.Fd()), 2)
			null.Close()
		}
		f.WriteString("ready\n")
		f.Close()
	}
}

// daemonLogPath is where a --daemon mount logs once it is up:
// $XDG_STATE_HOME/mailfs/mailfs.log, else ~/.local/state/mailfs/mailfs.log.
func daemonLogPath() string {
	return filepath.Join(stateDir(), "mailfs.log")
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

func openDaemonLog() (*os.File, error) {
	path := daemonLogPath()
	if err := private.Dir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	return private.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE)
}
