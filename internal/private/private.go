// Package private makes and opens the directories and files mailfs keeps
// for one user (the disk cache, the daemon's log and state, unsaved
// files) so that nobody else can read them, plant files in them or
// redirect them: a directory must be a real directory (not a symlink),
// owned by the user mailfs runs as, and writable by nobody else; files
// are opened without following symlinks and created 0600, directories
// 0700, whatever the umask.
package private

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// ErrUnsafe is the error of a directory that fails the checks.
var ErrUnsafe = errors.New("not a private directory")

// Dir makes path (and its missing parents) and checks it, and every
// directory it made, with Check; it leaves each of them mode 0700.
func Dir(path string) error {
	path = filepath.Clean(path)
	var made []string
	for p := path; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil || !errors.Is(err, os.ErrNotExist) || p == filepath.Dir(p) {
			break
		}
		made = append(made, p)
	}
	for i := len(made) - 1; i >= 0; i-- {
		if err := os.Mkdir(made[i], 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := Check(made[i]); err != nil {
			return err
		}
	}
	return Check(path)
}

// Check refuses path unless it is a directory (not a symlink to one),
// owned by the user mailfs runs as, and not writable by group or others;
// then it makes it mode 0700 (what it keeps is mail). It works on the
// opened directory, so a path swapped for a symlink meanwhile cannot
// redirect the chmod.
func Check(path string) error {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENOTDIR) {
			if st, lerr := os.Lstat(path); lerr == nil && st.Mode()&os.ModeSymlink != 0 {
				return fmt.Errorf("%s: %w: it is a symbolic link", path, ErrUnsafe)
			}
			return fmt.Errorf("%s: %w: it is not a directory", path, ErrUnsafe)
		}
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	switch {
	case int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s: %w: it belongs to uid %d, not to uid %d that mailfs runs as", path, ErrUnsafe, st.Uid, os.Geteuid())
	case st.Mode&0o022 != 0:
		return fmt.Errorf("%s: %w: others can write to it (mode %04o; chmod 700 it)", path, ErrUnsafe, st.Mode&0o7777)
	}
	if st.Mode&0o777 != 0o700 {
		if err := syscall.Fchmod(fd, 0o700); err != nil {
			return &os.PathError{Op: "chmod", Path: path, Err: err}
		}
	}
	return nil
}

// OpenFile is os.OpenFile that never follows a symlink at the last
// component and creates files 0600 (regardless of the umask).
func OpenFile(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if flag&os.O_CREATE != 0 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// ReadFile reads a file without following a symlink at its last component.
func ReadFile(path string) ([]byte, error) {
	f, err := OpenFile(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	buf := make([]byte, st.Size())
	n, err := io.ReadFull(f, buf)
	return buf[:n], err
}
