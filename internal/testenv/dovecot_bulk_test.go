package testenv

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// TestNewDovecot: the constructor for programs starts an instance that
// works like StartDovecot's, and Close stops it and removes its dir.
func TestNewDovecot(t *testing.T) {
	t.Parallel()
	_, missing := dovecotPrerequisites()
	Require(t, missing == "", "%s", missing)
	if _, err := NewDovecot(t.TempDir()); err == nil || !strings.Contains(err.Error(), "traverse") {
		t.Errorf("NewDovecot in a dir the dovecot user cannot traverse: %v, want an error", err)
	}
	d, err := NewDovecot("")
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			d.Close()
		}
	}()
	c := dial(t, d)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	if p := d.processes(); len(p) > 0 {
		t.Errorf("processes %v alive after Close", p)
	}
	if portOpen(d.Addr) {
		t.Error("port still open after Close")
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestDovecotWriteMaildirMessages(t *testing.T) {
	t.Parallel()
	d := StartDovecot(t)
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var msgs []MaildirMessage
	for i := range 500 {
		flags := ""
		if i%3 == 0 {
			flags = "S"
		}
		raw := fmt.Sprintf("From: a@example.org\r\nSubject: bulk %d\r\nMessage-Id: <bulk-%d@example.org>\r\n\r\nbody %d\r\n", i, i, i)
		msgs = append(msgs, MaildirMessage{Raw: []byte(raw), Flags: flags, Date: base.Add(time.Duration(i) * time.Minute)})
	}
	if err := d.WriteMaildirMessages("Bulk/Load", msgs); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteMaildirMessages("Bulk/Load", []MaildirMessage{{Raw: []byte("x"), Flags: "S:"}}); err == nil {
		t.Error("invalid flags accepted")
	}
	c := dial(t, d)
	got := fetchAll(t, c, "Bulk/Load")
	if len(got) != len(msgs) {
		t.Fatalf("%d messages, want %d", len(got), len(msgs))
	}
	// UIDs follow the dates.
	for i, m := range got {
		want := msgs[i]
		if string(body(m)) != string(want.Raw) || !m.InternalDate.Equal(want.Date) {
			t.Fatalf("message %d (UID %d): %q at %v, want %q at %v", i, m.UID, body(m), m.InternalDate, want.Raw, want.Date)
		}
		if seen := slices.Contains(m.Flags, imap.FlagSeen); seen != (want.Flags == "S") {
			t.Errorf("message %d: flags %v, want %q", i, m.Flags, want.Flags)
		}
	}
}
