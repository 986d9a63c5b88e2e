package decode

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
	"github.com/emersion/go-message/charset"
)

// shownHeaders are the header fields the text view starts with.
var shownHeaders = []string{"From", "To", "Cc", "Date", "Subject"}

// Text renders a message as its reader sees it, in UTF-8: the main
// header fields decoded, a blank line, every text part decoded from its
// transfer encoding and charset (of a multipart/alternative the plain
// text, else the HTML as text; the HTML's text too when the plain one is
// a stub or lacks its words, see alternative), HTML-only parts as text,
// a forwarded message's headers and text, and one line per attachment
// (name, type, size). Undecodable parts are shown as they came, with a note.
func Text(raw []byte) []byte {
	var b bytes.Buffer
	b.Grow(textGuess(raw))
	w := &textWriter{b: &b}
	top := parse(raw)
	w.headers(top)
	b.WriteString("\n")
	parts := leaves(top, false)
	w.body(top, nil, parts)
	out := append(bytes.TrimRight(lf(b.Bytes()), "\n"), '\n')
	if cap(out)-len(out) > len(out)/4+4096 {
		out = bytes.Clone(out) // kept in the cache: not with room to spare
	}
	return out
}

// lf ends every line of text with LF alone, in place: the parts of a
// message come with CRLF or LF, and a text with both would defeat
// grep 'word$'. CRs before a line's LF (QP's =0D) go with it; a lone CR
// (an old Mac line end) is a line end too.
func lf(text []byte) []byte {
	i := bytes.IndexByte(text, '\r')
	if i < 0 {
		return text
	}
	out := text[:i]
	for j := i; j < len(text); j++ {
		c := text[j]
		if c != '\r' {
			out = append(out, c)
			continue
		}
		k := j
		for k < len(text) && text[k] == '\r' {
			k++
		}
		if k < len(text) && text[k] == '\n' {
			j = k // CRs then LF: the LF stands
			out = append(out, '\n')
			continue
		}
		out = append(out, '\n') // a lone CR
	}
	return out
}

// textGuess is the room a message's text is given at first: about its
// size (the text of a message is mostly its text parts), at most
// 256 KiB (the text of one with attachments is a small part of it), so
// that a text is rarely copied as it grows.
func textGuess(raw []byte) int { return min(len(raw)+512, 256<<10) }

type textWriter struct {
	b *bytes.Buffer
}

func (w *textWriter) headers(e *entity) {
	for _, k := range shownHeaders {
		for _, v := range e.header.Values(k) {
			v = strings.Join(strings.Fields(decodeWords(toUTF8Header(v))), " ")
			fmt.Fprintf(w.b, "%s: %s\n", k, v)
		}
	}
}

// section starts a new block of text, one blank line after the last.
func (w *textWriter) section() {
	if w.b.Len() == 0 {
		return
	}
	t := w.b.Bytes()
	switch {
	case bytes.HasSuffix(t, []byte("\n\n")):
	case bytes.HasSuffix(t, []byte("\n")):
		w.b.WriteString("\n")
	default:
		w.b.WriteString("\n\n")
	}
}

// body writes entity e (at path) and what it holds.
func (w *textWriter) body(e *entity, path []int, parts []leaf) {
	mediaType, _, _ := e.header.ContentType()
	mediaType = strings.ToLower(mediaType)
	if e.isMultipart() {
		if mediaType == "multipart/alternative" {
			w.alternative(e, path, parts)
			return
		}
		for i, c := range e.children {
			w.body(c, appendPath(path, i), parts)
		}
		return
	}
	l := findLeaf(parts, path)
	if l == nil {
		return
	}
	if l.Note != "" {
		w.section()
		fmt.Fprintf(w.b, "[mailfs: part %d: %s]\n", l.Index, l.Note)
	}
	switch {
	case l.Attachment:
		w.section()
		name := l.FileName
		if name == "" {
			name = l.Name
		}
		fmt.Fprintf(w.b, "[attachment: %s, %s, %s]\n", name, l.Type, humanize.IBytes(uint64(l.Size)))
	case l.Type == "message/rfc822":
		w.section()
		w.b.WriteString("---------- Forwarded message ----------\n")
		inner, err := l.decoded()
		if err != nil {
			inner = l.encoded
		}
		nested := parse(inner)
		w.headers(nested)
		w.b.WriteString("\n")
		w.body(nested, nil, leaves(nested, false))
	case l.Type == "text/html":
		w.section()
		w.b.WriteString(HTMLText(bytes.NewReader(w.decodedText(l))))
	case strings.HasPrefix(l.Type, "text/"):
		w.section()
		w.b.Write(w.decodedText(l))
		w.b.WriteString("\n")
	default:
		w.section()
		fmt.Fprintf(w.b, "[part: %s, %s]\n", l.Name, l.Type)
	}
}

// decodedText is a text part in UTF-8; one that cannot be decoded from
// its transfer encoding is shown as it came, after a note.
func (w *textWriter) decodedText(l *leaf) []byte {
	data, err := l.decoded()
	if err != nil {
		fmt.Fprintf(w.b, "[mailfs: part %d: %s could not be decoded (%v); shown as it came]\n", l.Index, transferEncoding(l.header), err)
		return l.encoded
	}
	return ToUTF8(data, l.Charset)
}

func appendPath(path []int, i int) []int {
	return append(append([]int(nil), path...), i)
}

func findLeaf(parts []leaf, path []int) *leaf {
	for i := range parts {
		if slices.Equal(parts[i].path, path) {
			return &parts[i]
		}
	}
	return nil
}

// bestAlternative picks the child of a multipart/alternative to show:
// the plain text, else the HTML, else the first.
func bestAlternative(e *entity) int {
	best, rank := 0, 0
	for i, c := range e.children {
		t, _, _ := c.header.ContentType()
		r := 1
		switch strings.ToLower(t) {
		case "text/plain":
			r = 3
		case "text/html":
			r = 2
		}
		if c.isMultipart() {
			r = 2 // multipart/related around the HTML
		}
		if r > rank {
			best, rank = i, r
		}
	}
	return best
}

// ToUTF8 converts text in the named charset to UTF-8. Text labelled
// UTF-8 or US-ASCII (or unlabelled) that is not valid UTF-8 is read as
// windows-1252, the usual truth behind a wrong label; an unknown charset
// is passed through as it is.
func ToUTF8(data []byte, label string) []byte {
	label = strings.ToLower(strings.Trim(strings.TrimSpace(label), `"`))
	switch label {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		if utf8.Valid(data) {
			return data
		}
		label = "windows-1252"
	}
	r, err := charset.Reader(label, bytes.NewReader(data))
	if err != nil {
		return data
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return data
	}
	return out
}

// toUTF8Header makes a raw header value valid UTF-8 (8-bit headers in a
// legacy charset are read as windows-1252).
func toUTF8Header(v string) string {
	if utf8.ValidString(v) {
		return v
	}
	return string(ToUTF8([]byte(v), "windows-1252"))
}
