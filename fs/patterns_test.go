package fs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"mailfs/imapback"
)

// Every pattern in which programs write a file reaches the mount as a
// different sequence of FLUSHes (one per close(2) of any descriptor) and
// one RELEASE. Whatever the pattern, the server ends with exactly the
// file's final bytes, stored once, and the original of an edited message
// is gone only after that.

// onlyVersion waits until mailbox holds exactly one message with
// Message-ID id and it has exactly want as its bytes, and no other
// message was added (total is the count the mailbox must have).
func onlyVersion(t *testing.T, p *peek, mailbox, id, want string, total int) {
	t.Helper()
	eventually(t, 20*time.Second, "final bytes of "+id, func() error {
		msgs := p.messages(mailbox)
		var found []peekMsg
		for _, m := range msgs {
			if messageIDOf(m.Body) == id {
				found = append(found, m)
			}
		}
		switch {
		case len(found) != 1:
			var uids []uint32
			for _, m := range found {
				uids = append(uids, m.UID)
			}
			return fmt.Errorf("want exactly one version on the server, have %d (UIDs %v)", len(found), uids)
		case string(found[0].Body) != want:
			return fmt.Errorf("server bytes %s, want %s", quote(found[0].Body), quote([]byte(want)))
		case len(msgs) != total:
			return fmt.Errorf("mailbox holds %d messages, want %d", len(msgs), total)
		}
		return nil
	})
}

func itoa(n int) string     { return strconv.Itoa(n) }
func quote(b []byte) string { return strconv.Quote(string(b)) }

func sh(t *testing.T, script string, args ...string) {
	t.Helper()
	out, err := exec.Command("sh", append([]string{"-c", script, "sh"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("sh -c %q: %v\n%s", script, err, out)
	}
}

func TestWritePatterns(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, expunging)
		p := s.peek(t)
		drafts := filepath.Join(m.dir, "Drafts")
		count := len(p.messages("Drafts"))
		hdr := func(id string) string {
			return "From: a@example.com\r\nSubject: report\r\nMessage-ID: <" + id + ">\r\n\r\n"
		}

		t.Run("redirect written by several processes", func(t *testing.T) {
			// Each external command inherits the descriptor and closes it
			// on exit: three FLUSHes before the shell's own close.
			appends := m.client.Stats().Appends
			sh(t, `(printf 'From: a@example.com\r\nSubject: report\r\nMessage-ID: <redir@x>\r\n\r\n'; /bin/echo line-one; /bin/echo line-two; /bin/echo line-three) > "$1"`, filepath.Join(drafts, "r.eml"))
			count++
			onlyVersion(t, p, "Drafts", "<redir@x>", hdr("redir@x")+"line-one\r\nline-two\r\nline-three\r\n", count)
			if n := m.client.Stats().Appends - appends; n != 1 {
				t.Errorf("%d APPENDs for one file; an intermediate version reached the server", n)
			}
		})

		t.Run("write fsync write close", func(t *testing.T) {
			f, err := os.Create(filepath.Join(drafts, "fsync.eml"))
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(hdr("fsync@x") + "first\r\n")
			if err := f.Sync(); err != nil {
				t.Fatalf("fsync: %v", err)
			}
			f.WriteString("second\r\n")
			if err := f.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			count++
			onlyVersion(t, p, "Drafts", "<fsync@x>", hdr("fsync@x")+"first\r\nsecond\r\n", count)
		})

		t.Run("tee", func(t *testing.T) {
			sh(t, `printf 'From: a@example.com\r\nSubject: report\r\nMessage-ID: <tee@x>\r\n\r\nteed\r\n' | tee "$1" >/dev/null`, filepath.Join(drafts, "tee.eml"))
			count++
			onlyVersion(t, p, "Drafts", "<tee@x>", hdr("tee@x")+"teed\r\n", count)
		})

		t.Run("child writes after the parent closed", func(t *testing.T) {
			f, err := os.Create(filepath.Join(drafts, "child.eml"))
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(hdr("child@x") + "parent\r\n")
			// The child holds the same open file as fd 3 and copies its
			// stdin there; it only writes once the parent has closed.
			child := exec.Command("sh", "-c", "cat >&3")
			child.ExtraFiles = []*os.File{f}
			in, err := child.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatalf("parent close: %v", err)
			}
			in.Write([]byte("child\r\n"))
			in.Close()
			if err := child.Wait(); err != nil {
				t.Fatalf("child: %v", err)
			}
			count++
			onlyVersion(t, p, "Drafts", "<child@x>", hdr("child@x")+"parent\r\nchild\r\n", count)
		})

		// Existing messages: the edit is stored as a new version, then
		// the original goes (expunged here), never before.
		existing := func(t *testing.T, id, body string) string {
			t.Helper()
			path := filepath.Join(drafts, id+".eml")
			if err := os.WriteFile(path, []byte(hdr(id)+body), 0o600); err != nil {
				t.Fatal(err)
			}
			count++
			onlyVersion(t, p, "Drafts", "<"+id+">", hdr(id)+body, count)
			return fileWith(t, drafts, "<"+id+">")
		}

		t.Run(">> onto an existing message", func(t *testing.T) {
			path := existing(t, "append", "old\r\n")
			sh(t, `printf 'more\r\n' >> "$1"; printf 'again\r\n' >> "$1"`, path)
			onlyVersion(t, p, "Drafts", "<append>", hdr("append")+"old\r\nmore\r\nagain\r\n", count)
		})

		t.Run("many >> while earlier versions are still being stored", func(t *testing.T) {
			// Each close hands a version over while the one before is
			// still on its way to the server: every version must replace
			// the one stored just before it, whichever name or node the
			// next >> reaches.
			path := filepath.Join(drafts, "burst.eml")
			want := hdr("burst")
			script := `printf 'From: a@example.com\r\nSubject: report\r\nMessage-ID: <burst>\r\n\r\n' > "$1"; i=0; while [ $i -lt 30 ]; do printf 'line %d\r\n' $i >> "$1" || exit 1; i=$((i+1)); done`
			for i := range 30 {
				want += fmt.Sprintf("line %d\r\n", i)
			}
			sh(t, script, path)
			count++
			onlyVersion(t, p, "Drafts", "<burst>", want, count)
			if b, err := os.ReadFile(path); err != nil || string(b) != want {
				t.Errorf("the name written reads %q, %v; want the last version", b, err)
			}
		})

		t.Run("dd conv=notrunc into an existing message", func(t *testing.T) {
			path := existing(t, "dd", "0123456789\r\n")
			off := len(hdr("dd")) + 2
			sh(t, `printf XY | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null`, path, itoa(off))
			onlyVersion(t, p, "Drafts", "<dd>", hdr("dd")+"01XY456789\r\n", count)
		})

		t.Run("cp over an existing message", func(t *testing.T) {
			path := existing(t, "cpover", "before\r\n")
			src := filepath.Join(t.TempDir(), "new.eml")
			os.WriteFile(src, []byte(hdr("cpover")+"after\r\n"), 0o600)
			if out, err := exec.Command("cp", src, path).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			onlyVersion(t, p, "Drafts", "<cpover>", hdr("cpover")+"after\r\n", count)
			if b, err := os.ReadFile(path); err != nil || !bytes.Contains(b, []byte("after")) {
				t.Errorf("the name written keeps opening the new version: %q %v", b, err)
			}
		})
	})
}

// TestOverwriteWithServerDown: cp over an existing message needs no fetch
// of its old body (O_TRUNC), so it is accepted while the server is down,
// and stored once it is back, replacing the original.
func TestOverwriteWithServerDown(t *testing.T) {
	s := startDovecot(t)
	s.seedSample(t)
	m := s.mount(t, imapback.Config{Timeout: 2 * time.Second}, expunging)
	p := s.peek(t)
	victim := p.messages("INBOX")[0]
	id := messageIDOf(victim.Body)
	path := inboxFile(t, m, id)
	total := len(p.messages("INBOX"))
	newBytes := "From: a@example.com\r\nSubject: rewritten\r\nMessage-ID: " + id + "\r\n\r\nrewritten offline\r\n"
	if err := s.dovecot.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(newBytes), 0o600); err != nil {
		t.Fatalf("overwrite with the server down: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != newBytes {
		t.Errorf("the mount does not show the bytes written: %q %v", b, err)
	}
	if err := s.dovecot.Start(); err != nil {
		t.Fatal(err)
	}
	p = s.peek(t)
	onlyVersion(t, p, "INBOX", id, newBytes, total)
}

// TestWriteBufferBound: files being written share a bounded memory;
// past it, write(2) fails with ENOSPC and nothing reaches the server.
func TestWriteBufferBound(t *testing.T) {
	s := startMem(t)
	s.seedSample(t)
	m := s.mount(t, imapback.Config{}, func(o *options) { o.WriteBuffer = 64 << 10 })
	f, err := os.Create(filepath.Join(m.dir, "Drafts", "scratch.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = f.Write(make([]byte, 100<<10))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("writing 100 KiB into a 64 KiB write buffer: %v, want ENOSPC", err)
	}
}

// TestUnmountRightAfterClose: a file closed just before the unmount is
// still stored: unmounting waits for what is on its way.
func TestUnmountRightAfterClose(t *testing.T) {
	s := startMem(t)
	s.seedSample(t)
	p := s.peek(t)
	for i := range 10 {
		m := s.mount(t, imapback.Config{}, nil)
		id := "unmount-" + itoa(i) + "@x"
		if err := os.WriteFile(filepath.Join(m.dir, "Drafts", "u.eml"), []byte(newRaw(id, "Unmount")), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := m.fs.Unmount(); err != nil {
			t.Fatalf("unmount: %v", err)
		}
		m.fs.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := m.files.Close(ctx)
		cancel()
		if err != nil {
			t.Fatalf("close: %v", err)
		}
		if _, ok := p.find("Drafts", "<"+id+">"); !ok {
			t.Fatalf("round %d: a file closed before the unmount is not on the server", i)
		}
	}
}

// TestMessageBeingWrittenMovesOrGoes: rm and mv of a message while a
// new version of it is open for writing act on the file, as on any file
// system: removed, nothing of it stays on the server and the bytes
// written after are never stored; moved, its last bytes are stored once,
// in the mailbox it was moved to.
func TestMessageBeingWrittenMovesOrGoes(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, expunging)
		p := s.peek(t)
		drafts := filepath.Join(m.dir, "Drafts")
		for _, mv := range []bool{false, true} {
			id := "<busy-" + fmt.Sprint(mv) + "@x>"
			body := "From: a@example.com\r\nSubject: busy\r\nMessage-ID: " + id + "\r\n\r\nfirst\r\n"
			count, inbox := len(p.messages("Drafts"))+1, len(p.messages("INBOX"))
			if err := os.WriteFile(filepath.Join(drafts, "busy.eml"), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			onlyVersion(t, p, "Drafts", id, body, count)
			path := filepath.Join(drafts, "busy.eml")
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString("second\r\n"); err != nil {
				t.Fatal(err)
			}
			if mv {
				if err := os.Rename(path, filepath.Join(m.dir, "INBOX", "busy.eml")); err != nil {
					t.Fatalf("mv of a message being written: %v", err)
				}
			} else if err := os.Remove(path); err != nil {
				t.Fatalf("rm of a message being written: %v", err)
			}
			if _, err := f.WriteString("third\r\n"); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if mv {
				onlyVersion(t, p, "INBOX", id, body+"second\r\nthird\r\n", inbox+1)
			}
			eventually(t, 20*time.Second, "Drafts holds nothing of it", func() error {
				if _, ok := p.find("Drafts", id); ok {
					return fmt.Errorf("still in Drafts")
				}
				return nil
			})
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("Drafts/busy.eml after it went: %v", err)
			}
		}
	})
}
