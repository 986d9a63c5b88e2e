package fs_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"mailfs/imapback"
)

// TestReaddirInParts: a mailbox directory of more entries than mailfs
// names at a time is read whole, each name once; read again from the
// start on the same descriptor (rewinddir) it lists the same; and read
// from an offset it gave (seekdir, as rm -r and find do) it goes on from
// the entry after it.
func TestReaddirInParts(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		p := s.peek(t)
		const n = 700
		for i := range n {
			appendRaw(t, p, "Work", newRaw(fmt.Sprintf("part-%d@x", i), fmt.Sprintf("Part %d", i)))
		}
		want := len(p.messages("Work"))
		m := s.mount(t, imapback.Config{}, nil)
		f, err := os.Open(filepath.Join(m.dir, "Work"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		first := fileNames(t, f)
		slices.Sort(first)
		if len(first) != want || len(slices.Compact(slices.Clone(first))) != want {
			t.Fatalf("read %d names (%d distinct), want the %d messages once each", len(first), len(slices.Compact(slices.Clone(first))), want)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatalf("rewinddir: %v", err)
		}
		again := fileNames(t, f)
		slices.Sort(again)
		if !slices.Equal(first, again) {
			t.Fatalf("read again from the start: %d names, want the same %d", len(again), len(first))
		}

		// seekdir: the offset of an entry, then the entry after it.
		fd := int(f.Fd())
		if _, err := unix.Seek(fd, 0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		ents := getdents(t, fd)
		k := len(ents) / 2
		if k < 10 {
			t.Fatalf("one getdents gave %d entries", len(ents))
		}
		if _, err := unix.Seek(fd, ents[k].off, io.SeekStart); err != nil {
			t.Fatalf("seekdir to %d: %v", ents[k].off, err)
		}
		if next := getdents(t, fd); len(next) == 0 || next[0].name != ents[k+1].name {
			t.Fatalf("after seekdir to the offset of %q: %v, want %q first", ents[k].name, names0(next), ents[k+1].name)
		}
	})
}

// fileNames reads the names of the files (not directories) of an open
// directory to its end.
func fileNames(t *testing.T, f *os.File) []string {
	t.Helper()
	ents, err := f.ReadDir(-1)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

type dirent struct {
	off  int64
	name string
}

// getdents reads one buffer of entries (linux_dirent64) from fd.
func getdents(t *testing.T, fd int) []dirent {
	t.Helper()
	buf := make([]byte, 8192)
	n, err := unix.Getdents(fd, buf)
	if err != nil {
		t.Fatalf("getdents: %v", err)
	}
	var out []dirent
	for b := buf[:n]; len(b) >= 19; {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		name := b[19:reclen]
		name = name[:bytes.IndexByte(name, 0)]
		out = append(out, dirent{off: int64(binary.NativeEndian.Uint64(b[8:16])), name: string(name)})
		b = b[reclen:]
	}
	return out
}

func names0(ents []dirent) []string {
	var out []string
	for _, e := range ents[:min(len(ents), 3)] {
		out = append(out, e.name)
	}
	return out
}
