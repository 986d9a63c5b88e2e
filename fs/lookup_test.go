package fs_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"

	"mailfs/fs"
	"mailfs/imapback"
)

// TestLookupByNameWithoutListing: opening a file by its name on a fresh
// mount costs one UID FETCH of that message, not a listing of its mailbox.
func TestLookupByNameWithoutListing(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		p := s.peek(t)
		msg := p.messages("INBOX")[4]
		m := s.mount(t, imapback.Config{}, nil)
		name := fileNameOf(t, msg)
		path := filepath.Join(m.dir, "INBOX", name)
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(b, msg.Body) {
			t.Fatalf("read by name: %v", err)
		}
		if st := m.client.Stats(); st.ListFetches != 0 {
			t.Errorf("a lookup by name listed the mailbox: %+v", st)
		}
		// A wrong subject with the right UID is not the file.
		wrong := strings.Replace(name, "_", "_X", 1)
		if _, err := os.Stat(filepath.Join(m.dir, "INBOX", wrong)); !os.IsNotExist(err) {
			t.Errorf("%s: %v, want ENOENT", wrong, err)
		}
		// rm works on it, and it is gone afterwards.
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("after rm: %v", err)
		}
	})
}

// fileNameOf is the name the mount gives msg, from the Subject header.
func fileNameOf(t *testing.T, msg peekMsg) string {
	t.Helper()
	hdr, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(msg.Body)))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := (&mime.WordDecoder{CharsetReader: charset.Reader}).DecodeHeader(hdr.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return fs.MessageName(fs.NamesReadable, msg.Date, subject, msg.UID)
}

// bigMessage is a ~3 MB message with a base64 attachment.
func bigMessage(id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: big@example.org\r\nSubject: Big one\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n", id)
	line := 0
	for b.Len() < 3<<20 {
		fmt.Fprintf(&b, "%076d\r\n", line)
		line++
	}
	b.WriteString("--b--\r\n")
	return b.String()
}

// TestRangedRead: reading the start of a large message moves a chunk, not
// the message; reading all of it gives every byte, even when the server
// reports a wrong size.
func TestRangedRead(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		big := bigMessage("big-1@x")
		p := s.peek(t)
		appendRaw(t, p, "INBOX", big)
		for _, lie := range []bool{false, true} {
			t.Run(fmt.Sprintf("lying=%v", lie), func(t *testing.T) {
				m := s.mount(t, imapback.Config{}, func(o *options) {
					if lie {
						o.Backend = lyingBackend{o.Backend}
					}
				})
				// Finding the file reads it; measure on a second mount.
				path := fileWith(t, filepath.Join(m.dir, "INBOX"), "<big-1@x>")
				m2 := s.mount(t, imapback.Config{}, func(o *options) {
					if lie {
						o.Backend = lyingBackend{o.Backend}
					}
				})
				name := filepath.Base(path)
				p2 := filepath.Join(m2.dir, "INBOX", name)
				out, err := exec.Command("head", "-c", "4096", p2).Output()
				if err != nil || string(out) != big[:4096] {
					t.Fatalf("head -c 4096: %v (%d bytes)", err, len(out))
				}
				st := m2.client.Stats()
				if st.BytesFetched > 1<<20 || st.RangeFetches == 0 {
					t.Errorf("head -c 4096 of %d bytes fetched %d bytes (%d range fetches)", len(big), st.BytesFetched, st.RangeFetches)
				}
				all, err := os.ReadFile(p2)
				if err != nil || string(all) != big {
					t.Fatalf("full read: %v, %d bytes of %d", err, len(all), len(big))
				}
				if fi, err := os.Stat(p2); err != nil || fi.Size() != int64(len(big)) {
					t.Errorf("size after reading: %v %v", fi.Size(), err)
				}
			})
		}
	})
}

// TestUIDNames: --names=uid gives UID.eml, and lookups by that name work.
func TestUIDNames(t *testing.T) {
	s := startMem(t)
	s.seedSample(t)
	p := s.peek(t)
	inbox := p.messages("INBOX")
	m := s.mount(t, imapback.Config{}, func(o *options) { o.Names = fs.NamesUID })
	got := names(t, filepath.Join(m.dir, "INBOX"))
	if len(got) != len(inbox) {
		t.Fatalf("%d files, want %d", len(got), len(inbox))
	}
	for _, msg := range inbox {
		name := fmt.Sprintf("%d.eml", msg.UID)
		if !got[name] {
			t.Errorf("no %s in %v", name, got)
			continue
		}
		b, err := os.ReadFile(filepath.Join(m.dir, "INBOX", name))
		if err != nil || !bytes.Equal(b, msg.Body) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestLargeMessageExpungedMidRead: a large message another client
// expunges while it is being read in ranges ends the read with an error,
// never a silent end of file short of its size (found by a breaking
// session: cp exited 0 with the first 256 KiB).
func TestLargeMessageExpungedMidRead(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		big := bigMessage("big-gone@x")
		p := s.peek(t)
		appendRaw(t, p, "INBOX", big)
		m := s.mount(t, imapback.Config{}, nil)
		name := ""
		ents, err := os.ReadDir(filepath.Join(m.dir, "INBOX"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && fi.Size() == int64(len(big)) {
				name = e.Name()
			}
		}
		if name == "" {
			t.Fatal("no file of the big message's size")
		}
		f, err := os.Open(filepath.Join(m.dir, "INBOX", name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		first := make([]byte, 4096)
		if _, err := io.ReadFull(f, first); err != nil {
			t.Fatal(err)
		}
		if _, err := p.c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		found, err := p.c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "<big-gone@x>"}}}, nil).Wait()
		if err != nil || len(found.AllUIDs()) != 1 {
			t.Fatalf("search: %v %v", found, err)
		}
		uids := imap.UIDSetNum(found.AllUIDs()...)
		if err := p.c.Store(uids, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if err := p.c.UIDExpunge(uids).Close(); err != nil {
			t.Fatal(err)
		}
		if err := p.c.Unselect().Wait(); err != nil {
			t.Fatal(err)
		}
		rest, err := io.ReadAll(f)
		if err == nil && 4096+len(rest) != len(big) {
			t.Fatalf("read on after the expunge: %d bytes of %d and no error", 4096+len(rest), len(big))
		}
		if err == nil && string(first)+string(rest) != big {
			t.Fatal("read on after the expunge: wrong bytes")
		}
	})
}

// TestDateNames: with --names date a name carries the date of the Date
// header (mail imported in one day sorts by when it was written), or the
// INTERNALDATE when there is none; a lookup by name on a fresh mount
// finds the name the listing gives, and ls sorts by it (issue 22).
func TestDateNames(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		p := s.peek(t)
		for _, m := range []struct{ id, date string }{
			{"newer@x", "Tue, 5 Mar 2019 08:30:00 +0100"},
			{"older@x", "Tue, 3 Mar 2015 10:00:00 -0500 (EST)"},
			{"undated@x", ""},
		} {
			raw := newRaw(m.id, "Imported "+m.id)
			if m.date != "" {
				raw = "Date: " + m.date + "\r\n" + raw
			}
			appendRaw(t, p, "INBOX", raw)
		}
		uid := map[string]uint32{}
		var undated string
		for _, msg := range p.messages("INBOX") {
			uid[messageIDOf(msg.Body)] = msg.UID
			if messageIDOf(msg.Body) == "<undated@x>" {
				undated = fileNameOf(t, msg) // its INTERNALDATE
			}
		}
		want := []string{
			fmt.Sprintf("2015-03-03_1500_Imported_older@x_%d.eml", uid["<older@x>"]),
			fmt.Sprintf("2019-03-05_0730_Imported_newer@x_%d.eml", uid["<newer@x>"]),
			undated,
		}
		m := s.mount(t, imapback.Config{Dates: true}, func(o *options) { o.Names, o.Dates = fs.NamesDate, true })
		for _, name := range want {
			if _, err := os.Stat(filepath.Join(m.dir, "INBOX", name)); err != nil {
				t.Errorf("lookup by name before any listing: %v", err)
			}
		}
		if st := m.client.Stats(); st.ListFetches != 0 {
			t.Errorf("the lookups listed the mailbox: %+v", st)
		}
		ents, err := os.ReadDir(filepath.Join(m.dir, "INBOX"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range ents {
			got = append(got, e.Name())
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("ls INBOX:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
