package fs_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenWhileItsBodyReachesDisk holds a message open while its body is
// written to the disk cache, then opens it again. The second open must
// not be refused: the kernel does not let a file be opened for
// passthrough while it is open in cached mode, nor in any other mode
// while it is open for passthrough (EIO).
func TestOpenWhileItsBodyReachesDisk(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := mountWithDisk(t, s, s.addr, filepath.Join(t.TempDir(), "cache"))
		ents, err := os.ReadDir(filepath.Join(m.dir, "INBOX"))
		if err != nil || len(ents) == 0 {
			t.Fatalf("INBOX: %d entries, %v", len(ents), err)
		}
		path := filepath.Join(m.dir, "INBOX", ents[0].Name())
		if _, err := os.ReadFile(path); err != nil { // the body in memory
			t.Fatal(err)
		}
		held, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		first := make([]byte, 1<<20)
		n, _ := held.Read(first)
		first = first[:n]
		m.disk.Flush() // the body is on disk now
		again, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("a second open while the first is held: %v", err)
		}
		if !bytes.Equal(again, first) {
			t.Errorf("the second open read %d bytes, the first %d", len(again), len(first))
		}
		t.Logf("%s: %s", ents[0].Name(), m.fs.PassthroughStatus())
		held.Close()

		// The other way: held open for passthrough, opened to write.
		// The kernel would refuse that open as EIO; mailfs says the
		// file is busy, and the open works once the reader closes.
		// (The reader's open may still find the first one counted, its
		// RELEASE on its way: then it is read through mailfs and the
		// open to write is allowed. Try until it is passthrough.)
		passthrough := strings.HasPrefix(m.fs.PassthroughStatus(), "on")
		eventually(t, 30*time.Second, "ETXTBSY for an open to write while open for passthrough", func() error {
			reader, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()
			w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err == nil {
				w.Close()
			}
			switch {
			case !passthrough && err != nil:
				t.Fatalf("opened to write while open to read, no passthrough: %v", err)
			case passthrough && err == nil:
				return errors.New("the open to write worked: the reader was not passthrough")
			case passthrough && !errors.Is(err, syscall.ETXTBSY):
				t.Fatalf("opened to write while open for passthrough: %v, want ETXTBSY", err)
			}
			return nil
		})
		eventually(t, 10*time.Second, "an open to write once the reader closed", func() error {
			w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err == nil {
				w.Close()
			}
			return err
		})
		after, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(after, first) {
			t.Errorf("after opens to write that wrote nothing: %d bytes (%v), %d before", len(after), err, len(first))
		}
	})
}
