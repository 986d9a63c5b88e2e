package mail

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	for in, want := range map[string]string{
		``:                          ``,
		`\Seen`:                     `\Seen`,
		` \seen   \FLAGGED $Label1`: `\Seen \Flagged $Label1`,
		`\Seen \seen`:               `\Seen`,
		`\Answered \Draft Junk`:     `\Answered \Draft Junk`,
	} {
		got, err := ParseFlags(in)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("ParseFlags(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`\Deleted`, `\Recent`, `\Bogus`, `a(b`, `a"b`, `a%b`, `a*b`, `a]b`, "a\x01b", "caf\xc3\xa9", strings.Repeat("k", 101)} {
		if got, err := ParseFlags(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseFlags(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestPrepareMessage(t *testing.T) {
	good := "From: a@b\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\nbody\r\n"
	b, subject, err := PrepareMessage([]byte(good))
	if err != nil || string(b) != good || subject != "Grüße" {
		t.Errorf("good message: %q %q %v", b, subject, err)
	}
	b, _, err = PrepareMessage([]byte("From: a@b\nSubject: lf\n\nline1\nline2\r\n"))
	if err != nil || string(b) != "From: a@b\r\nSubject: lf\r\n\r\nline1\r\nline2\r\n" {
		t.Errorf("LF message: %q %v", b, err)
	}
	for _, ok := range []string{"From: a@b\r\nSubject: header only\r\n", "From: a@b\n\nbody without a line end"} {
		if _, _, err := PrepareMessage([]byte(ok)); err != nil {
			t.Errorf("PrepareMessage(%q) = %v, want a message", ok, err)
		}
	}
	// Cut short in the header (truncate -s 10 of a message, found by a
	// breaking session: it was stored in place of the message).
	for _, bad := range []string{"", "hello world\n", "just text without any header line\r\n\r\nbody", "\r\nbody only",
		"From: a@b.", "From: a@b\r\nSubject: cut sh"} {
		if _, _, err := PrepareMessage([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("PrepareMessage(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
