// Package demoserver runs an in-memory IMAP server (go-imap's imapserver
// backed by imapmemserver) on the loopback interface. It is used by
// "mailfs demo" and by tests. It also provides Seed, which loads mailboxes
// and messages into any IMAP server over the wire.
package demoserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"mailfs/internal/sample"
)

// Default credentials.
const (
	DefaultUser     = "demo"
	DefaultPassword = "demo"
)

// Options configures Start.
type Options struct {
	User, Password string // defaults "demo" / "demo" when empty
	// Seed loads sample.Mailboxes() and sample.Messages() into the account.
	Seed bool
	// Caps is the capability set to advertise. Nil means DefaultCaps().
	// It must contain IMAP4rev1 or IMAP4rev2, and only capabilities the
	// memory backend supports (see DefaultCaps).
	Caps imap.CapSet
	// DebugWriter, if non-nil, receives a raw trace of all connections
	// (including credentials). Writes are serialised.
	DebugWriter io.Writer
	// Logger receives server-side error messages (e.g. internal errors while
	// handling a command). Nil discards them.
	Logger *log.Logger
	// Refuse, when set, is asked before every APPEND, CREATE, DELETE,
	// RENAME, COPY and MOVE: a non-nil answer is sent as the command's NO
	// (with or without a response code, as the error has it), so tests can
	// imitate a server over quota or one that answers without codes.
	Refuse func(cmd, mailbox string, size int64) *imap.Error
	// OAuth, when set, makes the server offer AUTH=XOAUTH2 and
	// AUTH=OAUTHBEARER, and decides whether a token is good for a user.
	OAuth func(user, token string) bool
	// Courier makes the server refuse an APPEND into the mailbox the
	// connection has EXAMINEd (NO "Current box is selected READ-ONLY."),
	// as Courier-IMAP does; Dovecot and Cyrus accept it.
	Courier bool
}

// DefaultCaps returns the capabilities advertised when Options.Caps is nil:
// IMAP4rev1 plus the extensions that imapserver implements on top of an
// imapmemserver session.
//
// imapserver adds on its own: SASL-IR, LITERAL- and AUTH=PLAIN before
// authentication; UNSELECT, ENABLE, IDLE and UTF8=ACCEPT after it.
//
// Deliberately left out: SPECIAL-USE and CREATE-SPECIAL-USE (imapmemserver
// ignores CREATE's USE option, so no mailbox ever has a special-use
// attribute), CHILDREN (no \HasChildren/\HasNoChildren attributes are
// produced), UNAUTHENTICATE (not implemented by the session; advertising it
// makes imapserver panic), APPENDLIMIT, and IMAP4rev2 (it works when added
// explicitly; the default stays an IMAP4rev1 server).
//
// MOVE is served by this package's own implementation (see session.Move)
// because imapmemserver's sends wrong EXPUNGE responses.
func DefaultCaps() imap.CapSet {
	return imap.CapSet{
		imap.CapIMAP4rev1:    {},
		imap.CapNamespace:    {},
		imap.CapUIDPlus:      {},
		imap.CapMove:         {},
		imap.CapLiteralPlus:  {},
		imap.CapESearch:      {},
		imap.CapSearchRes:    {},
		imap.CapListExtended: {},
		imap.CapListStatus:   {},
		imap.CapStatusSize:   {},
		imap.CapBinary:       {},
	}
}

// Server is a running in-memory IMAP server.
type Server struct {
	Addr    string                // "127.0.0.1:port"
	Mem     *imapmemserver.Server // the backend
	MemUser *imapmemserver.User   // the only account (add messages directly with MemUser.Append)
	Caps    imap.CapSet           // advertised capabilities (before imapserver's additions)

	// Username and Password are the effective credentials.
	Username, Password string

	srv       *imapserver.Server
	ln        net.Listener
	serveDone chan struct{}
	serveErr  error

	mu      sync.Mutex
	closing bool
	conns   map[*trackedConn]struct{}

	closeOnce sync.Once
	closeErr  error

	refuse  func(cmd, mailbox string, size int64) *imap.Error
	oauth   func(user, token string) bool
	courier bool
}

// Start listens on 127.0.0.1:0 and serves IMAP (plain text, LOGIN allowed
// without TLS) for a single user, optionally seeded with the sample account.
func Start(opts Options) (*Server, error) {
	user, pass := opts.User, opts.Password
	if user == "" {
		user = DefaultUser
	}
	if pass == "" {
		pass = DefaultPassword
	}
	caps := opts.Caps
	if caps == nil {
		caps = DefaultCaps()
	} else {
		caps = caps.Copy()
	}
	if !caps.Has(imap.CapIMAP4rev1) && !caps.Has(imap.CapIMAP4rev2) {
		return nil, errors.New("demoserver: Caps must contain IMAP4rev1 or IMAP4rev2")
	}
	if caps.Has(imap.CapUnauthenticate) {
		return nil, errors.New("demoserver: imapmemserver does not implement UNAUTHENTICATE")
	}

	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, pass)
	if err := u.Create("INBOX", nil); err != nil {
		return nil, fmt.Errorf("demoserver: creating INBOX: %w", err)
	}
	if opts.Seed {
		if err := seedMem(u, sample.Mailboxes(), sample.Messages()); err != nil {
			return nil, err
		}
	}
	mem.AddUser(u)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demoserver: %w", err)
	}

	s := &Server{
		Addr:      ln.Addr().String(),
		Mem:       mem,
		MemUser:   u,
		Caps:      caps,
		Username:  user,
		Password:  pass,
		serveDone: make(chan struct{}),
		conns:     make(map[*trackedConn]struct{}),
		refuse:    opts.Refuse,
		oauth:     opts.OAuth,
		courier:   opts.Courier,
	}
	s.ln = &trackingListener{Listener: ln, s: s}

	var logger imapserver.Logger = log.New(io.Discard, "", 0)
	if opts.Logger != nil {
		logger = opts.Logger
	}
	var debug io.Writer
	if opts.DebugWriter != nil {
		debug = &lockedWriter{w: opts.DebugWriter}
	}
	s.srv = imapserver.New(&imapserver.Options{
		NewSession:   s.newSession,
		Caps:         caps,
		Logger:       logger,
		InsecureAuth: true,
		DebugWriter:  debug,
	})

	go func() {
		defer close(s.serveDone)
		s.serveErr = s.srv.Serve(s.ln)
	}()
	return s, nil
}

// seedMem loads mailboxes and messages directly into a memory user.
func seedMem(u *imapmemserver.User, mailboxes []string, msgs []sample.Message) error {
	for _, name := range mailboxes {
		if err := u.Create(name, nil); err != nil && !isAlreadyExists(err) {
			return fmt.Errorf("demoserver: creating %q: %w", name, err)
		}
	}
	for i, m := range msgs {
		opts := &imap.AppendOptions{Time: m.Date}
		for _, f := range m.Flags {
			opts.Flags = append(opts.Flags, imap.Flag(f))
		}
		if _, err := u.Append(m.Mailbox, bytes.NewReader(m.Raw), opts); err != nil {
			return fmt.Errorf("demoserver: appending message %d to %q: %w", i, m.Mailbox, err)
		}
	}
	return nil
}

func isAlreadyExists(err error) bool {
	var imapErr *imap.Error
	return errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeAlreadyExists
}

// closeWait bounds how long Close waits for connection goroutines to exit.
const closeWait = 10 * time.Second

// Close stops listening, closes all connections and waits for their
// goroutines to finish. It is safe to call more than once (and
// concurrently); later calls return the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()

	// Stop accepting: Serve returns once Accept fails.
	err := s.ln.Close()
	<-s.serveDone

	// Close the sockets of the remaining connections, bypassing the
	// trackedConn wrapper: the wrapper's Close is reserved for imapserver's
	// own connection goroutine (see trackedConn).
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Conn.Close()
	}
	timeout := time.NewTimer(closeWait)
	defer timeout.Stop()
	for _, c := range conns {
		select {
		case <-c.done:
		case <-timeout.C:
			if err == nil {
				err = errors.New("demoserver: timed out waiting for connections to close")
			}
			return err
		}
	}

	// Nothing is left for imapserver to close; this just marks it closed.
	s.srv.Close()
	if s.serveErr != nil && err == nil {
		err = s.serveErr
	}
	return err
}

// newSession is imapserver's NewSession hook.
func (s *Server) newSession(conn *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	sess := &session{Session: s.Mem.NewSession(), refuse: s.refuse, srv: s}
	if tc, ok := conn.NetConn().(*trackedConn); ok {
		sess.conn = tc
	}
	return sess, nil, nil
}

// trackingListener registers every accepted connection with the server.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, done: make(chan struct{})}
	tc.untrack = func() { l.s.untrack(tc) }
	l.s.mu.Lock()
	closing := l.s.closing
	if !closing {
		l.s.conns[tc] = struct{}{}
	}
	l.s.mu.Unlock()
	if closing {
		c.Close()
		return nil, net.ErrClosed
	}
	return tc, nil
}

func (s *Server) untrack(tc *trackedConn) {
	s.mu.Lock()
	delete(s.conns, tc)
	s.mu.Unlock()
}

// trackedConn detects the end of imapserver's per-connection goroutine.
//
// That goroutine ends with, in this order: Session.Close, removal from the
// server's connection map, and net.Conn.Close. imapserver may close the
// net.Conn earlier too (BYE after an unknown command, Server.Close), but
// Session.Close is only ever called from the final deferred calls, so the
// first Close after Session.Close marks the goroutine as finished. Server.close
// never calls imapserver.Server.Close before all tracked connections are done,
// and closes sockets through the embedded Conn, not this wrapper.
type trackedConn struct {
	net.Conn
	done    chan struct{}
	untrack func()

	mu            sync.Mutex
	sessionClosed bool
	finished      bool
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.mu.Lock()
	finish := c.sessionClosed && !c.finished
	if finish {
		c.finished = true
	}
	c.mu.Unlock()
	if finish {
		c.untrack()
		close(c.done)
	}
	return err
}

func (c *trackedConn) markSessionClosed() {
	c.mu.Lock()
	c.sessionClosed = true
	c.mu.Unlock()
}

// session wraps an imapmemserver session to observe Close. It forwards the
// optional interfaces imapmemserver implements (NAMESPACE, MOVE) so that
// imapserver still sees them.
type session struct {
	imapserver.Session
	conn   *trackedConn // may be nil
	refuse func(cmd, mailbox string, size int64) *imap.Error
	srv    *Server
	// examined is the mailbox selected read-only ("" if none), for
	// Options.Courier.
	examined string
}

func (s *session) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	s.examined = ""
	data, err := s.Session.Select(mailbox, options)
	if err == nil && options != nil && options.ReadOnly {
		s.examined = mailbox
	}
	return data, err
}

func (s *session) Unselect() error {
	s.examined = ""
	return s.Session.Unselect()
}

// refused asks Options.Refuse about one command.
func (s *session) refused(cmd, mailbox string, size int64) error {
	if s.refuse == nil {
		return nil
	}
	if e := s.refuse(cmd, mailbox, size); e != nil {
		return e
	}
	return nil
}

func (s *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	if err := s.refused("APPEND", mailbox, r.Size()); err != nil {
		return nil, err
	}
	if s.srv.courier && s.examined != "" && s.examined == mailbox {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Current box is selected READ-ONLY."}
	}
	return s.Session.Append(mailbox, r, options)
}

func (s *session) Create(mailbox string, options *imap.CreateOptions) error {
	if err := s.refused("CREATE", mailbox, 0); err != nil {
		return err
	}
	return s.Session.Create(mailbox, options)
}

func (s *session) Delete(mailbox string) error {
	if err := s.refused("DELETE", mailbox, 0); err != nil {
		return err
	}
	return s.Session.Delete(mailbox)
}

func (s *session) Rename(mailbox, newName string, options *imap.RenameOptions) error {
	if err := s.refused("RENAME", mailbox, 0); err != nil {
		return err
	}
	return s.Session.Rename(mailbox, newName, options)
}

func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	if err := s.refused("COPY", dest, 0); err != nil {
		return nil, err
	}
	return s.Session.Copy(numSet, dest)
}

var _ imapserver.SessionIMAP4rev2 = (*session)(nil)

func (s *session) Close() error {
	err := s.Session.Close()
	if s.conn != nil {
		s.conn.markSessionClosed()
	}
	return err
}

func (s *session) Namespace() (*imap.NamespaceData, error) {
	ns, ok := s.Session.(imapserver.SessionNamespace)
	if !ok {
		return nil, errors.New("demoserver: NAMESPACE not supported")
	}
	return ns.Namespace()
}

// Move implements MOVE as COPY + STORE \Deleted (silent) + UID EXPUNGE of
// the copied messages, instead of calling imapmemserver's Move.
//
// imapmemserver's own Move (go-imap v2.0.0-beta.8) queues the expunges on the
// mailbox tracker and then also writes EXPUNGE responses itself, with
// sequence numbers already shifted by the queued updates: moving UID 1 out of
// a 16-message mailbox sends "* 2 EXPUNGE" followed by "* 1 EXPUNGE", so the
// client loses track of its sequence numbers. Here the expunges are only
// queued, and imapserver delivers them, correctly numbered, after the COPYUID
// response when it polls at the end of the command.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if err := s.refused("MOVE", dest, 0); err != nil {
		return err
	}
	data, err := s.Session.Copy(numSet, dest)
	if err != nil {
		return err
	}
	if data == nil || data.SourceUIDs.String() == "" {
		return nil // nothing matched
	}
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
	if err := s.Session.Store(nil, data.SourceUIDs, store, &imap.StoreOptions{}); err != nil {
		return err
	}
	uids := data.SourceUIDs
	if err := s.Session.Expunge(&imapserver.ExpungeWriter{}, &uids); err != nil {
		return err
	}
	return w.WriteCopyData(data)
}

// lockedWriter serialises writes from concurrent connections.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lockedWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}
