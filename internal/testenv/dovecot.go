package testenv

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"
)

// Paths of the Debian packages dovecot-core / dovecot-imapd.
const (
	dovecotBinary = "/usr/sbin/dovecot"
	dovecotIMAP   = "/usr/lib/dovecot/imap"
)

// Timing knobs for starting and stopping an instance.
const (
	startTimeout = 10 * time.Second
	stopTimeout  = 10 * time.Second
	pollInterval = 20 * time.Millisecond
)

// instanceSeq numbers the instances started by this process. Together with
// the pid it makes instance names unique across parallel test binaries.
var instanceSeq atomic.Int64

// instancePrefix is the prefix of the instance_name of every Dovecot started
// by this process. Dovecot titles its processes "dovecot-<instance_name>/...".
var instancePrefix = fmt.Sprintf("mailfs-%d-", os.Getpid())

// Dovecot is a private Dovecot IMAP server started for a test.
//
// Everything (config, base_dir with sockets and master.pid, state_dir, log,
// mail) lives in Dir, so any number of instances can run concurrently.
// The master runs in the foreground (dovecot -F) as a child of the test
// process, in its own process group, with Pdeathsig=SIGTERM so that it shuts
// down even if the test binary dies without running its cleanups.
type Dovecot struct {
	Addr     string // "127.0.0.1:PORT" (plain IMAP, no TLS)
	User     string // e.g. "alice"
	Password string
	Dir      string // private temp dir holding config, base_dir, state, logs, mail

	port       int
	instance   string // instance_name, unique per instance
	greeting   string // unique login_greeting, proves we talk to this instance
	confPath   string
	baseDir    string
	stateDir   string
	logPath    string
	stderrPath string
	usersPath  string
	mailRoot   string
	uid, gid   int // of the "dovecot" user owning the mail
	opts       DovecotOptions

	mu   sync.Mutex
	cmd  *exec.Cmd     // nil when not running
	done chan struct{} // closed when cmd.Wait returned
}

// StartDovecot starts a private Dovecot instance (Debian package
// dovecot-imapd, binary /usr/sbin/dovecot) on a free loopback port in a
// private temp dir, with one user, and registers t.Cleanup to stop it and
// remove the dir. If dovecot is not installed (or we are not root),
// Require(t, false, ...) skips the test (or fails it when Strict()).
func StartDovecot(t testing.TB) *Dovecot {
	t.Helper()
	return StartDovecotSeparator(t, "/")
}

// StartDovecotSeparator is StartDovecot with another hierarchy separator
// (for example "." as many servers use).
func StartDovecotSeparator(t testing.TB, sep string) *Dovecot {
	t.Helper()
	return StartDovecotWith(t, DovecotOptions{Separator: sep})
}

// DovecotOptions make an instance imitate other server setups.
type DovecotOptions struct {
	Separator string // hierarchy separator; "" is "/"
	// Prefix is the personal namespace's prefix (e.g. "INBOX." as Courier
	// and Cyrus have it); it ends with the separator.
	Prefix string
	// QuotaBytes, when set, turns on the quota plugin with this storage
	// limit: APPENDs past it get NO [OVERQUOTA].
	QuotaBytes int64
	// NoSpecialUse leaves Trash, Sent, … without special-use attributes.
	NoSpecialUse bool
	// OAuthIntrospection, when set, adds Dovecot's oauth2 passdb for
	// AUTH=XOAUTH2 and AUTH=OAUTHBEARER: it validates each token by POSTing
	// it to this URL (RFC 7662 introspection; see OAuthServer).
	OAuthIntrospection string
}

// StartDovecotWith is StartDovecot with options.
func StartDovecotWith(t testing.TB, o DovecotOptions) *Dovecot {
	t.Helper()
	dcUser, missing := dovecotPrerequisites()
	Require(t, missing == "", "%s", missing)
	d, err := launchDovecot(tempRoot(), dcUser, o)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { d.cleanup(t) })
	return d
}

// NewDovecot is StartDovecot for programs (the benchmark): it starts a
// private instance in a new directory inside parent ("" picks the same
// temp dir as the tests: os.TempDir(), or /tmp when the dovecot user
// cannot traverse it or the path is too long for Dovecot's sockets) and
// returns an error where StartDovecot would skip or fail. The caller must
// Close it. If the program dies without closing it, the master still gets
// SIGTERM (Pdeathsig) and the next instance started removes the directory.
func NewDovecot(parent string) (*Dovecot, error) {
	dcUser, missing := dovecotPrerequisites()
	if missing != "" {
		return nil, fmt.Errorf("testenv: %s", missing)
	}
	if parent == "" {
		parent = tempRoot()
	} else if err := checkInstanceRoot(parent); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	d, err := launchDovecot(parent, dcUser, DovecotOptions{})
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	return d, nil
}

// Close kills the instance started by NewDovecot (its processes are gone
// when Close returns) and removes its directory with the mail. Idempotent.
func (d *Dovecot) Close() error {
	err := d.Kill()
	if procs := d.processes(); len(procs) > 0 {
		for _, p := range procs {
			syscall.Kill(p, syscall.SIGKILL)
		}
		err = errors.Join(err, fmt.Errorf("testenv: Dovecot instance %s left processes %v behind; killed them", d.instance, procs))
	}
	return errors.Join(err, os.RemoveAll(d.Dir))
}

// checkInstanceRoot checks what tempRoot checks of os.TempDir(): the
// dovecot user must traverse every ancestor, and the path must be short and
// plain (UNIX socket paths are limited to 108 bytes, and the path goes
// unquoted into passdb args).
func checkInstanceRoot(root string) error {
	if !filepath.IsAbs(root) {
		return fmt.Errorf("instance dir parent %q: want an absolute path", root)
	}
	if len(root) > 40 || strings.ContainsFunc(root, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '_' || r == '-' ||
			'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) {
		return fmt.Errorf("instance dir parent %q: want at most 40 bytes of [A-Za-z0-9/._-] (Dovecot socket paths and config)", root)
	}
	for p := root; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("instance dir parent: %w", err)
		}
		if !fi.IsDir() || fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("instance dir parent %q: %s is not a directory others may traverse (the dovecot user must; chmod o+x)", root, p)
		}
		if p == "/" {
			return nil
		}
	}
}

// dovecotPrerequisites returns the dovecot user, or why a private Dovecot
// cannot run on this machine.
func dovecotPrerequisites() (*user.User, string) {
	_, err1 := os.Stat(dovecotBinary)
	_, err2 := os.Stat(dovecotIMAP)
	if err1 != nil || err2 != nil {
		return nil, fmt.Sprintf("dovecot IMAP server not installed (%s, %s missing; hint: apt-get install dovecot-imapd)", dovecotBinary, dovecotIMAP)
	}
	if os.Geteuid() != 0 {
		return nil, "private Dovecot instances need root (to switch to the dovecot user)"
	}
	dcUser, err := user.Lookup("dovecot")
	if err != nil {
		return nil, fmt.Sprintf("user dovecot missing: %v (hint: apt-get install dovecot-core)", err)
	}
	if _, err := user.Lookup("dovenull"); err != nil {
		return nil, fmt.Sprintf("user dovenull missing: %v (hint: apt-get install dovecot-core)", err)
	}
	return dcUser, ""
}

// launchDovecot creates an instance dir in root and starts Dovecot there.
// On failure nothing is left running and the dir is removed.
func launchDovecot(root string, dcUser *user.User, o DovecotOptions) (_ *Dovecot, err error) {
	if o.Separator == "" {
		o.Separator = "/"
	}
	d := &Dovecot{User: "alice", opts: o}
	d.uid, _ = strconv.Atoi(dcUser.Uid)
	d.gid, _ = strconv.Atoi(dcUser.Gid)
	d.Password = "pw-" + randomHex(8)
	d.instance = instancePrefix + strconv.FormatInt(instanceSeq.Add(1), 10)
	d.greeting = "mailfs test Dovecot " + d.instance + " ready."

	removeStaleDirs.Do(func() { removeStale(tempRoot()) })
	dir, err := os.MkdirTemp(root, dirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	d.Dir = dir
	d.confPath = filepath.Join(dir, "dovecot.conf")
	d.baseDir = filepath.Join(dir, "run")
	d.stateDir = filepath.Join(dir, "state")
	d.logPath = filepath.Join(dir, "dovecot.log")
	d.stderrPath = filepath.Join(dir, "dovecot.stderr")
	d.usersPath = filepath.Join(dir, "users")
	d.mailRoot = filepath.Join(dir, "mail")
	defer func() {
		if err != nil {
			d.Close()
		}
	}()

	if err := d.prepare(); err != nil {
		return nil, fmt.Errorf("preparing Dovecot in %s: %v", dir, err)
	}

	// The free port is found by listening on :0 and closing again, so another
	// process may grab it before Dovecot binds it; retry with a new port then.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %v", err)
		}
		d.port = port
		d.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := os.WriteFile(d.confPath, []byte(d.config()), 0o644); err != nil {
			return nil, err
		}
		err = d.Start()
		if err == nil {
			return d, nil
		}
		if attempt < 3 && strings.Contains(err.Error(), "Address already in use") {
			continue
		}
		return nil, err
	}
}

// tempRoot returns the directory to create instance dirs in: os.TempDir()
// if every ancestor is traversable by the dovecot user and the path is short
// and plain (UNIX socket paths are limited to 108 bytes and the path goes
// unquoted into passdb args), else /tmp.
func tempRoot() string {
	root := os.TempDir()
	if checkInstanceRoot(root) != nil {
		return "/tmp"
	}
	return root
}

// Instance dirs are named <tempRoot>/mailfs-dovecot-<pid of test binary>-*.
const dirPrefix = "mailfs-dovecot-"

var removeStaleDirs sync.Once

// removeStale removes instance dirs left behind by test binaries that died
// without running their cleanups (e.g. killed by a "go test" timeout; their
// Dovecot got SIGTERM through Pdeathsig), unless a Dovecot still uses them.
func removeStale(root string) {
	dirs, _ := filepath.Glob(filepath.Join(root, dirPrefix+"*-*"))
	for _, dir := range dirs {
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), dirPrefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", pidStr)); err == nil {
			continue // owner still running
		}
		conf := filepath.Join(dir, "dovecot.conf")
		if len(findProcesses(func(cmdline string) bool { return strings.Contains(cmdline, conf) })) > 0 {
			continue
		}
		os.RemoveAll(dir)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// prepare creates the directory layout and the passwd-file.
func (d *Dovecot) prepare() error {
	// MkdirTemp makes the dir 0700; the dovecot user (auth, imap processes)
	// must be able to traverse it.
	if err := os.Chmod(d.Dir, 0o755); err != nil {
		return err
	}
	for _, p := range []string{d.baseDir, d.stateDir, d.mailRoot} {
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
	}
	// passwd-file is read by the auth process, which runs as dovecot.
	users := fmt.Sprintf("%s:{PLAIN}%s\n", d.User, d.Password)
	if err := os.WriteFile(d.usersPath, []byte(users), 0o644); err != nil {
		return err
	}
	if u := d.opts.OAuthIntrospection; u != "" {
		ext := strings.Join([]string{
			"introspection_mode = post",
			"introspection_url = " + u,
			"force_introspection = yes",
			"username_attribute = username",
			"active_attribute = active",
			"active_value = true",
			"",
		}, "\n")
		if err := os.WriteFile(d.oauthPath(), []byte(ext), 0o644); err != nil {
			return err
		}
	}
	if err := os.Mkdir(d.Home(), 0o700); err != nil {
		return err
	}
	return os.Chown(d.Home(), d.uid, d.gid)
}

// config renders dovecot.conf. It includes nothing from /etc/dovecot.
func (d *Dovecot) config() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Private test instance generated by mailfs/internal/testenv.")
	p("protocols = imap")
	p("listen = 127.0.0.1")
	p("instance_name = %s", d.instance)
	p("base_dir = %s", d.baseDir)
	p("state_dir = %s", d.stateDir)
	p("log_path = %s", d.logPath)
	p("auth_verbose = yes")
	p("verbose_proctitle = yes")
	p("ssl = no")
	p("disable_plaintext_auth = no")
	p("login_greeting = %s", d.greeting)
	p("# no artificial delay for failed logins in tests, and no growing auth")
	p("# penalty (anvil's anvil-auth-penalty socket is made unusable)")
	p("auth_failure_delay = 0")
	p("# login processes run as dovenull, auth/anvil/stats as dovecot (package users)")
	p("default_login_user = dovenull")
	p("default_internal_user = dovecot")
	p("default_internal_group = dovecot")
	p("# dovecot's uid is a system uid (<500, the default first_valid_uid)")
	p("first_valid_uid = %d", min(d.uid, 100))
	p("mail_location = maildir:%s/%%u", d.mailRoot)
	if d.opts.QuotaBytes > 0 {
		p("mail_plugins = quota")
		p("protocol imap {")
		p("  mail_plugins = $mail_plugins imap_quota")
		p("}")
		p("plugin {")
		p("  quota = maildir:User quota")
		p("  quota_rule = *:storage=%dB", d.opts.QuotaBytes)
		p("}")
	} else {
		p("mail_plugins =")
	}
	p("# imap_capability is left at its default (Dovecot's full list)")
	if d.opts.OAuthIntrospection != "" {
		p("auth_mechanisms = plain login xoauth2 oauthbearer")
		p("passdb {")
		p("  driver = oauth2")
		p("  mechanisms = xoauth2 oauthbearer")
		p("  args = %s", d.oauthPath())
		p("}")
	}
	p("passdb {")
	p("  driver = passwd-file")
	p("  args = scheme=PLAIN username_format=%%u %s", d.usersPath)
	p("}")
	p("userdb {")
	p("  driver = static")
	p("  args = uid=dovecot gid=dovecot home=%s/%%u", d.mailRoot)
	p("}")
	p("namespace inbox {")
	p("  inbox = yes")
	p("  separator = %s", d.opts.Separator)
	p("  prefix = %s", d.opts.Prefix)
	for _, mb := range []string{"Drafts", "Sent", "Junk", "Trash"} {
		if d.opts.NoSpecialUse {
			break
		}
		p("  mailbox %s {", mb)
		p("    special_use = \\%s", mb)
		p("    auto = no")
		p("  }")
	}
	p("}")
	p("service anvil {")
	p("  unix_listener anvil-auth-penalty {")
	p("    mode = 0")
	p("  }")
	p("}")
	p("# several mounts of one user at once (tests mount side by side)")
	p("mail_max_userip_connections = 40")
	p("# a mailbox of a million messages (bench --big-mailbox) needs more")
	p("# than the default 256 MB per imap process")
	p("service imap {")
	p("  vsz_limit = 4G")
	p("}")
	p("service imap-login {")
	p("  inet_listener imap {")
	p("    address = 127.0.0.1")
	p("    port = %d", d.port)
	p("  }")
	p("  inet_listener imaps {")
	p("    port = 0")
	p("  }")
	p("}")
	return b.String()
}

func (d *Dovecot) oauthPath() string { return filepath.Join(d.Dir, "oauth2.conf.ext") }

// Home returns the user's mail home (Maildir root): files written into
// <Home>/cur/ appear in INBOX, <Home>/.A.B/cur/ is mailbox "A/B".
func (d *Dovecot) Home() string { return filepath.Join(d.mailRoot, d.User) }

// LogFile returns the path of the dovecot log; print its tail (LogTail) in
// failure messages.
func (d *Dovecot) LogFile() string { return d.logPath }

// ConfigFile returns the path of the generated dovecot.conf.
func (d *Dovecot) ConfigFile() string { return d.confPath }

// LogTail returns the last n lines of the dovecot log plus anything the
// master wrote to stderr (config errors end up there), for error messages.
func (d *Dovecot) LogTail(n int) string {
	var out []string
	for _, f := range []string{d.stderrPath, d.logPath} {
		data, err := os.ReadFile(f)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		out = append(out, "--- "+f+" ---")
		out = append(out, lines...)
	}
	if len(out) == 0 {
		return "(dovecot log is empty)"
	}
	return strings.Join(out, "\n")
}

// Start starts the instance (again) on the same port with the same mail and
// waits until the port accepts connections and this instance's "* OK"
// greeting arrives. It is a no-op if the instance is already running.
func (d *Dovecot) Start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil {
		return nil
	}
	// base_dir holds only runtime state. A previous run leaves sockets
	// behind (a SIGKILLed master also a stale master.pid, which would stop
	// dovecot from starting if the pid got reused); a stale
	// anvil-auth-penalty socket makes the first login wait 5 s for it.
	if err := os.RemoveAll(d.baseDir); err != nil {
		return err
	}
	if err := os.Mkdir(d.baseDir, 0o755); err != nil {
		return err
	}
	// A SIGKILLed instance can leave Maildir dot-locks (dovecot-uidlist.lock)
	// that its successor waits up to minutes for, with every new session
	// stuck in SELECT. A real admin restart would be slower to notice;
	// tests clear them.
	filepath.WalkDir(d.mailRoot, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(e.Name(), ".lock") {
			os.Remove(p)
		}
		return nil
	})

	stderr, err := os.OpenFile(d.stderrPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer stderr.Close()
	cmd := exec.Command(dovecotBinary, "-F", "-c", d.confPath)
	cmd.Dir = d.Dir
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // own process group: Kill signals the whole instance
		Pdeathsig: syscall.SIGTERM, // shut down if the test binary dies
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting dovecot: %w", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	d.cmd, d.done = cmd, done

	deadline := start.Add(startTimeout)
	for {
		ok := d.greeted()
		if ok {
			return nil
		}
		select {
		case <-done:
			d.cmd, d.done = nil, nil
			return fmt.Errorf("dovecot exited during startup (%v):\n%s", cmd.ProcessState, d.LogTail(30))
		default:
		}
		if time.Now().After(deadline) {
			d.killLocked()
			return fmt.Errorf("dovecot did not greet on %s within %v:\n%s", d.Addr, startTimeout, d.LogTail(30))
		}
		time.Sleep(pollInterval)
	}
}

// greeted reports whether a connection to Addr gets this instance's greeting.
func (d *Dovecot) greeted() bool {
	c, err := net.DialTimeout("tcp", d.Addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "* OK") && strings.Contains(line, d.greeting)
}

func (d *Dovecot) pidFile() string { return filepath.Join(d.baseDir, "master.pid") }

// masterPID returns the pid from <base_dir>/master.pid if it names our
// child, else the pid of the child we started.
func (d *Dovecot) masterPID() int {
	pid := d.cmd.Process.Pid
	if data, err := os.ReadFile(d.pidFile()); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && p == pid {
			return p
		}
	}
	return pid
}

// Stop stops the instance by the pid in <base_dir>/master.pid (SIGTERM;
// Dovecot then stops all its processes), waits until the master and all
// processes of the instance are gone and the port is closed. Idempotent.
func (d *Dovecot) Stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return nil
	}
	pgid := d.cmd.Process.Pid
	if err := syscall.Kill(d.masterPID(), syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping dovecot: %w", err)
	}
	var errs []error
	select {
	case <-d.done:
	case <-time.After(stopTimeout):
		errs = append(errs, fmt.Errorf("dovecot master %d ignored SIGTERM for %v; killed it", pgid, stopTimeout))
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-d.done
	}
	d.cmd, d.done = nil, nil
	// Dovecot 2.3 only SIGQUITs (= close listeners) the imap processes on
	// shutdown, so logged-in sessions keep being served until their client
	// disconnects. Terminate them like a real server shutdown would.
	for _, p := range d.processes() {
		syscall.Kill(p, syscall.SIGTERM)
	}
	if err := d.waitGone(pgid, 2*time.Second); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Kill SIGKILLs the master and all its children (imap, imap-login, auth...
// processes of this instance), like a crash, and waits until they are gone.
// The mail stays; Start can bring the instance back. Idempotent.
func (d *Dovecot) Kill() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.killLocked()
}

func (d *Dovecot) killLocked() error {
	if d.cmd == nil {
		return nil
	}
	pgid := d.cmd.Process.Pid
	// The whole process group at once: the master cannot respawn anything.
	syscall.Kill(-pgid, syscall.SIGKILL)
	// Belt and braces: children that might have left the group.
	for _, p := range d.processes() {
		syscall.Kill(p, syscall.SIGKILL)
	}
	<-d.done
	d.cmd, d.done = nil, nil
	err := d.waitGone(pgid, 0)
	os.Remove(d.pidFile())
	return err
}

// waitGone waits until no live process of this instance is left and the
// port refuses connections; stragglers are SIGKILLed after grace.
func (d *Dovecot) waitGone(pgid int, grace time.Duration) error {
	start := time.Now()
	deadline := start.Add(grace + 5*time.Second)
	for {
		procs := d.processes()
		if len(procs) == 0 && !portOpen(d.Addr) {
			return nil
		}
		if time.Now().After(deadline) {
			if len(procs) > 0 {
				return fmt.Errorf("dovecot processes %v of instance %s still alive", procs, d.instance)
			}
			return fmt.Errorf("port %s still accepts connections after dovecot stopped", d.Addr)
		}
		if time.Since(start) >= grace {
			syscall.Kill(-pgid, syscall.SIGKILL)
			for _, p := range procs {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
		time.Sleep(pollInterval)
	}
}

func portOpen(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// processes returns the pids of live (non-zombie) processes belonging to
// this instance: the master (its command line names our config file) and
// the children (Dovecot titles them "dovecot-<instance_name>/<service>").
func (d *Dovecot) processes() []int {
	return findProcesses(func(cmdline string) bool {
		return strings.Contains(cmdline, d.confPath) || strings.Contains(cmdline, "dovecot-"+d.instance+"/")
	})
}

// leftoverProcesses returns live processes of any Dovecot instance started
// by this test binary.
func leftoverProcesses() []int {
	return findProcesses(func(cmdline string) bool {
		return strings.Contains(cmdline, "dovecot-"+instancePrefix)
	})
}

func findProcesses(match func(cmdline string) bool) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !match(string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i >= 0 && bytes.HasPrefix(stat[i+1:], []byte(" Z")) {
				continue // zombie: dead, only waiting to be reaped
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// cleanup runs at the end of the test: kill the instance (a graceful Stop
// costs over a second because the master always sleeps 1 s for its log
// process, and the mail is deleted anyway), report leftovers, show the log
// tail of a failed test, remove the dir.
func (d *Dovecot) cleanup(t testing.TB) {
	if err := d.Kill(); err != nil {
		t.Errorf("testenv: stopping Dovecot: %v", err)
	}
	if procs := d.processes(); len(procs) > 0 {
		t.Errorf("testenv: Dovecot instance %s left processes %v behind; killing them", d.instance, procs)
		for _, p := range procs {
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
	if t.Failed() {
		t.Logf("testenv: tail of Dovecot log of failed test:\n%s", d.LogTail(40))
	}
	if err := os.RemoveAll(d.Dir); err != nil {
		t.Errorf("testenv: %v", err)
	}
}

// WriteMaildirMessage delivers raw directly into the Maildir++ folder of
// mailbox (bypassing IMAP), the way another mail client on the server would:
// INBOX is <Home>/cur, "A/B" is <Home>/.A.B/cur (created with cur/new/tmp
// and a maildirfolder file if missing; non-ASCII names are stored in
// modified UTF-7 like Dovecot does). The file is named
// "<unix>.<unique>.<host>,S=<size>:2,<flags>" with mtime = date (Dovecot's
// INTERNALDATE) and owned by dovecot. flags are Maildir flag letters, e.g.
// "S" (\Seen), "FS", "RS", "T" (\Deleted), "D" (\Draft); a zero date means
// now. Dovecot notices the message at the next SELECT/NOOP/IDLE.
func (d *Dovecot) WriteMaildirMessage(mailbox string, raw []byte, flags string, date time.Time) error {
	if _, _, err := d.maildirFolder(mailbox); err != nil {
		return err
	}
	if _, err := maildirFlags(flags); err != nil {
		return err // before creating anything
	}
	folder, err := d.ensureMaildirFolder(mailbox)
	if err != nil {
		return err
	}
	return d.deliverMaildir(folder, raw, flags, date)
}

// MaildirMessage is one message for WriteMaildirMessages.
type MaildirMessage struct {
	Raw   []byte
	Flags string    // Maildir flag letters, as for WriteMaildirMessage
	Date  time.Time // INTERNALDATE; zero means now
}

// WriteMaildirMessages delivers many messages into mailbox like
// WriteMaildirMessage, but creates the folder once and writes with one
// goroutine per CPU: the way to build a corpus of thousands of messages.
// Dovecot assigns UIDs in file name order, i.e. by date (ties in any order).
func (d *Dovecot) WriteMaildirMessages(mailbox string, msgs []MaildirMessage) error {
	for i, m := range msgs {
		if _, err := maildirFlags(m.Flags); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	folder, err := d.ensureMaildirFolder(mailbox)
	if err != nil {
		return err
	}
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	for range max(1, min(runtime.GOMAXPROCS(0), 8)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(msgs) {
					return
				}
				if err := d.deliverMaildir(folder, msgs[i].Raw, msgs[i].Flags, msgs[i].Date); err != nil {
					errOnce.Do(func() { first = fmt.Errorf("message %d: %w", i, err) })
					next.Store(int64(len(msgs))) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// ensureMaildirFolder creates the Maildir++ folder of mailbox (cur, new,
// tmp, and maildirfolder for anything but INBOX), owned by dovecot, and
// returns its path.
func (d *Dovecot) ensureMaildirFolder(mailbox string) (string, error) {
	folder, isInbox, err := d.maildirFolder(mailbox)
	if err != nil {
		return "", err
	}
	if err := d.mkdirOwned(folder); err != nil {
		return "", err
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := d.mkdirOwned(filepath.Join(folder, sub)); err != nil {
			return "", err
		}
	}
	if !isInbox {
		mf := filepath.Join(folder, "maildirfolder")
		if _, err := os.Stat(mf); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(mf, nil, 0o600); err != nil {
				return "", err
			}
			if err := os.Chown(mf, d.uid, d.gid); err != nil {
				return "", err
			}
		}
	}
	return folder, nil
}

// deliverMaildir writes one message into folder/tmp and renames it into
// folder/cur.
func (d *Dovecot) deliverMaildir(folder string, raw []byte, flags string, date time.Time) error {
	fl, err := maildirFlags(flags)
	if err != nil {
		return err
	}
	if date.IsZero() {
		date = time.Now()
	}
	name := fmt.Sprintf("%d.%s.%s,S=%d:2,%s", date.Unix(), uniquePart(), maildirHost(), len(raw), fl)
	tmp := filepath.Join(folder, "tmp", name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(raw)
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err == nil {
		err = os.Chown(tmp, d.uid, d.gid)
	}
	if err == nil {
		err = os.Chtimes(tmp, date, date)
	}
	if err == nil {
		// Atomic delivery: the message appears in cur/ complete or not at all.
		err = os.Rename(tmp, filepath.Join(folder, "cur", name))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing maildir message: %w", err)
	}
	return nil
}

// maildirFolder maps an IMAP mailbox name (separator "/") to its Maildir++
// directory.
func (d *Dovecot) maildirFolder(mailbox string) (dir string, isInbox bool, err error) {
	if strings.EqualFold(mailbox, "INBOX") {
		return d.Home(), true, nil
	}
	parts := strings.Split(mailbox, "/")
	for i, part := range parts {
		if part == "" {
			return "", false, fmt.Errorf("invalid mailbox name %q: empty component", mailbox)
		}
		if i == 0 && strings.EqualFold(part, "INBOX") {
			part = "INBOX" // Dovecot stores INBOX children as .INBOX.x
		}
		if strings.ContainsAny(part, ".\x00") || strings.ContainsFunc(part, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			// With Maildir++ layout and separator "/", Dovecot itself
			// rejects '.' ("Character not allowed in mailbox name").
			return "", false, fmt.Errorf("invalid mailbox name %q: '.' and control characters cannot be stored in Maildir++", mailbox)
		}
		parts[i] = encodeMUTF7(part)
	}
	return filepath.Join(d.Home(), "."+strings.Join(parts, ".")), false, nil
}

func (d *Dovecot) mkdirOwned(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return os.Chown(dir, d.uid, d.gid)
}

// maildirFlags validates, sorts and deduplicates Maildir info flags
// (uppercase: standard flags; lowercase: Dovecot keywords).
func maildirFlags(flags string) (string, error) {
	var fl []byte
	for i := 0; i < len(flags); i++ {
		c := flags[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return "", fmt.Errorf("invalid maildir flag %q in %q", c, flags)
		}
		if bytes.IndexByte(fl, c) < 0 {
			fl = append(fl, c)
		}
	}
	sort.Slice(fl, func(i, j int) bool { return fl[i] < fl[j] })
	return string(fl), nil
}

var uniqueSeq atomic.Int64

// uniquePart is the middle part of a Maildir file name, in Dovecot's style:
// M<microseconds>P<pid>Q<sequence>R<random>.
func uniquePart() string {
	return fmt.Sprintf("M%06dP%dQ%dR%s", time.Now().Nanosecond()/1000, os.Getpid(), uniqueSeq.Add(1), randomHex(4))
}

// maildirHost is the host part of a Maildir file name, with the characters
// that have a meaning in Maildir names ('/', ':', ',') escaped.
func maildirHost() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	r := strings.NewReplacer("/", `\057`, ":", `\072`, ",", `\054`)
	return r.Replace(h)
}

// mutf7Encoding is the modified BASE64 of IMAP's modified UTF-7 (RFC 3501
// 5.1.3): ',' instead of '/', no padding.
var mutf7Encoding = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// encodeMUTF7 encodes a mailbox name component in modified UTF-7, which is
// how Dovecot names Maildir++ folders on disk.
func encodeMUTF7(s string) string {
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		buf := make([]byte, 0, 2*len(u))
		for _, c := range u {
			buf = append(buf, byte(c>>8), byte(c))
		}
		b.WriteByte('&')
		b.WriteString(mutf7Encoding.EncodeToString(buf))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case 0x20 <= r && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			run = append(run, r)
		}
	}
	flush()
	return b.String()
}

// KillSessions kills (SIGKILL) the imap processes serving this instance's
// logged-in connections, not the server: each client sees its connection
// closed while the server keeps accepting new ones. It returns how many
// were killed.
func (d *Dovecot) KillSessions() int {
	pids := findProcesses(func(cmdline string) bool {
		return strings.Contains(cmdline, "dovecot-"+d.instance+"/imap ") || strings.HasPrefix(cmdline, "dovecot-"+d.instance+"/imap [")
	})
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	return len(pids)
}
