package imapback

import (
	"bytes"
	"io"
	"sync"
)

// redactor is the --debug-imap writer. go-imap tees both directions of the
// raw stream into it. While a login is in progress everything is replaced
// by one placeholder line, and the password is masked wherever it would
// still appear, so credentials never reach the trace.
type redactor struct {
	mu       sync.Mutex // protects the following
	out      io.Writer
	secret   []byte
	muted    bool
	mutedOut bool // placeholder already written for this mute
}

func newRedactor(out io.Writer, secret string) *redactor {
	return &redactor{out: out, secret: []byte(secret)}
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
	if len(r.secret) > 0 && bytes.Contains(q, r.secret) {
		q = bytes.ReplaceAll(q, r.secret, []byte("<redacted>"))
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
