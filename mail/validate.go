package mail

import (
	"bufio"
	"bytes"
	"fmt"
	"mime"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

var subjectDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// MaxMessageBytes bounds a file written into the mount (it lives in memory
// until it is appended).
const MaxMessageBytes = 256 << 20

// PrepareMessage checks that b is an RFC 5322 message (a header of at
// least one field, parsed by go-message, whose every line ends, then
// optionally a body) and returns it with bare LF line endings turned into
// CRLF, as IMAP requires, plus its decoded subject. Anything else is
// ErrInvalid: a file cut short in its header (truncate -s 10) is not
// stored in place of the message it was.
func PrepareMessage(b []byte) ([]byte, string, error) {
	if len(b) == 0 {
		return nil, "", fmt.Errorf("%w: empty file is not a message", ErrInvalid)
	}
	b = toCRLF(b)
	hdr, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		return nil, "", fmt.Errorf("%w: not an RFC 5322 message: %v", ErrInvalid, err)
	}
	if hdr.Len() == 0 {
		return nil, "", fmt.Errorf("%w: not an RFC 5322 message: no header fields", ErrInvalid)
	}
	if !bytes.Contains(b, []byte("\r\n\r\n")) && !bytes.HasSuffix(b, []byte("\r\n")) {
		return nil, "", fmt.Errorf("%w: not an RFC 5322 message: its header ends in the middle of a line (cut short?)", ErrInvalid)
	}
	subject := hdr.Get("Subject")
	if dec, err := subjectDecoder.DecodeHeader(subject); err == nil {
		subject = dec
	}
	return b, subject, nil
}

// toCRLF turns every LF not preceded by CR into CRLF.
func toCRLF(b []byte) []byte {
	bare := 0
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			bare++
		}
	}
	if bare == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+bare)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
