package demoserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/internal/sample"
)

// seedDialTimeout bounds the TCP connect when ctx has no deadline.
const seedDialTimeout = 10 * time.Second

// Seed creates mailboxes and APPENDs messages (with their flags and Date as
// INTERNALDATE) over IMAP to the server at addr, without TLS, logging in with
// LOGIN user/pass and logging out at the end. It works against any IMAP4rev1
// server (the in-memory server of this package, Dovecot, ...).
//
// Mailbox names use "/" as hierarchy delimiter; if the server uses another
// delimiter (e.g. "."), "/" is translated to it. Mailboxes that already exist
// (such as INBOX) are left alone; CREATE failures with ALREADYEXISTS are
// ignored. Messages whose mailbox is not in mailboxes are still appended (the
// mailbox must then exist).
//
// Commands are pipelined: all CREATEs are sent before waiting for their
// replies, then all APPENDs. Messages larger than 4 KiB still need one round
// trip each (imapclient always uses synchronising literals above 4096 bytes).
//
// Cancelling ctx aborts the operation by closing the connection.
func Seed(ctx context.Context, addr, user, pass string, mailboxes []string, msgs []sample.Message) (err error) {
	dialer := net.Dialer{Timeout: seedDialTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	c := imapclient.New(conn, nil)
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer func() {
		if !stop() && err != nil {
			err = errors.Join(ctx.Err(), err)
		}
	}()

	if err := c.WaitGreeting(); err != nil {
		return fmt.Errorf("seed: greeting: %w", err)
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		return fmt.Errorf("seed: LOGIN: %w", err)
	}

	// Hierarchy delimiter and existing mailboxes, pipelined.
	delimCmd := c.List("", "", nil)
	existingCmd := c.List("", "*", nil)
	delimData, err := delimCmd.Collect()
	if err != nil {
		return fmt.Errorf("seed: LIST delimiter: %w", err)
	}
	existingData, err := existingCmd.Collect()
	if err != nil {
		return fmt.Errorf("seed: LIST: %w", err)
	}
	delim := '/'
	if len(delimData) > 0 && delimData[0].Delim != 0 {
		delim = delimData[0].Delim
	}
	serverName := func(name string) string {
		if strings.EqualFold(name, "INBOX") {
			return "INBOX"
		}
		if delim != '/' {
			return strings.ReplaceAll(name, "/", string(delim))
		}
		return name
	}
	existing := make(map[string]bool, len(existingData))
	for _, d := range existingData {
		existing[d.Mailbox] = true
		if strings.EqualFold(d.Mailbox, "INBOX") {
			existing["INBOX"] = true
		}
	}

	// CREATE, pipelined.
	type pending struct {
		name string
		cmd  *imapclient.Command
	}
	var creates []pending
	for _, mb := range mailboxes {
		name := serverName(mb)
		if existing[name] {
			continue
		}
		existing[name] = true // guard against duplicates in mailboxes
		creates = append(creates, pending{name, c.Create(name, nil)})
	}
	var errs []error
	for _, p := range creates {
		if err := p.cmd.Wait(); err != nil && !isAlreadyExists(err) {
			errs = append(errs, fmt.Errorf("seed: CREATE %q: %w", p.name, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	// APPEND, pipelined.
	appends := make([]*imapclient.AppendCommand, 0, len(msgs))
	for i, m := range msgs {
		opts := &imap.AppendOptions{Time: m.Date}
		for _, f := range m.Flags {
			opts.Flags = append(opts.Flags, imap.Flag(f))
		}
		cmd := c.Append(serverName(m.Mailbox), int64(len(m.Raw)), opts)
		_, werr := cmd.Write(m.Raw)
		cerr := cmd.Close()
		if werr == nil {
			werr = cerr
		}
		if werr != nil {
			// The literal was rejected or the connection failed; report the
			// server's reply if there is one.
			if _, err := cmd.Wait(); err != nil {
				werr = err
			}
			return fmt.Errorf("seed: APPEND message %d to %q: %w", i, m.Mailbox, werr)
		}
		appends = append(appends, cmd)
	}
	for i, cmd := range appends {
		if _, err := cmd.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("seed: APPEND message %d to %q: %w", i, msgs[i].Mailbox, err))
			if len(errs) >= 5 {
				break
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	if err := c.Logout().Wait(); err != nil {
		return fmt.Errorf("seed: LOGOUT: %w", err)
	}
	return nil
}
