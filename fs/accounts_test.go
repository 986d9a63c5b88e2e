package fs_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/cache"
	"mailfs/fs"
	"mailfs/imapback"
	"mailfs/internal/sample"
	"mailfs/internal/testenv"
	"mailfs/mail"
	"mailfs/mail/files"
)

// mountAccounts mounts several servers' accounts in one mount, one
// directory each, sharing one body cache, wired as `mailfs mount` wires a
// config file.
func mountAccounts(t *testing.T, servers map[string]*server) (string, map[string]*mail.Account) {
	return mountAccountsWith(t, servers, imapback.Config{})
}

func mountAccountsWith(t *testing.T, servers map[string]*server, cfg imapback.Config) (string, map[string]*mail.Account) {
	t.Helper()
	return mountAccountsSearches(t, servers, cfg, nil)
}

// mountAccountsSearches is mountAccountsWith with mount-wide named
// searches.
func mountAccountsSearches(t *testing.T, servers map[string]*server, cfg imapback.Config, searches map[string]string) (string, map[string]*mail.Account) {
	t.Helper()
	bodies := cache.New(256 << 20)
	var named []fs.Named
	accts := map[string]*mail.Account{}
	for name, s := range servers {
		c := s.dial(t, cfg)
		a := mail.NewAccount(mail.Options{ID: s.user + "@" + s.addr, Backend: c, Bodies: bodies,
			TTL: 30 * time.Second, Logger: testLogger(t).With("account", name), ReadAhead: 2})
		fm := fs.FileModel(a, fs.NamesReadable, files.NewBudget(512<<20), "")
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			closeFiles(t, ctx, fm)
			a.Close()
		})
		accts[name] = a
		named = append(named, fs.Named{Name: name, Account: a, Files: fm, Status: func() string { return "account: " + name + "\n" + testStatus(c, a, fm) }})
	}
	dir, _ := testenv.Mount(t, fs.Options{Accounts: named, Logger: testLogger(t), Searches: searches, Status: func() string {
		var b strings.Builder
		for _, n := range named {
			b.WriteString(n.Status())
		}
		return b.String()
	}})
	return dir, accts
}

// TestManyAccountsInOneMount: the in-memory server and two Dovecots (one
// with "." as its delimiter) in one mount: the root lists the accounts,
// each holds its own tree, grep -r finds mail in all of them, a write
// lands on the right server, a move stays inside its account.
func TestManyAccountsInOneMount(t *testing.T) {
	mem, dc := startMem(t), startDovecot(t)
	mem.seedSample(t)
	dc.seedSample(t)
	d := testenv.StartDovecotSeparator(t, ".")
	dot := &server{kind: "dovecot", addr: d.Addr, user: d.User, pass: d.Password, dovecot: d}
	pd := dot.peek(t)
	for _, mb := range []string{"Work", "Work.Projects"} {
		if err := pd.c.Create(mb, nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	appendRaw(t, pd, "Work.Projects", newRaw("dot-1@x", "Codename "+sample.PlantedWord))
	appendRaw(t, pd, "INBOX", newRaw("dot-2@x", "Hello"))

	dir, accts := mountAccounts(t, map[string]*server{"home": mem, "work": dc, "dotted": dot})

	ls, err := exec.Command("ls", "-a", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(ls)); strings.Join(got, " ") != ". .. dotted home work" {
		t.Fatalf("root lists %q", got)
	}
	for _, a := range []string{"home", "work", "dotted"} {
		if _, err := os.Stat(filepath.Join(dir, a, "INBOX")); err != nil {
			t.Errorf("%s/INBOX: %v", a, err)
		}
		// The Maildir view at the root has every account; its messages
		// are the account's own.
		for _, md := range []string{filepath.Join(dir, ".maildir", a, "INBOX"), filepath.Join(dir, a, ".maildir", "INBOX")} {
			cur, err1 := os.ReadDir(filepath.Join(md, "cur"))
			news, err2 := os.ReadDir(filepath.Join(md, "new"))
			eml, err3 := os.ReadDir(filepath.Join(dir, a, "INBOX"))
			if err1 != nil || err2 != nil || err3 != nil || len(cur)+len(news) != len(eml) {
				t.Errorf("%s: %d in cur/ and %d in new/, %d .eml files (%v %v %v)", md, len(cur), len(news), len(eml), err1, err2, err3)
			}
		}
		if b, err := os.ReadFile(filepath.Join(dir, a, ".mailfs", "status")); err != nil || !strings.Contains(string(b), "account: "+a) {
			t.Errorf("%s/.mailfs/status: %q %v", a, b, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, ".mailfs", "status")); err != nil || strings.Count(string(b), "state:") != 3 {
		t.Errorf("root status does not show three accounts: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dotted", "Work", "Projects")); err != nil {
		t.Errorf("the dotted account's Work.Projects is not nested: %v", err)
	}

	// grep across every account.
	out, _ := exec.Command("grep", "-rl", sample.PlantedWord, dir).Output()
	var hits []string
	for _, l := range strings.Fields(string(out)) {
		rel, _ := filepath.Rel(dir, l)
		hits = append(hits, strings.SplitN(rel, "/", 2)[0])
	}
	sort.Strings(hits)
	if strings.Join(hits, " ") != "dotted home work" {
		t.Errorf("grep -r found the planted word in %v, want one file in each account", hits)
	}

	// A write in each account lands on its own server only.
	for name, s := range map[string]*server{"home": mem, "work": dc, "dotted": dot} {
		id := "written-in-" + name + "@x"
		if err := os.WriteFile(filepath.Join(dir, name, "INBOX", "new.eml"), []byte(newRaw(id, "to "+name)), 0o600); err != nil {
			t.Fatalf("write in %s: %v", name, err)
		}
		s.peek(t).await(t, "INBOX", "<"+id+">")
	}
	for name, s := range map[string]*server{"home": mem, "work": dc, "dotted": dot} {
		for other := range map[string]bool{"home": true, "work": true, "dotted": true} {
			if other == name {
				continue
			}
			if _, ok := s.peek(t).find("INBOX", "<written-in-"+other+"@x>"); ok {
				t.Errorf("%s's write reached %s's server", other, name)
			}
		}
	}

	// A move inside one account.
	p := dc.peek(t)
	victim := p.messages("INBOX")[0]
	id := messageIDOf(victim.Body)
	from := fileWith(t, filepath.Join(dir, "work", "INBOX"), id)
	if err := os.Rename(from, filepath.Join(dir, "work", "Work", filepath.Base(from))); err != nil {
		t.Fatalf("mv inside an account: %v", err)
	}
	if _, ok := p.find("Work", id); !ok {
		t.Error("the moved message is not in the account's Work")
	}
	// Across accounts is not a move IMAP can do.
	other := fileWith(t, filepath.Join(dir, "home", "INBOX"), messageIDOf(mem.peek(t).messages("INBOX")[0].Body))
	wantErrno(t, "rename(2) across accounts", os.Rename(other, filepath.Join(dir, "work", "INBOX", filepath.Base(other))), syscall.EXDEV)
	// so mv(1) copies, then removes: the message ends up on the other
	// server, and the source in its own account's Trash.
	otherID := messageIDOf(mem.peek(t).messages("INBOX")[0].Body)
	if out, err := exec.Command("mv", other, filepath.Join(dir, "work", "INBOX")+"/").CombinedOutput(); err != nil {
		t.Fatalf("mv across accounts: %v %s", err, out)
	}
	dc.peek(t).await(t, "INBOX", otherID)
	if _, ok := mem.peek(t).find("Trash", otherID); !ok {
		t.Error("mv across accounts did not send the source to its Trash")
	}

	// The root holds accounts only.
	wantErrno(t, "mkdir at the root", os.Mkdir(filepath.Join(dir, "new"), 0o700), syscall.EPERM)
	wantErrno(t, "create at the root", os.WriteFile(filepath.Join(dir, "x.eml"), []byte("x"), 0o600), syscall.EPERM)

	// One shared cache: every account's bodies are in it.
	if len(accts) != 3 || accts["home"].Bodies() != accts["work"].Bodies() {
		t.Error("the accounts do not share one body cache")
	}
}

// TestOneAccountDownOthersWork: one Dovecot is killed while another
// account is grepped: that grep finishes with every byte right, the dead
// account's uncached reads fail with EIO within the timeout while its
// listing is still served, and once its server is back it works again.
func TestOneAccountDownOthersWork(t *testing.T) {
	const timeout = 2 * time.Second
	up, down := startDovecot(t), startDovecot(t)
	up.seedSample(t)
	down.seedSample(t)
	dir, _ := mountAccountsWith(t, map[string]*server{"up": up, "down": down}, imapback.Config{Timeout: timeout})
	// The dead account's INBOX is listed before it dies.
	inbox := filepath.Join(dir, "down", "INBOX")
	listed := names(t, inbox)
	if len(listed) == 0 {
		t.Fatal("empty INBOX")
	}
	want := map[string]string{}
	for _, m := range up.peek(t).messages("INBOX") {
		want[messageIDOf(m.Body)] = string(m.Body)
	}
	if err := down.dovecot.Kill(); err != nil {
		t.Fatal(err)
	}
	// The other account: every file of its INBOX, byte for byte.
	got := map[string]string{}
	upInbox := filepath.Join(dir, "up", "INBOX")
	for n := range names(t, upInbox) {
		b, err := os.ReadFile(filepath.Join(upInbox, n))
		if err != nil {
			t.Fatalf("reading %s in the live account: %v", n, err)
		}
		got[messageIDOf(b)] = string(b)
	}
	if len(got) != len(want) {
		t.Fatalf("live account: %d messages read, want %d", len(got), len(want))
	}
	for id, body := range want {
		if got[id] != body {
			t.Errorf("live account: %s differs", id)
		}
	}
	if out, err := exec.Command("grep", "-rl", sample.PlantedWord, filepath.Join(dir, "up")).Output(); err != nil || len(strings.Fields(string(out))) != 1 {
		t.Errorf("grep -r in the live account: %q %v", out, err)
	}
	// The dead one: listing served, an uncached body is EIO within the timeout.
	if now := names(t, inbox); len(now) != len(listed) {
		t.Errorf("the dead account's listing: %d names, was %d", len(now), len(listed))
	}
	var some string
	for n := range listed {
		some = n
		break
	}
	start := time.Now()
	_, err := os.ReadFile(filepath.Join(inbox, some))
	wantErrno(t, "read in the dead account", err, syscall.EIO)
	if took := time.Since(start); took > 10*timeout { // generous: it must not hang, not be fast
		t.Errorf("the dead account's read took %v (timeout %v)", took, timeout)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".mailfs", "status")); !strings.Contains(string(b), "DISCONNECTED") {
		t.Errorf("status does not show the dead account:\n%s", b)
	}
	if err := down.dovecot.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the account recovers", func() error {
		_, err := os.ReadFile(filepath.Join(inbox, some))
		return err
	})
}
