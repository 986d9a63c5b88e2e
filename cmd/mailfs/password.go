package main

import (
	"bytes"
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
