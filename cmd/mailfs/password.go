package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/term"
)

// password finds the account password: MAILFS_PASSWORD, then
// --password-command, then a prompt on the terminal. It is never taken from
// argv and never logged. MAILFS_PASSWORD is removed from the environment so
// that no child process inherits it.
func password(command, who string) (string, error) {
	if pw, ok := os.LookupEnv("MAILFS_PASSWORD"); ok {
		os.Unsetenv("MAILFS_PASSWORD")
		return pw, nil
	}
	return passwordFrom(command, who)
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
		return strings.TrimSuffix(pw, "\r"), nil
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
