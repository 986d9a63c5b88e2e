package imapback

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"sync"
)

// redactor is the --debug-imap writer. go-imap tees both directions of the
// raw stream into it. While a login is in progress everything is replaced
// by one placeholder line, and the password is masked wherever it would
// still appear, so credentials never reach the trace.
type redactor struct {
	mu       sync.Mutex // protects the following
	out      io.Writer
	secrets  [][]byte // the password as it could appear on the wire
	muted    bool
	mutedOut bool // placeholder already written for this mute
}

// newRedactor masks the password of user: as is, as an IMAP quoted
// string (backslash and quote escaped), and as the base64 SASL PLAIN
// response that carries it.
func newRedactor(out io.Writer, user, secret string) *redactor {
	r := &redactor{out: out}
	if secret == "" {
		return r
	}
	quoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(secret)
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + secret))
	for _, v := range []string{secret, quoted, plain} {
		r.secrets = append(r.secrets, []byte(v))
	}
	return r
}

func (r *redactor) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.muted {
		if !r.mutedOut {
			r.mutedOut = true
			_, _ = r.out.Write([]byte("[mailfs: authentication exchange redacted]\r\n"))
		}
		return len(p), nil
	}
	q := p
	for _, v := range r.secrets {
		if bytes.Contains(q, v) {
			q = bytes.ReplaceAll(q, v, []byte("<redacted>"))
		}
	}
	if _, err := r.out.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}

// mute starts or ends redaction of everything (around authentication).
func (r *redactor) mute(on bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.muted, r.mutedOut = on, false
	r.mu.Unlock()
}
