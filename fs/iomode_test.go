package fs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/imapback"
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

// TestReaderOfAnEditStaysOnIt: a descriptor opened to read while another
// program writes over a message sees the new bytes, and keeps seeing them
// once they are stored as a new version; it never goes back to the
// version written over (found by a breaking session).
func TestReaderOfAnEditStaysOnIt(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		ents, err := os.ReadDir(filepath.Join(m.dir, "INBOX"))
		if err != nil || len(ents) == 0 {
			t.Fatalf("INBOX: %d entries, %v", len(ents), err)
		}
		path := filepath.Join(m.dir, "INBOX", ents[0].Name())
		old, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("WRITER-APPENDED\r\n")); err != nil {
			t.Fatal(err)
		}
		r, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		whole := func() ([]byte, int64) {
			b := make([]byte, len(old)+1024)
			n, _ := r.ReadAt(b, 0)
			st, err := r.Stat()
			if err != nil {
				t.Fatal(err)
			}
			return b[:n], st.Size()
		}
		want := append(append([]byte(nil), old...), "WRITER-APPENDED\r\n"...)
		if b, size := whole(); !bytes.Equal(b, want) || size != int64(len(want)) {
			t.Fatalf("while written: %d bytes, size %d; want %d", len(b), size, len(want))
		}
		w.Close()
		p := s.peek(t)
		id := messageIDOf(old)
		eventually(t, 20*time.Second, "the edit stored", func() error {
			msg, ok := p.find("INBOX", id)
			if !ok || !bytes.Equal(msg.Body, want) {
				return errors.New("not stored yet")
			}
			return nil
		})
		// Let the model let the file go (its stored bytes are a message).
		m.files.Settle(context.Background())
		if b, size := whole(); !bytes.Equal(b, want) || size != int64(len(want)) {
			t.Errorf("once stored: %d bytes, size %d; want the new %d (the old had %d)", len(b), size, len(want), len(old))
		}
	})
}

// TestReadOpensWhileHeldForPassthrough (found by a breaking session): a
// message held open (for passthrough, where the kernel allows it) and
// moved by mv could not be opened for reading under its new name: its
// new identity has no disk file, so the open waited for the held one to
// close and failed with ETXTBSY. It now reads the file the held open
// reads. And a message held so whose new version was stored (truncate(2)
// by path) opens as the new version once it is stored.
func TestReadOpensWhileHeldForPassthrough(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := mountWithDisk(t, s, s.addr, filepath.Join(t.TempDir(), "cache"))
		p := s.peek(t)
		inbox := filepath.Join(m.dir, "INBOX")
		ents, err := os.ReadDir(inbox)
		if err != nil || len(ents) < 2 {
			t.Fatalf("INBOX: %d entries, %v", len(ents), err)
		}
		hold := func(path string) ([]byte, *os.File) {
			t.Helper()
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m.disk.Flush() // the body is on disk: the next open may be passthrough
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			return body, f
		}

		moved := filepath.Join(m.dir, "Work", ents[0].Name())
		body, held := hold(filepath.Join(inbox, ents[0].Name()))
		defer held.Close()
		if err := os.Rename(filepath.Join(inbox, ents[0].Name()), moved); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(moved)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("read of the moved message while held: %d bytes, %v (want %d)", len(got), err, len(body))
		}
		t.Logf("moved: %s", m.fs.PassthroughStatus())

		path := filepath.Join(inbox, ents[1].Name())
		body, held2 := hold(path)
		defer held2.Close()
		cut := bytes.LastIndex(body[:len(body)-2], []byte("\n")) + 1 // a whole line off its end
		if err := os.Truncate(path, int64(cut)); err != nil {
			t.Fatal(err)
		}
		// Until it is stored, the new version can only be read in a
		// mode the kernel refuses while the old one is held for
		// passthrough (ETXTBSY, documented).
		eventually(t, 30*time.Second, "the new version stored", func() error {
			for _, msg := range p.messages("INBOX") {
				if bytes.Equal(msg.Body, body[:cut]) {
					return nil
				}
			}
			return fmt.Errorf("not stored yet")
		})
		got, err = os.ReadFile(path)
		if err != nil || !bytes.Equal(got, body[:cut]) {
			t.Fatalf("read of the new version while the old one is held: %d bytes, %v (want %d)", len(got), err, cut)
		}
	})
}
