package fs_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/imapback"
	"mailfs/internal/demoserver"
	"mailfs/internal/testenv"
)

// TestWriteSequencesAtLatency: the command lines of issue 19, each run by
// bash in the mount behind a link of 50 ms round trips (a store is still
// on its way when the next command comes), on both servers and on the
// in-memory server refusing an APPEND into an EXAMINEd mailbox as
// Courier-IMAP does. A second client checks that the server ends as the
// user left it.
func TestWriteSequencesAtLatency(t *testing.T) {
	run := func(t *testing.T, s *server, cfg imapback.Config) {
		s.seedSample(t)
		via, _ := viaProxy(t, s, testenv.ProxyOptions{Latency: 25 * time.Millisecond})
		m := via.mount(t, cfg, nil)
		p := s.peek(t)
		outside := t.TempDir()
		raw := func(id, subject, body string) string {
			return "From: a@example.com\r\nSubject: " + subject + "\r\nMessage-ID: <" + id + ">\r\n\r\n" + body + "\r\n"
		}
		for name, body := range map[string]string{
			"s.eml": raw("s@x", "s", "foo"),
			"a.eml": raw("a@x", "a", "a"),
			"b.eml": raw("b@x", "b", "b"),
		} {
			if err := os.WriteFile(filepath.Join(outside, name), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		// The commands change into the mount themselves: a child this
		// process forks with its directory in its own mount would wait,
		// half-forked, for an answer this process cannot give while the
		// runtime waits for that child.
		sh := func(script string) {
			t.Helper()
			cmd := exec.Command("bash", "-c", `cd "$MNT" && { `+script+`
}`)
			cmd.Env = append(os.Environ(), "OUT="+outside, "MNT="+m.dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", script, err, out)
			}
		}
		// Every mailbox used is listed first: on the Courier-like server
		// its EXAMINE on a pooled connection must not make APPENDs fail.
		sh("ls Work INBOX Drafts >/dev/null")
		drafts := len(p.messages("Drafts"))

		sh(`printf 'From: a@example.com\r\nSubject: x\r\nMessage-ID: <r@x>\r\n\r\nfoo\r\n' > Drafts/r.eml && rm Drafts/r.eml`)
		sh(`cp "$OUT/s.eml" Drafts/s.eml && sed -i s/foo/bar/ Drafts/s.eml`)
		sh(`printf 'From: a@example.com\r\nSubject: no-id-%s\r\n\r\nno message-id\r\n' "$$" > Drafts/n.eml && mv Drafts/n.eml Work/`)
		sh(`exec 7>Drafts/z.eml; cat "$OUT/a.eml" >&7; cp "$OUT/b.eml" Drafts/y.tmp && mv Drafts/y.tmp Drafts/z.eml; exec 7>&-`)
		huge := exec.Command("python3", "-c", `
import errno, sys
f = open(sys.argv[1], "wb")
f.write(b"From: a@example.com\r\nSubject: huge\r\nMessage-ID: <huge@x>\r\n\r\n")
f.flush()
f.seek(300 << 20)
try:
    f.write(b"x"); f.flush()
except OSError as e:
    sys.exit(0 if e.errno == errno.EFBIG else 3)
sys.exit(2)`, filepath.Join(m.dir, "Drafts", "huge.eml"))
		if out, err := huge.CombinedOutput(); err != nil && !strings.Contains(string(out), "Errno") {
			t.Fatalf("a write past 256 MiB did not fail with EFBIG: %v\n%s", err, out)
		}
		m.settled(t)

		if _, ok := p.find("Drafts", "<r@x>"); ok {
			t.Error("printf > r.eml && rm r.eml: the server holds the message")
		}
		if _, ok := p.find("Trash", "<r@x>"); ok {
			t.Error("printf > r.eml && rm r.eml: the message went to Trash")
		}
		onlyVersion(t, p, "Drafts", "<s@x>", raw("s@x", "s", "bar"), drafts+2)
		if n := filesWith(t, filepath.Join(m.dir, "Drafts"), "<s@x>"); n != 1 {
			t.Errorf("ls lists s.eml %d times", n)
		}
		if _, err := os.Stat(filepath.Join(m.dir, "Drafts", "s.eml")); err != nil {
			t.Errorf("Drafts/s.eml: %v", err)
		}
		work := 0
		for _, msg := range p.messages("Work") {
			if strings.Contains(string(msg.Body), "no message-id") {
				work++
			}
		}
		if work != 1 {
			t.Errorf("mv n.eml Work/: Work holds it %d times", work)
		}
		for _, msg := range p.messages("Drafts") {
			if strings.Contains(string(msg.Body), "no message-id") {
				t.Error("mv n.eml Work/: Drafts still holds it")
			}
		}
		if _, ok := p.find("Drafts", "<a@x>"); ok {
			t.Error("a file renamed over an open one: the open one's bytes were stored")
		}
		onlyVersion(t, p, "Drafts", "<b@x>", raw("b@x", "b", "b"), drafts+2)
		if _, ok := p.find("Drafts", "<huge@x>"); ok {
			t.Error("a write that failed with EFBIG: its first bytes were stored")
		}

		// : > msg.eml is refused and changes nothing; rm and mv of it
		// work afterwards.
		inbox := p.messages("INBOX")
		victim, moved := inbox[0], inbox[1]
		vpath := fileWith(t, filepath.Join(m.dir, "INBOX"), messageIDOf(victim.Body))
		mpath := fileWith(t, filepath.Join(m.dir, "INBOX"), messageIDOf(moved.Body))
		sh(fmt.Sprintf(": > %q; : > %q; true", vpath, mpath))
		m.settled(t)
		if v, ok := p.find("INBOX", messageIDOf(victim.Body)); !ok || string(v.Body) != string(victim.Body) {
			t.Fatal(": > msg.eml changed the message on the server")
		}
		sh(fmt.Sprintf("rm %q && mv %q Work/", vpath, mpath))
		m.settled(t)
		if _, ok := p.find("INBOX", messageIDOf(victim.Body)); ok {
			t.Error("rm of a refused file left the message")
		}
		if _, ok := p.find("Work", messageIDOf(moved.Body)); !ok {
			t.Error("mv of a refused file did not move the message")
		}
	}
	t.Run("mem", func(t *testing.T) { run(t, startMem(t), imapback.Config{}) })
	t.Run("dovecot", func(t *testing.T) { run(t, startDovecot(t), imapback.Config{}) })
	// One connection: every APPEND goes out where a listing EXAMINEd.
	t.Run("courier", func(t *testing.T) {
		run(t, startMemOpts(t, demoserver.Options{Courier: true}), imapback.Config{Connections: 1})
	})
}

// TestFoundByBreaking: what a session spent breaking the write path
// found, each now as it should be: a copy within a mailbox is a copy
// (removing it leaves the original), rmdir right after the last file
// went works, and an append past 256 MiB to a message is EFBIG.
func TestFoundByBreaking(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		x := p.messages("Work")[0]
		xpath := fileWith(t, filepath.Join(m.dir, "Work"), messageIDOf(x.Body))
		copyPath := filepath.Join(m.dir, "Work", "copy.eml")
		if out, err := exec.Command("cp", xpath, copyPath).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		m.settled(t)
		if _, err := os.Stat(xpath); err != nil {
			t.Fatalf("the original after cp beside it: %v", err)
		}
		if err := os.Remove(copyPath); err != nil {
			t.Fatal(err)
		}
		m.settled(t)
		if _, ok := p.find("Work", messageIDOf(x.Body)); !ok {
			t.Fatal("rm of a copy removed the original")
		}
		if _, err := os.Stat(xpath); err != nil {
			t.Fatalf("the original after rm of its copy: %v", err)
		}

		box := filepath.Join(m.dir, "Short")
		if err := os.Mkdir(box, 0o700); err != nil {
			t.Fatal(err)
		}
		z := filepath.Join(box, "z.eml")
		if err := os.WriteFile(z, []byte("From: a@example.com\r\nSubject: z\r\n\r\nz\r\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(z); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(box); err != nil {
			t.Fatalf("rmdir right after its last file went: %v", err)
		}

		f, err := os.OpenFile(xpath, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte("more\r\n"), int64(len(x.Body)))
		_, werr := f.WriteAt([]byte("x"), 300<<20)
		_, werr2 := f.WriteAt([]byte("y"), 10)
		f.Close()
		if !errors.Is(werr2, syscall.EFBIG) {
			t.Errorf("a write after one past 256 MiB: %v, want EFBIG again", werr2)
		}
		if !errors.Is(werr, syscall.EFBIG) {
			t.Errorf("a write past 256 MiB to a message: %v, want EFBIG", werr)
		}
	})
}
