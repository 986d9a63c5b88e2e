package demoserver

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/internal/sample"
)

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t *testing.T, s *Server) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		t.Fatalf("DialInsecure: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func login(t *testing.T, s *Server) *imapclient.Client {
	t.Helper()
	c := dial(t, s)
	if err := c.Login(s.Username, s.Password).Wait(); err != nil {
		t.Fatalf("LOGIN: %v", err)
	}
	return c
}

func listAll(t *testing.T, c *imapclient.Client, pattern string) map[string]*imap.ListData {
	t.Helper()
	data, err := c.List("", pattern, nil).Collect()
	if err != nil {
		t.Fatalf("LIST %q: %v", pattern, err)
	}
	m := make(map[string]*imap.ListData, len(data))
	for _, d := range data {
		m[d.Mailbox] = d
	}
	return m
}

func byMailbox(msgs []sample.Message) map[string][]sample.Message {
	m := map[string][]sample.Message{}
	for _, msg := range msgs {
		m[msg.Mailbox] = append(m[msg.Mailbox], msg)
	}
	return m
}

// sameFlags compares flag lists as sets, case-insensitively: imapmemserver
// lowercases every flag it stores (`$Label3` comes back as `$label3`;
// imapclient only re-canonicalises well-known flags such as \Seen).
func sameFlags(got []imap.Flag, want []string) bool {
	norm := func(in []string) []string {
		out := make([]string, len(in))
		for i, f := range in {
			out[i] = strings.ToLower(f)
		}
		slices.Sort(out)
		return out
	}
	g := make([]string, len(got))
	for i, f := range got {
		g[i] = string(f)
	}
	return slices.Equal(norm(g), norm(want))
}

// checkMailbox selects mailbox (read-only) and compares its messages with
// want: raw bytes (BODY.PEEK[]), size, flags and INTERNALDATE.
func checkMailbox(t *testing.T, c *imapclient.Client, mailbox string, want []sample.Message) {
	t.Helper()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("SELECT %q: %v", mailbox, err)
	}
	if int(sel.NumMessages) != len(want) {
		t.Fatalf("SELECT %q: %d messages, want %d", mailbox, sel.NumMessages, len(want))
	}
	if len(want) == 0 {
		return
	}
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID:          true,
		Flags:        true,
		InternalDate: true,
		RFC822Size:   true,
		BodySection:  []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		t.Fatalf("FETCH in %q: %v", mailbox, err)
	}
	if len(msgs) != len(want) {
		t.Fatalf("FETCH in %q: %d messages, want %d", mailbox, len(msgs), len(want))
	}
	for i, m := range msgs {
		w := want[i]
		if body := m.FindBodySection(section); !bytes.Equal(body, w.Raw) {
			t.Errorf("%s #%d: BODY[] differs from sample (%d vs %d bytes)", mailbox, i+1, len(body), len(w.Raw))
		}
		if m.RFC822Size != int64(len(w.Raw)) {
			t.Errorf("%s #%d: RFC822.SIZE %d, want %d", mailbox, i+1, m.RFC822Size, len(w.Raw))
		}
		if !sameFlags(m.Flags, w.Flags) {
			t.Errorf("%s #%d: flags %v, want %v", mailbox, i+1, m.Flags, w.Flags)
		}
		if !m.InternalDate.Equal(w.Date) {
			t.Errorf("%s #%d: INTERNALDATE %v, want %v", mailbox, i+1, m.InternalDate, w.Date)
		}
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatalf("UNSELECT: %v", err)
	}
}

func TestSeededServer(t *testing.T) {
	s := start(t, Options{Seed: true})
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") {
		t.Errorf("Addr = %q, want loopback", s.Addr)
	}
	c := login(t, s)

	boxes := listAll(t, c, "*")
	for _, mb := range sample.Mailboxes() {
		d, ok := boxes[mb]
		if !ok {
			t.Errorf("LIST lacks %q", mb)
			continue
		}
		if slices.Contains(d.Attrs, imap.MailboxAttrNoSelect) {
			t.Errorf("%q is \\Noselect", mb)
		}
		if d.Delim != '/' {
			t.Errorf("%q: delimiter %q, want '/'", mb, d.Delim)
		}
	}
	if len(boxes) != len(sample.Mailboxes()) {
		t.Errorf("LIST returned %d mailboxes, want %d: %v", len(boxes), len(sample.Mailboxes()), boxes)
	}
	// The client must have decoded modified UTF-7 ("Re&AOc-us") to UTF-8.
	if _, ok := boxes["Reçus"]; !ok {
		t.Errorf("LIST did not return \"Reçus\" decoded as UTF-8")
	}
	if _, ok := boxes["Newsletters/Ünïcode Weekly"]; !ok {
		t.Errorf("LIST did not return \"Newsletters/Ünïcode Weekly\"")
	}
	// imapmemserver does not synthesise parents: "Archive" (never created)
	// is absent from LIST "*" and LIST "%" while "Archive/2025" exists.
	for _, pattern := range []string{"*", "%"} {
		top := listAll(t, c, pattern)
		if d, ok := top["Archive"]; ok {
			if !slices.Contains(d.Attrs, imap.MailboxAttrNoSelect) && !slices.Contains(d.Attrs, imap.MailboxAttrNonExistent) {
				t.Errorf("LIST %q: \"Archive\" is listed as selectable: %v", pattern, d.Attrs)
			}
			t.Logf("LIST %q: \"Archive\" listed with %v", pattern, d.Attrs)
		} else {
			t.Logf("LIST %q: \"Archive\" absent", pattern)
		}
	}
	if _, err := c.Select("Archive", nil).Wait(); err == nil {
		t.Errorf("SELECT Archive succeeded, want failure")
	}
	if _, ok := listAll(t, c, "Archive/%")["Archive/2025"]; !ok {
		t.Errorf("LIST Archive/%% lacks Archive/2025")
	}

	want := byMailbox(sample.Messages())
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatalf("SELECT INBOX: %v", err)
	}
	if int(sel.NumMessages) != len(want["INBOX"]) {
		t.Errorf("INBOX has %d messages, want %d", sel.NumMessages, len(want["INBOX"]))
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	for _, mb := range sample.Mailboxes() {
		checkMailbox(t, c, mb, want[mb])
	}
	// BODY.PEEK must not have set \Seen.
	checkMailbox(t, c, "INBOX", want["INBOX"])

	if err := c.Logout().Wait(); err != nil {
		t.Errorf("LOGOUT: %v", err)
	}
}

func TestWrongPassword(t *testing.T) {
	s := start(t, Options{User: "alice", Password: "s3cret"})
	for _, cred := range [][2]string{{"alice", "wrong"}, {"demo", "demo"}, {"alice", ""}} {
		c := dial(t, s)
		err := c.Login(cred[0], cred[1]).Wait()
		var imapErr *imap.Error
		if !errors.As(err, &imapErr) || imapErr.Type != imap.StatusResponseTypeNo {
			t.Errorf("LOGIN %q/%q: err = %v, want NO", cred[0], cred[1], err)
		} else if imapErr.Code != imap.ResponseCodeAuthenticationFailed {
			t.Errorf("LOGIN %q/%q: code %q, want AUTHENTICATIONFAILED", cred[0], cred[1], imapErr.Code)
		}
		c.Close()
	}
	c := dial(t, s)
	if err := c.Login("alice", "s3cret").Wait(); err != nil {
		t.Errorf("LOGIN with the right password: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	s := start(t, Options{})
	if s.Username != "demo" || s.Password != "demo" {
		t.Errorf("credentials %q/%q, want demo/demo", s.Username, s.Password)
	}
	c := login(t, s)
	boxes := listAll(t, c, "*")
	if len(boxes) != 1 || boxes["INBOX"] == nil {
		t.Errorf("unseeded server lists %v, want only INBOX", boxes)
	}

	if _, err := Start(Options{Caps: imap.CapSet{imap.CapMove: {}}}); err == nil {
		t.Errorf("Start accepted caps without IMAP4rev1")
	}
	if _, err := Start(Options{Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUnauthenticate: {}}}); err == nil {
		t.Errorf("Start accepted UNAUTHENTICATE")
	}
}

func TestCapabilities(t *testing.T) {
	s := start(t, Options{Seed: true})
	c := dial(t, s)
	if err := c.WaitGreeting(); err != nil {
		t.Fatal(err)
	}
	pre := c.Caps()
	for _, cp := range []imap.Cap{imap.CapIMAP4rev1, "AUTH=PLAIN", imap.CapSASLIR, imap.CapLiteralMinus} {
		if !pre.Has(cp) {
			t.Errorf("pre-auth caps lack %v: %v", cp, pre)
		}
	}
	if pre.Has(imap.CapLoginDisabled) {
		t.Errorf("LOGINDISABLED advertised")
	}
	if err := c.Login(s.Username, s.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	caps := c.Caps()
	t.Logf("capabilities after login: %v", sortedCaps(caps))
	for cp := range DefaultCaps() {
		if !caps.Has(cp) {
			t.Errorf("caps lack %v", cp)
		}
	}
	for _, cp := range []imap.Cap{imap.CapUnselect, imap.CapIdle, imap.CapEnable, imap.CapUTF8Accept} {
		if !caps.Has(cp) {
			t.Errorf("caps lack %v", cp)
		}
	}
	for _, cp := range []imap.Cap{imap.CapSpecialUse, imap.CapChildren, imap.CapIMAP4rev2, imap.CapCondStore} {
		if caps.Has(cp) {
			t.Errorf("caps unexpectedly include %v", cp)
		}
	}

	want := byMailbox(sample.Messages())

	// NAMESPACE
	ns, err := c.Namespace().Wait()
	if err != nil || len(ns.Personal) != 1 || ns.Personal[0].Delim != '/' {
		t.Errorf("NAMESPACE = %+v, %v", ns, err)
	}

	// STATUS=SIZE
	var inboxSize int64
	for _, m := range want["INBOX"] {
		inboxSize += int64(len(m.Raw))
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, Size: true, UIDNext: true, UIDValidity: true, NumUnseen: true}).Wait()
	if err != nil {
		t.Fatalf("STATUS: %v", err)
	}
	if *st.NumMessages != uint32(len(want["INBOX"])) || st.Size == nil || *st.Size != inboxSize || st.UIDValidity == 0 {
		t.Errorf("STATUS INBOX = messages %d size %v uidvalidity %d; want %d, %d", *st.NumMessages, st.Size, st.UIDValidity, len(want["INBOX"]), inboxSize)
	}

	// LIST-STATUS
	ls, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil {
		t.Fatalf("LIST RETURN (STATUS): %v", err)
	}
	for _, d := range ls {
		if d.Status == nil || d.Status.NumMessages == nil || int(*d.Status.NumMessages) != len(want[d.Mailbox]) {
			t.Errorf("LIST-STATUS %q: %+v", d.Mailbox, d.Status)
		}
	}

	// ESEARCH and body search.
	if _, err := c.Select("Work/Projects", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	sd, err := c.UIDSearch(&imap.SearchCriteria{Body: []string{sample.PlantedWord}}, &imap.SearchOptions{ReturnCount: true, ReturnAll: true}).Wait()
	if err != nil {
		t.Fatalf("UID SEARCH: %v", err)
	}
	if sd.Count != 1 || len(sd.AllUIDs()) != 1 {
		t.Errorf("SEARCH BODY PlantedWord: count %d, uids %v", sd.Count, sd.AllUIDs())
	}

	// BINARY: the decoded PNG of the large INBOX message.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	large := -1
	for i, m := range want["INBOX"] {
		if len(m.Raw) > 250*1024 {
			large = i
		}
	}
	bin := &imap.FetchItemBinarySection{Part: []int{2}, Peek: true}
	fm, err := c.Fetch(imap.SeqSetNum(uint32(large+1)), &imap.FetchOptions{
		BinarySection:     []*imap.FetchItemBinarySection{bin},
		BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: []int{2}}},
	}).Collect()
	if err != nil || len(fm) != 1 {
		t.Fatalf("FETCH BINARY: %v", err)
	}
	png := fm[0].FindBinarySection(bin)
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 250*1024 {
		t.Errorf("BINARY[2] is not the PNG (%d bytes)", len(png))
	}
	if n, ok := fm[0].FindBinarySectionSize([]int{2}); !ok || int(n) != len(png) {
		t.Errorf("BINARY.SIZE[2] = %d, %v; want %d", n, ok, len(png))
	}

	// ENABLE UTF8=ACCEPT: mailbox names are then sent as raw UTF-8.
	if _, err := c.Enable(imap.CapUTF8Accept).Wait(); err != nil {
		t.Fatalf("ENABLE: %v", err)
	}
	if _, ok := listAll(t, c, "*")["Reçus"]; !ok {
		t.Errorf("LIST after ENABLE UTF8=ACCEPT lacks Reçus")
	}
	if _, err := c.Select("Reçus", nil).Wait(); err != nil {
		t.Errorf("SELECT Reçus after ENABLE UTF8=ACCEPT: %v", err)
	}
}

func sortedCaps(caps imap.CapSet) []string {
	var l []string
	for cp := range caps {
		l = append(l, string(cp))
	}
	slices.Sort(l)
	return l
}

// TestMoveAndUIDPlus uses a writable copy of the sample.
func TestMoveAndUIDPlus(t *testing.T) {
	s := start(t, Options{Seed: true})
	c := login(t, s)
	want := byMailbox(sample.Messages())

	raw := []byte("From: a@example.com\r\nSubject: new\r\n\r\nhello\r\n")
	ap := c.Append("Work", int64(len(raw)), nil)
	ap.Write(raw)
	ap.Close()
	ad, err := ap.Wait()
	if err != nil || ad.UID == 0 || ad.UIDValidity == 0 {
		t.Fatalf("APPEND: %+v, %v (want APPENDUID)", ad, err)
	}

	// A second session watches INBOX while the first one moves a message.
	watcher := login(t, s)
	if _, err := watcher.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	md, err := c.Move(imap.UIDSetNum(1), "Trash").Wait()
	if err != nil {
		t.Fatalf("UID MOVE: %v", err)
	}
	if md.UIDValidity == 0 || md.DestUIDs == nil || md.DestUIDs.String() == "" {
		t.Errorf("MOVE: no COPYUID data: %+v", md)
	}
	if got, want := c.Mailbox().NumMessages, uint32(len(want["INBOX"])-1); got != want {
		t.Errorf("INBOX after MOVE: client counts %d messages, want %d (bogus EXPUNGE?)", got, want)
	}
	if err := watcher.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if got, want := watcher.Mailbox().NumMessages, uint32(len(want["INBOX"])-1); got != want {
		t.Errorf("INBOX after MOVE: other session counts %d messages, want %d", got, want)
	}
	// The remaining messages are UIDs 2..n, in order.
	fm, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range fm {
		if m.SeqNum != uint32(i+1) || m.UID != imap.UID(i+2) || slices.Contains(m.Flags, imap.FlagDeleted) {
			t.Errorf("after MOVE: seq %d uid %d flags %v", m.SeqNum, m.UID, m.Flags)
		}
	}
	// The moved message arrived in Trash, without \Deleted.
	st, err := c.Status("Trash", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || int(*st.NumMessages) != len(want["Trash"])+1 {
		t.Errorf("Trash after MOVE: %v, %v", st, err)
	}
	if _, err := c.Select("Trash", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	last := imap.SeqSetNum(uint32(len(want["Trash"]) + 1))
	section := &imap.FetchItemBodySection{Peek: true}
	fm, err = c.Fetch(last, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil || len(fm) != 1 {
		t.Fatalf("FETCH in Trash: %v", err)
	}
	if slices.Contains(fm[0].Flags, imap.FlagDeleted) || !bytes.Equal(fm[0].FindBodySection(section), want["INBOX"][0].Raw) {
		t.Errorf("moved message: flags %v, body intact %v", fm[0].Flags, bytes.Equal(fm[0].FindBodySection(section), want["INBOX"][0].Raw))
	}

	// MOVE of nothing and MOVE to a missing mailbox.
	if _, err := c.Move(imap.UIDSetNum(999), "Work").Wait(); err != nil {
		t.Errorf("MOVE of a missing UID: %v", err)
	}
	if _, err := c.Move(imap.SeqSetNum(1), "Nope").Wait(); err == nil {
		t.Errorf("MOVE to a missing mailbox succeeded")
	}
}

func TestSeedOverIMAP(t *testing.T) {
	s := start(t, Options{})
	mailboxes, msgs := sample.Mailboxes(), sample.Messages()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t0 := time.Now()
	if err := Seed(ctx, s.Addr, "demo", "demo", mailboxes, msgs); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	elapsed := time.Since(t0)
	t.Logf("seeded %d messages over IMAP in %v", len(msgs), elapsed)
	if elapsed > 5*time.Second {
		t.Errorf("Seed took %v", elapsed)
	}

	c := login(t, s)
	boxes := listAll(t, c, "*")
	if len(boxes) != len(mailboxes) {
		t.Errorf("after Seed, LIST returns %d mailboxes, want %d", len(boxes), len(mailboxes))
	}
	want := byMailbox(msgs)
	for _, mb := range mailboxes {
		checkMailbox(t, c, mb, want[mb])
	}

	// Seeding again into existing mailboxes works and appends again.
	if err := Seed(ctx, s.Addr, "demo", "demo", mailboxes, msgs[:3]); err != nil {
		t.Fatalf("second Seed: %v", err)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || int(*st.NumMessages) != len(want["INBOX"])+3 {
		t.Errorf("INBOX after second Seed: %v, %v", st, err)
	}
}

func TestSeedManyMessages(t *testing.T) {
	s := start(t, Options{})
	var msgs []sample.Message
	for round := 0; len(msgs) < 400; round++ {
		for _, m := range sample.Messages() {
			if len(m.Raw) > 100*1024 {
				continue // keep the test light
			}
			m.Date = m.Date.Add(time.Duration(round) * time.Hour)
			msgs = append(msgs, m)
		}
	}
	t0 := time.Now()
	if err := Seed(context.Background(), s.Addr, "demo", "demo", sample.Mailboxes(), msgs); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	t.Logf("seeded %d messages in %v", len(msgs), time.Since(t0))
	c := login(t, s)
	total := 0
	for _, d := range listAll(t, c, "*") {
		st, err := c.Status(d.Mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		total += int(*st.NumMessages)
	}
	if total != len(msgs) {
		t.Errorf("server holds %d messages, want %d", total, len(msgs))
	}
}

func TestSeedErrors(t *testing.T) {
	s := start(t, Options{})
	ctx := context.Background()
	if err := Seed(ctx, s.Addr, "demo", "nope", nil, nil); err == nil {
		t.Errorf("Seed with a wrong password succeeded")
	}
	msgs := []sample.Message{{Mailbox: "Missing", Raw: []byte("Subject: x\r\n\r\nx\r\n")}}
	if err := Seed(ctx, s.Addr, "demo", "demo", nil, msgs); err == nil {
		t.Errorf("Seed into a missing mailbox succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := Seed(cctx, s.Addr, "demo", "demo", sample.Mailboxes(), sample.Messages()); !errors.Is(err, context.Canceled) {
		t.Errorf("Seed with a cancelled context: %v", err)
	}
}

func TestCloseNoLeak(t *testing.T) {
	base := runtime.NumGoroutine()

	s, err := Start(Options{Seed: true})
	if err != nil {
		t.Fatal(err)
	}
	// Connections in various states: unauthenticated, selected, idling.
	var clients []*imapclient.Client
	unauth, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := unauth.WaitGreeting(); err != nil {
		t.Fatal(err)
	}
	clients = append(clients, unauth)
	selected := login(t, s)
	if _, err := selected.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	clients = append(clients, selected)
	idler := login(t, s)
	if _, err := idler.Select("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := idler.Idle()
	if err != nil {
		t.Fatal(err)
	}
	clients = append(clients, idler)
	// A raw connection that never reads the greeting.
	if c, err := imapclient.DialInsecure(s.Addr, nil); err == nil {
		clients = append(clients, c)
	}

	t0 := time.Now()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for i, c := range clients {
		select {
		case <-c.Closed():
		case <-time.After(5 * time.Second):
			t.Errorf("client %d not disconnected by Close", i)
		}
	}
	idle.Close()
	for _, c := range clients {
		c.Close()
	}
	if _, err := imapclient.DialInsecure(s.Addr, &imapclient.Options{}); err == nil {
		// The port may have been reused by another listener, but normally
		// the dial fails; only a successful greeting would be a problem.
		t.Logf("dial after Close succeeded (port reuse?)")
	}

	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, base, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDebugWriter(t *testing.T) {
	var buf safeBuffer
	s := start(t, Options{DebugWriter: &buf})
	c := login(t, s)
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	s.Close()
	if out := buf.String(); !strings.Contains(out, "LOGIN") || !strings.Contains(out, "NOOP") {
		t.Errorf("debug trace lacks LOGIN/NOOP:\n%s", out)
	}
}

type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestIMAP4rev2 checks that a custom capability set with IMAP4rev2 works
// (mailbox names are then sent as UTF-8 quoted strings).
func TestIMAP4rev2(t *testing.T) {
	caps := DefaultCaps()
	caps[imap.CapIMAP4rev2] = struct{}{}
	s := start(t, Options{Seed: true, Caps: caps})
	c := login(t, s)
	if !c.Caps().Has(imap.CapIMAP4rev2) {
		t.Fatalf("IMAP4rev2 not advertised: %v", sortedCaps(c.Caps()))
	}
	if _, err := c.Enable(imap.CapIMAP4rev2).Wait(); err != nil {
		t.Fatalf("ENABLE IMAP4rev2: %v", err)
	}
	boxes := listAll(t, c, "*")
	if _, ok := boxes["Reçus"]; !ok {
		t.Errorf("LIST lacks Reçus: %v", boxes)
	}
	want := byMailbox(sample.Messages())
	checkMailbox(t, c, "Reçus", want["Reçus"])
	checkMailbox(t, c, "Newsletters/Ünïcode Weekly", want["Newsletters/Ünïcode Weekly"])
}
