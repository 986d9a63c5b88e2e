package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/internal/demoserver"
	"mailfs/internal/sample"
	"mailfs/internal/testenv"
)

// writeConfig writes a config file and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCLIConfigMount: a config file with three accounts — the in-memory
// server with a password-command, one with OAuth2 (XOAUTH2, token from
// token-command) and Dovecot — mounted by `mailfs mount MOUNTPOINT`: one
// directory each, grep across all, status for every account; --account
// mounts one at the root.
func TestCLIConfigMount(t *testing.T) {
	testenv.RequireFUSE(t)
	home := startMem(t)
	home.seedSample(t)
	var mu sync.Mutex
	good := "ya29.first"
	cloudSrv, err := demoserver.Start(demoserver.Options{User: "bob@example.com", Password: "unused-pw", Seed: true,
		OAuth: func(user, token string) bool { mu.Lock(); defer mu.Unlock(); return token == good }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cloudSrv.Close() })
	d := testenv.StartDovecot(t)
	work := &server{kind: "dovecot", addr: d.Addr, user: d.User, pass: d.Password}
	work.seedSample(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(good+"\n"), 0o600)
	cfg := writeConfig(t, fmt.Sprintf(`
cache-size = "64MiB"
timeout = "10s"

[searches]
planted = "%s"

[accounts.home]
url = "imap+insecure://alice@%s"
password-command = "printf %%s %s"

[accounts.cloud]
url = "imap+insecure://bob%%40example.com@%s"
auth = "xoauth2"
token-command = "cat %s"
read-only = true

[accounts.work]
url = "imap+insecure://%s@%s"
password-command = "printf %%s %s"
watch = ["INBOX", "Work"]

[accounts.work.searches]
projects = "in:Work/Projects"
`, sample.PlantedWord, home.addr, home.pass, cloudSrv.Addr, tokenFile, work.user, work.addr, work.pass))

	dir := t.TempDir()
	cmd, errb := startMount(t, dir, []string{"MAILFS_PASSWORD=must-not-be-used"}, "mount", "--config", cfg, dir)
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "cloud home work" {
		t.Fatalf("root holds %v", names)
	}
	out, _ := exec.Command("grep", "-rl", sample.PlantedWord, dir).Output()
	var hits []string
	for _, l := range strings.Fields(string(out)) {
		rel, _ := filepath.Rel(dir, l)
		hits = append(hits, strings.SplitN(rel, "/", 2)[0])
	}
	sort.Strings(hits)
	if strings.Join(hits, " ") != "cloud home work" {
		t.Errorf("grep -r across the accounts found %v", hits)
	}
	// Named searches: the file's [searches] in every .search, an
	// account's own in its .search only; mailfs search across accounts
	// finds what grep found.
	for sub, want := range map[string]string{".search": "planted", "home/.search": "planted", "work/.search": "planted projects"} {
		ls, err := exec.Command("ls", filepath.Join(dir, sub)).Output()
		if err != nil || strings.Join(strings.Fields(string(ls)), " ") != want {
			t.Errorf("ls %s: %q %v, want %s", sub, ls, err, want)
		}
	}
	found, err := exec.Command(mailfsBin, "search", dir, "planted").Output()
	if got, want := strings.Fields(string(found)), strings.Fields(string(out)); err != nil || len(got) != len(want) {
		t.Errorf("mailfs search planted across accounts: %v\n got %v\nwant %v", err, got, want)
	}
	st, err := exec.Command(mailfsBin, "status", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[cloud]", "[home]", "[work]", "changes:        NOTIFY: every mailbox", "read-only true"} {
		if !strings.Contains(string(st), want) {
			t.Errorf("status lacks %q:\n%s", want, st)
		}
	}
	if n := strings.Count(string(st), "bodies of this account"); n != 3 || strings.Contains(string(st), " 0 B in 0 bodies of this account") {
		t.Errorf("status does not show each account's share of the cache (after grep read them all):\n%s", st)
	}
	if strings.Count(string(st), "state:          connected") != 3 {
		t.Errorf("status does not show three connected accounts:\n%s", st)
	}
	// The read-only account refuses writes; another takes them.
	if err := os.WriteFile(filepath.Join(dir, "cloud", "INBOX", "x.eml"), []byte("Subject: x\r\n\r\nx\r\n"), 0o600); err == nil {
		t.Error("a write in the read-only account succeeded")
	}
	if code, msg := runCLI(t, "", "umount", dir); code != 0 {
		t.Fatalf("umount: %d %s", code, msg)
	}
	if code := waitExit(t, cmd, errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(errb.String(), good) || strings.Contains(errb.String(), home.pass) {
		t.Error("the log shows a token or a password")
	}

	// --account mounts one account at the root.
	dir2 := t.TempDir()
	cmd2 := exec.Command(mailfsBin, "mount", "--config", cfg, "--account", "work", dir2)
	var errb2 bytes.Buffer
	cmd2.Stderr = &errb2
	if err := cmd2.Start(); err != nil {
		t.Fatal(err)
	}
	if !testenv.WaitMounted(dir2, 20*time.Second) {
		cmd2.Process.Kill()
		t.Fatalf("--account not mounted: %s", errb2.String())
	}
	if _, err := os.Stat(filepath.Join(dir2, "INBOX")); err != nil {
		t.Errorf("--account work: no INBOX at the root: %v", err)
	}
	runCLI(t, "", "umount", dir2)
	if code := waitExit(t, cmd2, &errb2); code != 0 {
		t.Fatalf("exit %d: %s", code, errb2.String())
	}
}

// TestCLIConfigErrors: every kind of mistake in the config file is one
// line naming the file and the key, exit 2, nothing mounted.
func TestCLIConfigErrors(t *testing.T) {
	ok := "[accounts.a]\nurl = \"imaps://alice@imap.example.com\"\npassword-command = \"true\"\n"
	for _, tc := range []struct {
		name, text, extra, want string
	}{
		{"syntax", "[accounts.a\nurl = 1\n", "", ":2: expected"},
		{"unknown top key", "conections = 3\n" + ok, "", "conections: unknown key"},
		{"unknown account key", ok + "conections = 3\n", "", "accounts.a.conections: unknown key"},
		{"unknown top key: the known ones", "serches = 3\n" + ok, "", "serches: unknown key (known: cache-size, disk-cache, cache-dir, names, read-only, connections, delete, timeout, poll-interval, watch, password-command, [searches] and [accounts.NAME])"},
		{"unknown account key: the known ones", ok + "serches = 3\n", "", "accounts.a.serches: unknown key (known: url, auth, token-command, read-only, connections, delete, timeout, poll-interval, watch, password-command and [accounts.a.searches])"},
		{"no url", "[accounts.a]\nread-only = true\n", "", "accounts.a.url: missing"},
		{"bad url", "[accounts.a]\nurl = \"http://x\"\n", "", "accounts.a.url:"},
		{"missing command", "[accounts.a]\nurl = \"imaps://a@b\"\npassword-command = \"no-such-helper-4711 x\"\n", "", "accounts.a.password-command:"},
		{"token without oauth", "[accounts.a]\nurl = \"imaps://a@b\"\ntoken-command = \"true\"\n", "", "accounts.a.token-command:"},
		{"oauth without token", "[accounts.a]\nurl = \"imaps://a@b\"\nauth = \"xoauth2\"\n", "", "accounts.a.token-command: missing"},
		{"bad auth", "[accounts.a]\nurl = \"imaps://a@b\"\nauth = \"kerberos\"\n", "", "accounts.a.auth:"},
		{"bad value", "[accounts.a]\nurl = \"imaps://a@b\"\npassword-command = \"true\"\nconnections = \"many\"\n", "", "accounts.a.connections:"},
		{"mount-wide key in an account", ok + "cache-size = \"1GiB\"\n", "", "accounts.a.cache-size: is mount-wide"},
		{"unknown account", ok, "nope", "no account \"nope\""},
		{"no accounts", "cache-size = \"1GiB\"\n", "", "no accounts"},
		{"bad search query", "[searches]\nx = \"from:\"\n" + ok, "", "searches: x: query"},
		{"bad search name", "[searches]\n\".x\" = \"a\"\n" + ok, "", "searches: \".x\": a search's name"},
		{"search not a string", ok + "[accounts.a.searches]\nx = 3\n", "", "accounts.a.searches.x: a query is a string"},
		// A value is named where it was written (the top as every
		// account's default, or an account's table) and said what it
		// should look like.
		{"top timeout not a duration", "timeout = 20\n" + ok, "", `: timeout: 20 is not a duration: write a string with a unit, such as timeout = "20s"`},
		{"account timeout not a duration", ok + "timeout = 20\n", "", `: accounts.a.timeout: 20 is not a duration: write a string with a unit, such as timeout = "20s"`},
		{"top poll-interval not a duration", "poll-interval = \"soon\"\n" + ok, "", `: poll-interval: "soon" is not a duration: write a string with a unit, such as poll-interval = "20s"`},
		{"account poll-interval not a duration", ok + "poll-interval = \"soon\"\n", "", `: accounts.a.poll-interval: "soon" is not a duration: write a string with a unit, such as poll-interval = "20s"`},
		{"top connections not a number", "connections = \"many\"\n" + ok, "", `: connections: "many" is not a whole number, such as connections = 3`},
		{"top read-only not a boolean", "read-only = \"yes\"\n" + ok, "", `: read-only: "yes" is not true or false, such as read-only = true`},
		// Values that parse but mailfs does not take: the same, with
		// the mount's own words for what it takes.
		{"top cache-size not a size", "cache-size = \"lots\"\n" + ok, "", `: cache-size: "lots": want a size such as 256MiB`},
		{"top disk-cache too small", "disk-cache = \"1MiB\"\n" + ok, "", `: disk-cache: 1MiB: want at least 16MiB (or 0 for none)`},
		{"account connections out of range", ok + "connections = 100\n", "", `: accounts.a.connections: 100: want 1 to 32`},
		{"top delete unknown", "delete = \"shred\"\n" + ok, "", `: delete: must be trash or expunge, not "shred"`},
		{"top names unknown", "names = \"short\"\n" + ok, "", `: names: must be readable, date or uid, not "short"`},
		{"top cache-dir not a string", "cache-dir = 5\n" + ok, "", `: cache-dir: 5 is not a string: write it in quotes, such as cache-dir = "5"`},
		{"watch and connections together", ok + "connections = 2\nwatch = [\"INBOX\", \"Work\"]\n", "", `: accounts.a: watch names 2 mailboxes but connections is 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.text)
			dir := t.TempDir()
			args := []string{"mount", "--config", path}
			if tc.extra != "" {
				args = append(args, "--account", tc.extra)
			}
			code, stderr := runCLI(t, "", append(args, dir)...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, path) || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q lacks the file and %q", stderr, tc.want)
			}
			if lines := strings.Count(strings.TrimSpace(stderr), "\n"); lines != 0 {
				t.Errorf("more than one line: %q", stderr)
			}
			if strings.Contains(stderr, "flag") || strings.Contains(stderr, "--") {
				t.Errorf("a mistake in the file is called a flag's: %q", stderr)
			}
			if testenv.IsMounted(dir) {
				t.Error("something was mounted")
			}
		})
	}
	// No config file at all.
	code, stderr := runCLI(t, "", "mount", "--config", filepath.Join(t.TempDir(), "none.toml"), t.TempDir())
	if code != exitUsage || !strings.Contains(stderr, "no config file") {
		t.Errorf("missing file: exit %d %q", code, stderr)
	}
}

// TestCLIRefusedToken: an OAuth2 token the server refuses is exit 3 with
// one line naming the account, never the token.
func TestCLIRefusedToken(t *testing.T) {
	testenv.RequireFUSE(t)
	srv, err := demoserver.Start(demoserver.Options{User: "bob", Password: "x", OAuth: func(user, token string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for _, mech := range []string{"xoauth2", "oauthbearer"} {
		cfg := writeConfig(t, fmt.Sprintf("[accounts.cloud]\nurl = \"imap+insecure://bob@%s\"\nauth = %q\ntoken-command = \"echo secret-token-4711\"\n", srv.Addr, mech))
		dir := t.TempDir()
		code, stderr := runCLI(t, "", "mount", "--config", cfg, dir)
		if code != exitAuth || !strings.Contains(stderr, "account cloud") || strings.Contains(stderr, "secret-token-4711") {
			t.Errorf("%s: exit %d, %q", mech, code, stderr)
		}
		if testenv.IsMounted(dir) {
			t.Errorf("%s: mounted anyway", mech)
		}
	}
}

// TestCLIConfigAccountDownAtStart: with several accounts, one whose server
// is down when mounting does not keep the others from mounting: its
// directory gives EIO and status says DISCONNECTED until the server is
// back, then it works without a remount.
func TestCLIConfigAccountDownAtStart(t *testing.T) {
	testenv.RequireFUSE(t)
	up := startMem(t)
	up.seedSample(t)
	d := testenv.StartDovecot(t)
	down := &server{kind: "dovecot", addr: d.Addr, user: d.User, pass: d.Password}
	down.seedSample(t)
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`timeout = "3s"
[accounts.up]
url = "imap+insecure://alice@%s"
password-command = "printf %%s %s"
[accounts.down]
url = "imap+insecure://%s@%s"
password-command = "printf %%s %s"
`, up.addr, up.pass, down.user, down.addr, down.pass))
	dir := t.TempDir()
	cmd, errb := startMount(t, dir, nil, "mount", "--config", cfg, dir)
	if _, err := os.ReadFile(firstMessage(t, filepath.Join(dir, "up"))); err != nil {
		t.Fatalf("the live account: %v", err)
	}
	if _, err := os.ReadDir(filepath.Join(dir, "down")); err == nil {
		t.Error("the dead account's directory listed without its server")
	}
	st, _ := exec.Command(mailfsBin, "status", dir).Output()
	if !strings.Contains(string(st), "DISCONNECTED") {
		t.Errorf("status does not show the dead account:\n%s", st)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the account comes up after its server", func() error {
		_, err := os.Stat(filepath.Join(dir, "down", "INBOX"))
		return err
	})
	if _, err := os.ReadFile(firstMessage(t, filepath.Join(dir, "down"))); err != nil {
		t.Fatalf("reading the recovered account: %v", err)
	}
	runCLI(t, "", "umount", dir)
	if code := waitExit(t, cmd, errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// TestCLIConfigDovecots: two private Dovecots (one with "." as its
// delimiter and OAuth2 through its oauth2 passdb) and the in-memory server
// in one mount from a config file: the tree, grep across all, a write in
// each, a move inside one; when the OAuth2 token expires and the
// connections drop, token-command runs again and the account carries on.
func TestCLIConfigDovecots(t *testing.T) {
	testenv.RequireFUSE(t)
	mem := startMem(t)
	mem.seedSample(t)
	d1 := testenv.StartDovecot(t)
	plain := &server{kind: "dovecot", addr: d1.Addr, user: d1.User, pass: d1.Password}
	plain.seedSample(t)
	o := testenv.StartOAuthServer(t)
	d2 := testenv.StartDovecotWith(t, testenv.DovecotOptions{Separator: ".", OAuthIntrospection: o.URL})
	o.Issue("tok-1", d2.User)
	for _, m := range []struct{ mailbox, body string }{
		{"INBOX", "Subject: hello\r\nMessage-ID: <d2-1@x>\r\n\r\nfirst\r\n"},
		{"Work/Projects", "Subject: codename\r\nMessage-ID: <d2-2@x>\r\n\r\n" + sample.PlantedWord + "\r\n"},
	} {
		if err := d2.WriteMaildirMessage(m.mailbox, []byte(m.body), "", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("tok-1\n"), 0o600)
	cfg := writeConfig(t, fmt.Sprintf(`timeout = "5s"
[accounts.mem]
url = "imap+insecure://alice@%s"
password-command = "printf %%s %s"
[accounts.plain]
url = "imap+insecure://%s@%s"
password-command = "printf %%s %s"
[accounts.dotted]
url = "imap+insecure://%s@%s"
auth = "oauthbearer"
token-command = "cat %s"
watch = []
`, mem.addr, mem.pass, plain.user, plain.addr, plain.pass, d2.User, d2.Addr, tokenFile))
	dir := t.TempDir()
	cmd, errb := startMount(t, dir, nil, "mount", "--config", cfg, dir)
	if _, err := os.Stat(filepath.Join(dir, "dotted", "Work", "Projects")); err != nil {
		t.Errorf("the dotted account's Work.Projects is not nested: %v", err)
	}
	out, _ := exec.Command("grep", "-rl", sample.PlantedWord, dir).Output()
	var hits []string
	for _, l := range strings.Fields(string(out)) {
		rel, _ := filepath.Rel(dir, l)
		hits = append(hits, strings.SplitN(rel, "/", 2)[0])
	}
	sort.Strings(hits)
	if strings.Join(hits, " ") != "dotted mem plain" {
		t.Errorf("grep -r across the accounts found %v", hits)
	}
	// A write in each account.
	for _, a := range []string{"mem", "plain", "dotted"} {
		raw := "From: x@example.org\r\nSubject: into " + a + "\r\nMessage-ID: <into-" + a + "@x>\r\n\r\nhi\r\n"
		if err := os.WriteFile(filepath.Join(dir, a, "INBOX", "new.eml"), []byte(raw), 0o600); err != nil {
			t.Fatalf("write in %s: %v", a, err)
		}
	}
	// A move inside one account.
	victim := firstMessage(t, filepath.Join(dir, "plain"))
	if err := os.Rename(victim, filepath.Join(dir, "plain", "Work", filepath.Base(victim))); err != nil {
		t.Fatalf("mv inside plain: %v", err)
	}
	// The token expires; the helper prints a new one; the sessions drop.
	o.Revoke("tok-1")
	o.Issue("tok-2", d2.User)
	os.WriteFile(tokenFile, []byte("tok-2\n"), 0o600)
	d2.KillSessions()
	waitFor(t, 30*time.Second, "the OAuth2 account carries on with a fresh token", func() error {
		// A mailbox not listed yet needs the server: a new connection.
		os.ReadDir(filepath.Join(dir, "dotted", "Work"))
		if _, err := os.ReadFile(filepath.Join(dir, "dotted", "INBOX", "new.eml")); err != nil {
			return err
		}
		ents, err := os.ReadDir(filepath.Join(dir, "dotted", "Work", "Projects"))
		if err != nil || len(ents) != 1 {
			return fmt.Errorf("Work/Projects: %d files, %v", len(ents), err)
		}
		if !o.Seen("tok-2") {
			return fmt.Errorf("mailfs has not logged in with the fresh token")
		}
		_, err = os.ReadFile(filepath.Join(dir, "dotted", "Work", "Projects", ents[0].Name()))
		return err
	})
	if _, err := os.ReadDir(filepath.Join(dir, "dotted", "Work")); err != nil {
		t.Errorf("the OAuth2 account after the new token: %v", err)
	}
	runCLI(t, "", "umount", dir)
	if code := waitExit(t, cmd, errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// Every write reached its own server; the move stayed in its account.
	for _, c := range []struct{ addr, user, pass, mailbox, id string }{
		{mem.addr, mem.user, mem.pass, "INBOX", "<into-mem@x>"},
		{plain.addr, plain.user, plain.pass, "INBOX", "<into-plain@x>"},
		{d2.Addr, d2.User, d2.Password, "INBOX", "<into-dotted@x>"},
	} {
		if !hasMessage(t, c.addr, c.user, c.pass, c.mailbox, c.id) {
			t.Errorf("%s not on its server", c.id)
		}
	}
	if strings.Contains(errb.String(), "tok-1") || strings.Contains(errb.String(), "tok-2") {
		t.Error("the log shows a token")
	}
}

// hasMessage asks a server directly whether mailbox holds Message-ID id.
func hasMessage(t *testing.T, addr, user, pass, mailbox, id string) bool {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: id}}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return len(data.AllUIDs()) > 0
}

// TestCLIPasswordCommandPrintsNothing: a password-command whose first
// line is empty is said to be so (exit 2), not an authentication
// failure of the server.
func TestCLIPasswordCommandPrintsNothing(t *testing.T) {
	s := startMem(t)
	dir := t.TempDir()
	code, stderr := runCLIEnv(t, nil, "mount", "--password-command", "true", "imap+insecure://"+s.user+"@"+s.addr, dir)
	if code != exitUsage || !strings.Contains(stderr, "printed no password") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if testenv.IsMounted(dir) {
		t.Fatal("mounted anyway")
	}
}
