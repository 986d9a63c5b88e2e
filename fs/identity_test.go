package fs_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailfs/fs"
	"mailfs/imapback"
)

// Names can be reused; identities cannot. A directory's inode follows its
// mailbox through a rename, and a mailbox made later under the old name is
// a different directory.

func TestRenameThenRecreate(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		proj := filepath.Join(m.dir, "Proj")
		if err := os.Mkdir(proj, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"old-1@x", "old-2@x"} {
			if err := os.WriteFile(filepath.Join(proj, id+".eml"), []byte(newRaw(id, "Old "+id)), 0o600); err != nil {
				t.Fatal(err)
			}
			p.await(t, "Proj", "<"+id+">")
		}
		if n := len(names(t, proj)); n != 2 {
			t.Fatalf("Proj shows %d messages", n)
		}
		sh(t, `mv "$1/Proj" "$1/Old" && mkdir "$1/Proj"`, m.dir)
		src := filepath.Join(t.TempDir(), "x.eml")
		os.WriteFile(src, []byte(newRaw("recreated@x", "Into the new Proj")), 0o600)
		if out, err := exec.Command("cp", src, proj+"/").CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		p.await(t, "Proj", "<recreated@x>")
		if n := len(p.messages("Proj")); n != 1 {
			t.Errorf("the new Proj holds %d messages, want 1", n)
		}
		if n := len(p.messages("Old")); n != 2 {
			t.Errorf("Old holds %d messages, want Proj's old 2", n)
		}
		if !hasFileWith(filepath.Join(m.dir, "Old"), "old-1@x") || !hasFileWith(filepath.Join(m.dir, "Old"), "old-2@x") {
			t.Errorf("the mount does not show Proj's old mail in Old: %v", names(t, filepath.Join(m.dir, "Old")))
		}
		eventually(t, 10*time.Second, "the new Proj shows only the new message", func() error {
			if got := names(t, proj); len(got) != 1 || !hasFileWith(proj, "recreated@x") {
				return fmt.Errorf("the new Proj shows %v", got)
			}
			return nil
		})
		var old, fresh syscall.Stat_t
		syscall.Stat(filepath.Join(m.dir, "Old"), &old)
		syscall.Stat(proj, &fresh)
		if old.Ino == fresh.Ino {
			t.Errorf("Old and the new Proj share inode %d", old.Ino)
		}
	})
}

// Another client renames a mailbox and makes a new one under its name.
func TestRenamedAndRecreatedElsewhere(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, func(o *options) { o.TTL = 500 * time.Millisecond })
		p := s.peek(t)
		work := len(p.messages("Work"))
		if n := len(names(t, filepath.Join(m.dir, "Work"))); n != work {
			t.Fatalf("Work shows %d messages", n)
		}
		if err := p.c.Rename("Work", "Job", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := p.c.Create("Work", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		appendRaw(t, p, "Work", newRaw("elsewhere@x", "Made elsewhere"))
		eventually(t, 20*time.Second, "the mount follows the other client", func() error {
			if n := len(names(t, filepath.Join(m.dir, "Work"))); n != 1 || !hasFileWith(filepath.Join(m.dir, "Work"), "elsewhere@x") {
				return syscall.ENOENT
			}
			if _, err := os.Stat(filepath.Join(m.dir, "Job")); err != nil {
				return err
			}
			if n := len(names(t, filepath.Join(m.dir, "Job"))); n != work {
				return syscall.EEXIST
			}
			return nil
		})
	})
}

// A message moved onto a name that exists in the target is refused and
// changes nothing: the target keeps showing (and removing) its own message.
func TestMoveOntoExistingName(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, func(o *options) { o.Names = fs.NamesUID })
		p := s.peek(t)
		inbox, work := p.messages("INBOX"), p.messages("Work")
		name := itoa(int(work[0].UID)) + ".eml"
		src := filepath.Join(m.dir, "INBOX", name)
		if _, err := os.Stat(src); err != nil {
			t.Fatalf("INBOX has no %s to move: %v", name, err)
		}
		err := os.Rename(src, filepath.Join(m.dir, "Work", name))
		wantErrno(t, "mv onto an existing name", err, syscall.EEXIST)
		if len(p.messages("INBOX")) != len(inbox) || len(p.messages("Work")) != len(work) {
			t.Fatal("a refused move changed the server")
		}
		b, err := os.ReadFile(filepath.Join(m.dir, "Work", name))
		if err != nil || messageIDOf(b) != messageIDOf(work[0].Body) {
			t.Errorf("Work/%s shows another message than the server has under it", name)
		}
	})
}

// A moved message whose size only the server reported (and got wrong)
// is still measured when it is opened after the move.
func TestMovedMessageSizeStillCorrected(t *testing.T) {
	s := startMem(t)
	s.seedSample(t)
	m := s.mount(t, imapback.Config{}, func(o *options) { o.Backend = lyingBackend{o.Backend} })
	p := s.peek(t)
	victim := p.messages("INBOX")[1]
	path := filepath.Join(m.dir, "INBOX")
	ents, _ := os.ReadDir(path)
	var from string
	for _, e := range ents {
		if uid, ok := fs.ParseMessageUID(e.Name()); ok && uid == victim.UID {
			from = filepath.Join(path, e.Name())
		}
	}
	if from == "" {
		t.Fatal("victim not listed")
	}
	if err := os.Rename(from, filepath.Join(m.dir, "Work", filepath.Base(from))); err != nil {
		t.Fatal(err)
	}
	moved := fileWith(t, filepath.Join(m.dir, "Work"), messageIDOf(victim.Body))
	out, err := exec.Command("cat", moved).Output()
	if err != nil || string(out) != string(victim.Body) {
		t.Fatalf("cat of the moved message: %d bytes, want %d (%v)", len(out), len(victim.Body), err)
	}
}

// Concurrent fsync and rm, and fsync and mv, of one file never deadlock:
// no kernel notification is sent from inside FSYNC or FLUSH.
func TestFsyncRaces(t *testing.T) {
	s := startMem(t)
	s.seedSample(t)
	m := s.mount(t, imapback.Config{}, nil)
	for _, op := range []string{"rm", "mv"} {
		for i := range 20 {
			path := filepath.Join(m.dir, "Drafts", "race-"+op+"-"+itoa(i)+".eml")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(newRaw("race-"+op+itoa(i)+"@x", "race"))
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				for range 20 {
					f.Sync()
				}
			}()
			go func() {
				defer wg.Done()
				if op == "rm" {
					os.Remove(path)
				} else {
					os.Rename(path, path+".tmp")
				}
			}()
			done := make(chan struct{})
			go func() { wg.Wait(); f.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Minute): // a hang detector, not a timing assertion
				t.Fatalf("fsync and %s of one file hung", op)
			}
		}
	}
}

// TestMovedMessageKeepsItsInode: after mv msg.eml Other/, the moved path,
// the name ls Other/ lists for the message and a fresh lookup of that
// name give one inode number, the one the message had before the move
// (issue 22). With a zero-length TTL every stat is a fresh LOOKUP.
func TestMovedMessageKeepsItsInode(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		for _, ttl := range []time.Duration{0, time.Nanosecond} {
			m := s.mount(t, imapback.Config{}, func(o *options) { o.TTL = ttl })
			p := s.peek(t)
			msg := p.messages("INBOX")[len(p.messages("INBOX"))-1]
			name := fileNameOf(t, msg)
			src, dst := filepath.Join(m.dir, "INBOX", name), filepath.Join(m.dir, "Work", name)
			before := inodeOf(t, src)
			if err := os.Rename(src, dst); err != nil {
				t.Fatal(err)
			}
			if got := inodeOf(t, dst); got != before {
				t.Errorf("ttl %v: the moved path has inode %d, %d before the move", ttl, got, before)
			}
			moved, _ := p.find("Work", messageIDOf(msg.Body))
			eventually(t, 20*time.Second, "Work lists the moved message", func() error {
				for n, ino := range listedInodes(t, filepath.Join(m.dir, "Work")) {
					if uid, ok := fs.ParseMessageUID(n); n == name || ok && uid == moved.UID {
						if ino != before {
							return fmt.Errorf("ls -i Work lists %s as inode %d, the moved path has %d", n, ino, before)
						}
						if st := inodeOf(t, filepath.Join(m.dir, "Work", n)); st != before {
							return fmt.Errorf("stat Work/%s: inode %d, the moved path had %d", n, st, before)
						}
						return nil
					}
				}
				return fmt.Errorf("Work does not list %s", name)
			})
			// Back, under its name there: the same file still.
			if err := os.Rename(dst, src); err != nil {
				t.Fatal(err)
			}
			if got, listed := inodeOf(t, src), listedInodes(t, filepath.Join(m.dir, "INBOX"))[name]; got != before || listed != before {
				t.Errorf("moved back: stat %d, ls -i %d, want %d", got, listed, before)
			}
		}
	})
}

func inodeOf(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// listedInodes is what ls -i lists in dir: name -> inode number.
func listedInodes(t *testing.T, dir string) map[string]uint64 {
	t.Helper()
	out, err := exec.Command("ls", "-i1", dir).Output()
	if err != nil {
		t.Fatalf("ls -i %s: %v", dir, err)
	}
	inos := map[string]uint64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		ino, name, ok := strings.Cut(strings.TrimSpace(line), " ")
		if n, err := strconv.ParseUint(ino, 10, 64); ok && err == nil {
			inos[name] = n
		}
	}
	return inos
}
