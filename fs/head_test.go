package fs_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"mailfs/imapback"
)

// TestHeadsAlone: reading the first 4 KiB of every message of a mailbox
// in no particular order (neomutt reads a Maildir in inode order) fetches
// headers only, in a few batches, and never a body; each read ends at
// the header's blank line; reading on from there, or reading a file
// whole, gives the server's exact bytes.
func TestHeadsAlone(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		files, err := filepath.Glob(filepath.Join(m.dir, "INBOX", "*.eml"))
		if err != nil || len(files) < 10 {
			t.Fatalf("INBOX: %d files, %v", len(files), err)
		}
		rand.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
		var total int64
		heads := map[string][]byte{}
		for _, f := range files {
			fd, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4096)
			n, err := fd.Read(buf)
			fd.Close()
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			st, _ := os.Stat(f)
			total += st.Size()
			heads[f] = buf[:n]
			if !bytes.HasSuffix(buf[:n], []byte("\r\n\r\n")) && !bytes.HasSuffix(buf[:n], []byte("\n\n")) && n != 4096 {
				t.Errorf("%s: a first read of %d bytes does not end at the header's blank line: %q", filepath.Base(f), n, buf[max(0, n-20):n])
			}
		}
		st := m.client.Stats()
		if st.BodyFetches != 0 || st.RangeFetches != 0 {
			t.Errorf("reading heads fetched bodies: %+v", st)
		}
		if st.BatchFetches > int64(len(files)/8+2) {
			t.Errorf("%d heads took %d fetches", len(files), st.BatchFetches)
		}
		if st.BytesFetched >= total/2 {
			t.Errorf("heads of %d messages (%d bytes in all) moved %d bytes", len(files), total, st.BytesFetched)
		}
		// Reading on from the head, and reading whole: the server's bytes.
		server := map[string][]byte{}
		for _, msg := range s.peek(t).messages("INBOX") {
			server[string(msg.Body)] = msg.Body
		}
		for i, f := range files {
			fd, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			if i%2 == 0 {
				buf := make([]byte, 4096)
				n, _ := fd.Read(buf)
				rest, err := io.ReadAll(fd)
				if err != nil {
					t.Fatal(err)
				}
				got = append(buf[:n:n], rest...)
			} else {
				got, err = io.ReadAll(fd)
				if err != nil {
					t.Fatal(err)
				}
			}
			fd.Close()
			if _, ok := server[string(got)]; !ok {
				t.Fatalf("%s: %d bytes that no message of the server has", filepath.Base(f), len(got))
			}
			if !bytes.HasPrefix(got, heads[f]) {
				t.Fatalf("%s: the head read first is not the start of the message", filepath.Base(f))
			}
		}
	})
}
