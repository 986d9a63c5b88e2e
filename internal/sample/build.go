package sample

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"time"
	"unicode/utf8"
)

// This file holds the small MIME toolkit used to assemble the sample
// messages. Everything is written with "\n" line breaks and converted to CRLF
// once, when a message is finished (see builder.add).

// rfc5322Date is the layout of the Date header field.
const rfc5322Date = "Mon, 02 Jan 2006 15:04:05 -0700"

// at parses "2006-01-02 15:04:05 -0700" into a time in a fixed zone (UTC for
// +0000). It never depends on the local time zone of the machine.
func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05 -0700", s)
	if err != nil {
		panic(fmt.Sprintf("sample: bad date %q: %v", s, err))
	}
	_, off := t.Zone()
	if off == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", off))
}

// crlf converts every line break of s to CRLF.
func crlf(s string) []byte {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// qp encodes s as quoted-printable text (line breaks are hard breaks).
func qp(s string) string {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	if _, err := w.Write([]byte(s)); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	out := strings.ReplaceAll(buf.String(), "\r\n", "\n")
	if !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return out
}

// b64 encodes data as base64 wrapped at 76 columns.
func b64(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var sb strings.Builder
	sb.Grow(len(enc) + len(enc)/76 + 1)
	for len(enc) > 76 {
		sb.WriteString(enc[:76])
		sb.WriteByte('\n')
		enc = enc[76:]
	}
	sb.WriteString(enc)
	sb.WriteByte('\n')
	return sb.String()
}

// qSafe reports whether b can appear unencoded in a Q-encoded word used as a
// phrase (the most restrictive context of RFC 2047, section 5).
func qSafe(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	case b == '!' || b == '*' || b == '+' || b == '-' || b == '/':
		return true
	}
	return false
}

// maxWord is the maximum length of one encoded word we emit, chosen so that
// "Subject: " plus one word stays below 78 columns.
const maxWord = 66

// encodeWords encodes UTF-8 text s as RFC 2047 encoded words using encoding
// 'Q' or 'B'. Long texts are split on rune boundaries into several words
// separated by folding whitespace.
func encodeWords(enc byte, s string) string {
	prefix := "=?UTF-8?" + string(enc) + "?"
	var words []string
	var cur []byte // raw bytes of the current word
	encLen := func(raw []byte) int {
		if enc == 'B' {
			return base64.StdEncoding.EncodedLen(len(raw))
		}
		n := 0
		for _, b := range raw {
			if qSafe(b) || b == ' ' {
				n++
			} else {
				n += 3
			}
		}
		return n
	}
	encode := func(raw []byte) string {
		if enc == 'B' {
			return prefix + base64.StdEncoding.EncodeToString(raw) + "?="
		}
		var sb strings.Builder
		sb.WriteString(prefix)
		for _, b := range raw {
			switch {
			case b == ' ':
				sb.WriteByte('_')
			case qSafe(b):
				sb.WriteByte(b)
			default:
				fmt.Fprintf(&sb, "=%02X", b)
			}
		}
		sb.WriteString("?=")
		return sb.String()
	}
	for len(s) > 0 {
		_, size := utf8.DecodeRuneInString(s)
		next := append(append([]byte(nil), cur...), s[:size]...)
		if len(cur) > 0 && len(prefix)+encLen(next)+2 > maxWord {
			words = append(words, encode(cur))
			cur = nil
			continue
		}
		cur = next
		s = s[size:]
	}
	if len(cur) > 0 {
		words = append(words, encode(cur))
	}
	return strings.Join(words, "\n ")
}

// qw returns s as Q-encoded words (=?UTF-8?Q?...?=).
func qw(s string) string { return encodeWords('Q', s) }

// bw returns s as B-encoded words (=?UTF-8?B?...?=).
func bw(s string) string { return encodeWords('B', s) }

// addr formats a mailbox address, encoding the display name when needed.
func addr(name, email string) string {
	if name == "" {
		return "<" + email + ">"
	}
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			return qw(name) + " <" + email + ">"
		}
	}
	if strings.ContainsAny(name, `()<>[]:;@\,."`) {
		name = `"` + strings.ReplaceAll(name, `"`, `\"`) + `"`
	}
	return name + " <" + email + ">"
}

// fold folds a long unstructured header field at spaces so that no line is
// longer than about 76 characters. The result is "Name: value" with "\n "
// continuation lines.
func fold(name, value string) string {
	line := name + ":"
	var sb strings.Builder
	for _, word := range strings.Fields(value) {
		if len(line)+1+len(word) > 76 && len(line) > len(name)+1 {
			sb.WriteString(line)
			sb.WriteString("\n")
			line = ""
		}
		line += " " + word
	}
	sb.WriteString(line)
	return sb.String()
}

// part renders a MIME entity from header lines and a body.
func part(body string, header ...string) string {
	return strings.Join(header, "\n") + "\n\n" + body
}

// multipart renders the body of a multipart entity. The preamble may be
// empty.
func multipart(boundary, preamble string, parts ...string) string {
	var sb strings.Builder
	if preamble != "" {
		sb.WriteString(preamble)
		sb.WriteString("\n\n")
	}
	for _, p := range parts {
		sb.WriteString("--" + boundary + "\n")
		sb.WriteString(strings.TrimRight(p, "\n"))
		sb.WriteString("\n")
	}
	sb.WriteString("--" + boundary + "--\n")
	return sb.String()
}

const mimePreamble = "This is a multi-part message in MIME format."

// Frequently used content header blocks.
const (
	ctPlainASCII = "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit"
	ctPlainUTF8  = "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable"
	ctHTMLUTF8   = "Content-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable"
)

// builder accumulates messages.
type builder struct {
	msgs []Message
}

// add appends a message. header holds the header fields (without Date, which
// is generated from date and inserted first). The INTERNALDATE is the Date
// plus a small deterministic delivery delay; every other message has its
// INTERNALDATE expressed in UTC.
func (b *builder) add(mailbox string, flags []string, date time.Time, header []string, body string) {
	n := len(b.msgs)
	delay := time.Duration(3+(n*17)%55) * time.Second
	internal := date.Add(delay)
	if n%2 == 1 {
		internal = internal.UTC()
	}
	raw := "Date: " + date.Format(rfc5322Date) + "\n" + strings.Join(header, "\n") + "\n\n" + body
	if !strings.HasSuffix(raw, "\n") {
		raw += "\n"
	}
	b.msgs = append(b.msgs, Message{
		Mailbox: mailbox,
		Flags:   append([]string(nil), flags...),
		Date:    internal,
		Raw:     crlf(raw),
	})
}
