package fs_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// peek is a second IMAP client, independent of the mount, that tests use
// to check what really happened on the server.
type peek struct {
	t testing.TB
	c *imapclient.Client
}

type peekMsg struct {
	UID   uint32
	Flags string // sorted, lower-case (go-imap's memserver lower-cases keywords)
	Date  time.Time
	Body  []byte
}

func (s *server) peek(t testing.TB) *peek {
	t.Helper()
	c, err := imapclient.DialInsecure(s.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(s.user, s.pass).Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Logout().Wait(); c.Close() })
	return &peek{t: t, c: c}
}

// mailboxes lists mailbox names (selectable or not).
func (p *peek) mailboxes() map[string]bool {
	p.t.Helper()
	list, err := p.c.List("", "*", nil).Collect()
	if err != nil {
		p.t.Fatal(err)
	}
	out := map[string]bool{}
	for _, l := range list {
		out[l.Mailbox] = true
	}
	return out
}

// messages returns every message of a mailbox with flags, date and body.
func (p *peek) messages(mailbox string) []peekMsg {
	p.t.Helper()
	if _, err := p.c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		p.t.Fatalf("select %s: %v", mailbox, err)
	}
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := p.c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1}}, &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		p.t.Fatal(err)
	}
	var out []peekMsg
	for _, b := range bufs {
		out = append(out, peekMsg{UID: uint32(b.UID), Flags: flagString(b.Flags), Date: b.InternalDate, Body: b.FindBodySection(section)})
	}
	if err := p.c.Unselect().Wait(); err != nil {
		p.t.Fatal(err)
	}
	return out
}

// find returns the message of mailbox whose Message-ID is id.
func (p *peek) find(mailbox, id string) (peekMsg, bool) {
	for _, m := range p.messages(mailbox) {
		if messageIDOf(m.Body) == id {
			return m, true
		}
	}
	return peekMsg{}, false
}

// setFlags stores flags on a message (another client's action).
func (p *peek) setFlags(mailbox string, uid uint32, flags ...imap.Flag) {
	p.t.Helper()
	if _, err := p.c.Select(mailbox, nil).Wait(); err != nil {
		p.t.Fatal(err)
	}
	if err := p.c.Store(imap.UIDSetNum(imap.UID(uid)), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close(); err != nil {
		p.t.Fatal(err)
	}
	if err := p.c.Unselect().Wait(); err != nil {
		p.t.Fatal(err)
	}
}

func flagString(flags []imap.Flag) string {
	var fl []string
	for _, f := range flags {
		if strings.EqualFold(string(f), `\Recent`) {
			continue
		}
		fl = append(fl, strings.ToLower(string(f)))
	}
	sort.Strings(fl)
	return strings.Join(fl, " ")
}

// await waits until a message with Message-ID id is in mailbox: files
// are stored once their last descriptor is closed, just after close(2)
// returns.
func (p *peek) await(t testing.TB, mailbox, id string) peekMsg {
	t.Helper()
	var got peekMsg
	eventually(t, 20*time.Second, id+" stored in "+mailbox, func() error {
		var ok bool
		if got, ok = p.find(mailbox, id); !ok {
			return fmt.Errorf("not on the server")
		}
		return nil
	})
	return got
}
