package imapback

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		in   error
		want error
	}{
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists}, ErrExists},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent}, ErrNotFound},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate}, ErrNotFound},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNoPerm}, ErrDenied},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota}, ErrQuota},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed}, ErrAuth},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot}, ErrInvalid},
		{&imap.Error{Type: imap.StatusResponseTypeBad, Text: "syntax"}, ErrInvalid},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Text: "something odd"}, ErrRefused},
		{io.ErrUnexpectedEOF, ErrUnavailable},
		{errors.New("in response: bad literal"), ErrUnavailable},
	} {
		got := classify("OP", tc.in)
		if !errors.Is(got, tc.want) {
			t.Errorf("classify(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := classify("OP", context.Canceled); !errors.Is(got, context.Canceled) {
		t.Errorf("context.Canceled became %v", got)
	}
	// The server's text is kept for the log.
	got := classify("APPEND", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "mailbox full"})
	if want := "mailbox full"; !strings.Contains(got.Error(), want) {
		t.Errorf("%q lacks the server text %q", got, want)
	}
}

func TestParseURL(t *testing.T) {
	for raw, want := range map[string]Endpoint{
		"imaps://alice@imap.example.com":               {ImplicitTLS, "imap.example.com", "993", "alice"},
		"imap://bob@mail.example.org:1143":             {StartTLS, "mail.example.org", "1143", "bob"},
		"imap+insecure://carol@127.0.0.1:10143":        {Insecure, "127.0.0.1", "10143", "carol"},
		"imaps://alice%40example.com@imap.example.com": {ImplicitTLS, "imap.example.com", "993", "alice@example.com"},
		"IMAPS://dave@[::1]:993":                       {ImplicitTLS, "::1", "993", "dave"},
	} {
		got, err := ParseURL(raw)
		if err != nil || got != want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, raw := range []string{
		"http://alice@example.com", "imaps://example.com", "imaps://alice:hunter2@example.com",
		"imaps://alice@", "imaps://alice@example.com/INBOX", "imaps://alice@example.com?x=1", "::",
	} {
		_, err := ParseURL(raw)
		if err == nil {
			t.Errorf("ParseURL(%q) accepted", raw)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error echoes the password: %v", err)
		}
	}
	if e, _ := ParseURL("imap+insecure://a@localhost"); !e.IsLoopback() {
		t.Error("localhost is loopback")
	}
	if e, _ := ParseURL("imap+insecure://a@mail.example.com"); e.IsLoopback() {
		t.Error("mail.example.com is not loopback")
	}
}

func TestRedactor(t *testing.T) {
	var out bytes.Buffer
	r := newRedactor(&out, "s3cret")
	r.Write([]byte("A1 CAPABILITY\r\n"))
	r.mute(true)
	r.Write([]byte("A2 LOGIN alice s3cret\r\n"))
	r.Write([]byte("A2 OK\r\n"))
	r.mute(false)
	r.Write([]byte("A3 NOOP s3cret\r\n"))
	got := out.String()
	if strings.Contains(got, "s3cret") || strings.Contains(got, "LOGIN") {
		t.Fatalf("trace leaks credentials: %q", got)
	}
	if !strings.Contains(got, "A1 CAPABILITY") || !strings.Contains(got, "redacted") || !strings.Contains(got, "A3 NOOP <redacted>") {
		t.Fatalf("trace lost non-secret lines: %q", got)
	}
}
