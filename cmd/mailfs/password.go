package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/term"
)

// password finds the account password: MAILFS_PASSWORD, then
// --password-command, then a prompt on the terminal. It is never taken from
// argv and never logged. MAILFS_PASSWORD is removed from the environment so
// that no child process inherits it.
func password(command, who string) (string, error) {
	if fd := os.Getenv(passwordFDEnv); fd != "" {
		os.Unsetenv(passwordFDEnv)
		if n, err := strconv.Atoi(fd); err == nil && n > 2 {
			f := os.NewFile(uintptr(n), "password")
			pw, err := io.ReadAll(f)
			f.Close()
			if err == nil {
				return string(pw), nil
			}
		}
	}
	if pw, ok := os.LookupEnv("MAILFS_PASSWORD"); ok {
		os.Unsetenv("MAILFS_PASSWORD")
		return pw, nil
	}
	return passwordFrom(command, who)
}

// passwordFDEnv names the descriptor a password is handed over on, instead
// of MAILFS_PASSWORD: the environment a process was started with stays
// readable in /proc/PID/environ for its whole life (os.Unsetenv changes
// only Go's copy), and the password must not.
const passwordFDEnv = "MAILFS_PASSWORD_FD"

// hidePassword starts mailfs again, as the same process, with
// MAILFS_PASSWORD moved from its environment to a pipe, so that the
// mount's environ never shows it. It returns only when that cannot be
// done (the password is then read from the environment as before).
func hidePassword(args []string) {
	pw, ok := os.LookupEnv("MAILFS_PASSWORD")
	if !ok || len(pw) > 60000 { // more than a pipe holds unread
		return
	}
	self, err := os.Executable()
	if err != nil {
		return
	}
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil { // not close-on-exec: the new image reads it
		return
	}
	if _, err := syscall.Write(p[1], []byte(pw)); err != nil {
		syscall.Close(p[0])
		syscall.Close(p[1])
		return
	}
	syscall.Close(p[1])
	env := withoutPassword(os.Environ())
	env = append(env, passwordFDEnv+"="+strconv.Itoa(p[0]))
	syscall.Exec(self, append([]string{os.Args[0]}, args...), env)
	syscall.Close(p[0]) // Exec failed
}

// withoutPassword is env without MAILFS_PASSWORD.
func withoutPassword(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "MAILFS_PASSWORD=") {
			out = append(out, kv)
		}
	}
	return out
}

// passwordFrom is password without MAILFS_PASSWORD: for the accounts of
// a config file, each its own password-command, else a prompt.
func passwordFrom(command, who string) (string, error) {
	if command != "" {
		cmd := exec.Command("/bin/sh", "-c", command)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Stdin = os.Stdin
		out, err := cmd.Output()
		if err != nil {
			msg := strings.TrimSpace(stderr.String())
			if msg != "" {
				msg = ": " + msg
			}
			return "", fail(exitUsage, "--password-command failed (%v)%s", err, msg)
		}
		// Like git credential helpers: the first line is the password.
		pw, _, _ := strings.Cut(string(out), "\n")
		pw = strings.TrimSuffix(pw, "\r")
		if pw == "" {
			return "", fail(exitUsage, "password-command %q printed no password (its first line is the password)", command)
		}
		return pw, nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil || !term.IsTerminal(int(tty.Fd())) {
		if tty != nil {
			tty.Close()
		}
		return "", fail(exitUsage, "no password: set MAILFS_PASSWORD or use --password-command (no terminal to prompt on)")
	}
	defer tty.Close()
	fmt.Fprintf(tty, "Password for %s: ", who)
	pw, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return "", fail(exitUsage, "reading password: %v", err)
	}
	return string(pw), nil
}

// tokenSource runs the account's token-command for every login (each new
// connection, so every reconnect gets a fresh token): its first line is
// the access token. The token is never logged; a failure names only the
// command's own error output.
func tokenSource(command string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			msg := strings.TrimSpace(stderr.String())
			if msg != "" {
				msg = ": " + msg
			}
			return "", fmt.Errorf("token-command failed (%v)%s", err, msg)
		}
		token, _, _ := strings.Cut(string(out), "\n")
		token = strings.TrimSpace(token)
		if token == "" {
			return "", fmt.Errorf("token-command printed no token")
		}
		return token, nil
	}
}
