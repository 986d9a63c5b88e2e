package fs_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/cache"
	"mailfs/fs"
	"mailfs/imapback"
	"mailfs/internal/sample"
	"mailfs/internal/testenv"
	"mailfs/mail"
)

// sampleByMailbox groups the sample messages by mailbox.
func sampleByMailbox() map[string][]sample.Message {
	out := map[string][]sample.Message{}
	for _, m := range sample.Messages() {
		out[m.Mailbox] = append(out[m.Mailbox], m)
	}
	return out
}

// mailboxDir is where a mailbox appears under the mount.
func mailboxDir(root, mailbox string) string {
	parts := strings.Split(mailbox, "/")
	for i, p := range parts {
		parts[i] = fs.EscapeMailboxPart(p)
	}
	return filepath.Join(append([]string{root}, parts...)...)
}

func TestTree(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		for _, mb := range sample.Mailboxes() {
			st, err := os.Stat(mailboxDir(m.dir, mb))
			if err != nil {
				t.Errorf("mailbox %q: %v", mb, err)
				continue
			}
			if !st.IsDir() || st.Mode().Perm() != 0o700 {
				t.Errorf("mailbox %q: mode %v, want drwx------", mb, st.Mode())
			}
			if owner := st.Sys().(*syscall.Stat_t).Uid; owner != uint32(os.Getuid()) {
				t.Errorf("mailbox %q owned by %d", mb, owner)
			}
		}
		// Archive was never created: it is a parent holding only children.
		ents, err := os.ReadDir(filepath.Join(m.dir, "Archive"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		if strings.Join(names, ",") != "2024,2025" {
			t.Errorf("Archive holds %v, want [2024 2025]", names)
		}
		if _, err := os.Stat(filepath.Join(m.dir, "Reçus")); err != nil {
			t.Errorf("non-ASCII mailbox: %v", err)
		}
		if _, err := os.Stat(filepath.Join(m.dir, "NoSuchBox")); !os.IsNotExist(err) {
			t.Errorf("missing mailbox: got %v, want ENOENT", err)
		}
	})
}

// TestMessagesByteForByte checks every file of every mailbox: count, name,
// size, mtime, mode and content against what was loaded.
func TestMessagesByteForByte(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		for mb, want := range sampleByMailbox() {
			dir := mailboxDir(m.dir, mb)
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatalf("%s: %v", mb, err)
			}
			var files []os.DirEntry
			for _, e := range ents {
				if !e.IsDir() {
					files = append(files, e)
				}
			}
			if len(files) != len(want) {
				t.Errorf("%s: %d files, want %d", mb, len(files), len(want))
			}
			byBytes := map[string]sample.Message{}
			for _, w := range want {
				byBytes[string(w.Raw)] = w
			}
			var prev string
			for _, e := range files {
				name := e.Name()
				if !strings.HasSuffix(name, ".eml") || len(name) > 255 || strings.ContainsAny(name, "\x00/") {
					t.Errorf("%s: bad name %q", mb, name)
				}
				if name < prev {
					t.Errorf("%s: listing not sorted: %q after %q", mb, name, prev)
				}
				prev = name
				path := filepath.Join(dir, name)
				got, err := os.ReadFile(path)
				if err != nil {
					t.Errorf("read %s: %v", name, err)
					continue
				}
				w, ok := byBytes[string(got)]
				if !ok {
					t.Errorf("%s/%s: content matches no loaded message (%d bytes)", mb, name, len(got))
					continue
				}
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if st.Size() != int64(len(w.Raw)) {
					t.Errorf("%s: size %d, want %d", name, st.Size(), len(w.Raw))
				}
				if !st.ModTime().Equal(w.Date.Truncate(time.Second)) {
					t.Errorf("%s: mtime %v, want %v", name, st.ModTime(), w.Date)
				}
				if st.Mode() != 0o600 {
					t.Errorf("%s: mode %v, want -rw-------", name, st.Mode())
				}
				wantPrefix := w.Date.UTC().Format("2006-01-02_1504_")
				if !strings.HasPrefix(name, wantPrefix) {
					t.Errorf("%s: name does not start with the arrival date %s", name, wantPrefix)
				}
			}
		}
	})
}

func TestGrepFindsPlantedWord(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		out, err := exec.Command("grep", "-rl", sample.PlantedWord, m.dir).Output()
		if err != nil {
			t.Fatalf("grep -rl: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], filepath.Join(m.dir, "Work", "Projects")+"/") {
			t.Fatalf("grep found %q, want one file in Work/Projects", lines)
		}
		// find and cat see the same tree.
		out, err = exec.Command("find", m.dir, "-name", "*.eml").Output()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(strings.Split(strings.TrimSpace(string(out)), "\n")); n != len(sample.Messages()) {
			t.Errorf("find lists %d messages, want %d", n, len(sample.Messages()))
		}
	})
}

// serverFlags reads every message's flags with a separate client.
func serverFlags(t testing.TB, s *server) map[string]string {
	t.Helper()
	c, err := imapclient.DialInsecure(s.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(s.user, s.pass).Wait(); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, mb := range sample.Mailboxes() {
		if _, err := c.Select(mb, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatalf("select %s: %v", mb, err)
		}
		msgs, err := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range msgs {
			var fl []string
			for _, f := range msg.Flags {
				fl = append(fl, string(f))
			}
			sort.Strings(fl)
			out[fmt.Sprintf("%s/%d", mb, msg.UID)] = strings.Join(fl, " ")
		}
	}
	return out
}

func TestReadingNeverSetsSeen(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		before := serverFlags(t, s)
		unseen := 0
		for _, f := range before {
			if !strings.Contains(f, `\Seen`) {
				unseen++
			}
		}
		if unseen == 0 {
			t.Fatal("sample has no unseen message; the test would prove nothing")
		}
		m := s.mount(t, imapback.Config{}, nil)
		if err := exec.Command("grep", "-rq", "this-string-is-nowhere-8d1f", m.dir).Run(); err == nil {
			t.Fatal("grep matched a string that is nowhere")
		}
		total := 0
		for _, msg := range sample.Messages() {
			total += len(msg.Raw)
		}
		if st := m.client.Stats(); st.BytesFetched < int64(total) {
			t.Fatalf("only %d of %d bytes fetched; grep did not read everything", st.BytesFetched, total)
		}
		after := serverFlags(t, s)
		for k, f := range before {
			if after[k] != f {
				t.Errorf("%s: flags %q became %q", k, f, after[k])
			}
		}
	})
}

func TestFlagsXattr(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		flags := serverFlags(t, s)
		m := s.mount(t, imapback.Config{}, nil)
		dir := mailboxDir(m.dir, "INBOX")
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, e := range ents {
			uid, ok := fs.ParseMessageUID(e.Name())
			if !ok {
				continue
			}
			buf := make([]byte, 256)
			n, err := syscall.Getxattr(filepath.Join(dir, e.Name()), "user.mail.flags", buf)
			if err != nil {
				t.Fatalf("getxattr %s: %v", e.Name(), err)
			}
			got := strings.Fields(string(buf[:n]))
			sort.Strings(got)
			// \Recent is the server's alone: not shown, so that what
			// getfattr prints, setfattr (and cp -a) can write back.
			want := strings.TrimSpace(strings.ReplaceAll(flags[fmt.Sprintf("INBOX/%d", uid)], `\Recent`, ""))
			want = strings.Join(strings.Fields(want), " ")
			if strings.Join(got, " ") != want {
				t.Errorf("%s: flags xattr %q, server has %q", e.Name(), got, want)
			}
			if err := syscall.Setxattr(filepath.Join(dir, e.Name()), "user.mail.flags", buf[:n], 0); err != nil {
				t.Errorf("%s: writing back what getxattr showed: %v", e.Name(), err)
			}
			checked++
		}
		if checked == 0 {
			t.Fatal("no messages in INBOX")
		}
	})
}

// TestSingleFlight: many readers of one uncached message cause one FETCH.
func TestSingleFlight(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		path := largestMessage(t, m.dir)
		st, _ := os.Stat(path)
		before := m.client.Stats().BodyFetches
		var wg sync.WaitGroup
		start := make(chan struct{})
		const readers = 16
		for i := range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start // every reader opens at once: the opens load the body
				f, err := os.Open(path)
				if err != nil {
					t.Error(err)
					return
				}
				defer f.Close()
				buf := make([]byte, 4096)
				// Spread over the file so the kernel sends separate READs.
				if _, err := f.ReadAt(buf, int64(i)*st.Size()/readers); err != nil {
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := m.client.Stats().BodyFetches - before; n != 1 {
			t.Fatalf("%d concurrent readers caused %d body FETCHes, want 1", readers, n)
		}
	})
}

func largestMessage(t testing.TB, root string) string {
	t.Helper()
	var best string
	var size int64
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && info.Size() > size {
			best, size = p, info.Size()
		}
		return nil
	})
	if size < 100<<10 {
		t.Fatalf("largest message is %d bytes; sample needs a large one", size)
	}
	return best
}

// TestCacheBound: with a small --cache-size, total cached bytes never
// exceed it, and every read is still correct.
func TestCacheBound(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		const limit = 64 << 10
		m := s.mount(t, imapback.Config{}, func(o *options) { o.Bodies = cache.New(limit) })
		want := map[string]bool{}
		for _, msg := range sample.Messages() {
			want[string(msg.Raw)] = true
		}
		read := 0
		filepath.Walk(m.dir, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Errorf("%s: %v", p, err)
			}
			if !want[string(b)] {
				t.Errorf("%s: wrong content", p)
			}
			if st := m.bodies.Stats(); st.Bytes > limit {
				t.Fatalf("cache holds %d bytes > limit %d", st.Bytes, limit)
			}
			read++
			return nil
		})
		st := m.bodies.Stats()
		if read != len(sample.Messages()) || st.Entries == 0 || st.Bytes == 0 {
			t.Fatalf("read %d files; cache %+v", read, st)
		}
	})
}

// lyingBackend reports wrong RFC822.SIZEs: smaller for even UIDs, larger
// for odd ones, as some servers do.
type lyingBackend struct{ mail.Backend }

func (b lyingBackend) Messages(ctx context.Context, mailbox string) (*mail.Listing, error) {
	l, err := b.Backend.Messages(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	for i := range l.Messages {
		if l.Messages[i].UID%2 == 0 {
			l.Messages[i].Size -= 37
		} else {
			l.Messages[i].Size += 4099
		}
	}
	return l, nil
}

func TestWrongSizeCorrected(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, func(o *options) { o.Backend = lyingBackend{o.Backend} })
		want := map[string]bool{}
		for _, msg := range sample.Messages() {
			want[string(msg.Raw)] = true
		}
		dir := mailboxDir(m.dir, "INBOX")
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range ents {
			p := filepath.Join(dir, e.Name())
			var got []byte
			if i%2 == 0 {
				got, err = exec.Command("cat", p).Output()
			} else {
				got, err = os.ReadFile(p)
			}
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			if !want[string(got)] {
				t.Errorf("%s: %d bytes read, content matches no message (cut short or padded?)", e.Name(), len(got))
			}
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() != int64(len(got)) {
				t.Errorf("%s: st_size %d after reading %d bytes", e.Name(), st.Size(), len(got))
			}
		}
	})
}

// TestLeaksAcrossMounts mounts and unmounts repeatedly and checks that no
// goroutine or file descriptor is left behind.
func TestLeaksAcrossMounts(t *testing.T) {
	s := startMem(t)
	s.seedSample(t)
	// Warm up anything lazily started once per process.
	t.Run("warmup", func(t *testing.T) {
		m := s.mount(t, imapback.Config{}, nil)
		os.ReadDir(m.dir)
	})
	leaks := testenv.StartLeakCheck()
	for i := range 3 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			m := s.mount(t, imapback.Config{}, nil)
			if _, err := exec.Command("grep", "-rq", sample.PlantedWord, m.dir).Output(); err != nil {
				t.Fatalf("grep: %v", err)
			}
		})
	}
	leaks.Check(t, 2)
}

// TestBlackHoleTimesOut: a server that stops answering gives EIO within
// the timeout instead of a hang, and the mount recovers once it answers.
func TestBlackHoleTimesOut(t *testing.T) {
	s := startMem(t)
	s.seedSample(t)
	p := testenv.StartProxy(t, s.addr)
	via := *s
	via.addr = p.Addr
	const timeout = 1500 * time.Millisecond
	m := via.mount(t, imapback.Config{Timeout: timeout, Connections: 2}, func(o *options) { o.TTL = time.Hour })
	dir := mailboxDir(m.dir, "INBOX")
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) == 0 {
		t.Fatalf("listing: %v (%d entries)", err, len(ents))
	}
	p.Freeze()
	start := time.Now()
	_, err = os.ReadFile(filepath.Join(dir, ents[0].Name()))
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "input/output error") {
		t.Fatalf("read through a black hole: %v, want EIO", err)
	}
	if took > timeout+2*time.Second {
		t.Fatalf("EIO after %v, want about %v", took, timeout)
	}
	// Listings stay readable from the cache while the server is silent.
	if _, err := os.ReadDir(dir); err != nil {
		t.Fatalf("cached listing while offline: %v", err)
	}
	p.Thaw()
	var got []byte
	eventually(t, 15*time.Second, "read after the server answers again", func() error {
		got, err = os.ReadFile(filepath.Join(dir, ents[0].Name()))
		return err
	})
	if !bytes.Contains(got, []byte("Message-ID")) && !bytes.Contains(got, []byte("Message-Id")) {
		t.Errorf("unexpected content after recovery: %.80q", got)
	}
}
