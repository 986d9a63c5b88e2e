package imapback

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

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
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot}, ErrRefused},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit}, ErrRefused},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable}, ErrTryLater},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig}, ErrTooBig},
		// Without a code, the server's words decide.
		{&imap.Error{Type: imap.StatusResponseTypeNo, Text: "Quota exceeded (mailbox for user is full)"}, ErrQuota},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Text: "Permission denied"}, ErrDenied},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Text: "Mailbox already exists"}, ErrExists},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Text: "Mailbox doesn't exist: Foo"}, ErrNotFound},
		// A code wins over the words.
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "quota of names"}, ErrRefused},
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
	// A NO is a server that answered: never "server unavailable".
	for _, code := range []imap.ResponseCode{"", imap.ResponseCodeCannot, imap.ResponseCodeLimit, imap.ResponseCodeOverQuota, imap.ResponseCodeUnavailable} {
		got := classify("OP", &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: "no"})
		if errors.Is(got, ErrUnavailable) || strings.Contains(got.Error(), "unavailable") {
			t.Errorf("NO [%s] became %v", code, got)
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
	r := newRedactor(&out, "alice", "s3cret")
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

// Each layer of the redactor on its own: muting covers an AUTHENTICATE
// PLAIN exchange whatever it holds; masking (not muted) catches the
// password raw, as a quoted string with escapes, and inside the base64
// PLAIN response.
func TestRedactorLayers(t *testing.T) {
	const pw = `pa"ss\wörd`
	plain := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + pw))
	t.Run("mute", func(t *testing.T) {
		var out bytes.Buffer
		r := newRedactor(&out, "alice", "") // no secret known: muting alone
		r.mute(true)
		r.Write([]byte("A1 AUTHENTICATE PLAIN\r\n+ \r\n" + plain + "\r\nA1 OK\r\n"))
		r.mute(false)
		if got := out.String(); strings.Contains(got, plain) || strings.Contains(got, "AUTHENTICATE") || !strings.Contains(got, "redacted") {
			t.Fatalf("muted trace: %q", got)
		}
	})
	t.Run("mask", func(t *testing.T) {
		var out bytes.Buffer
		r := newRedactor(&out, "alice", pw)
		quoted := `"pa\"ss\\wörd"`
		for _, line := range []string{"A1 LOGIN alice " + quoted + "\r\n", plain + "\r\n", "A2 NOOP " + pw + "\r\n"} {
			r.Write([]byte(line))
		}
		got := out.String()
		for _, leak := range []string{pw, quoted[1 : len(quoted)-1], plain} {
			if strings.Contains(got, leak) {
				t.Errorf("trace holds %q: %q", leak, got)
			}
		}
		if strings.Count(got, "<redacted>") != 3 {
			t.Errorf("want three masked places: %q", got)
		}
	})
}

// TestGreetingTimeoutSaysUnavailableOnce: a server that accepts but never
// greets is "server unavailable" once in the error, not twice (found by
// a breaking session: "server unavailable: server unavailable: timed out").
func TestGreetingTimeoutSaysUnavailableOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent: no greeting
		}
	}()
	ep, err := ParseURL("imap+insecure://a@" + l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, err = Dial(context.Background(), Config{Endpoint: ep, Password: "x", Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("a silent server: %v, want a timeout", err)
	}
	if n := strings.Count(err.Error(), "server unavailable"); n != 1 {
		t.Errorf("%q says server unavailable %d times", err, n)
	}
}
