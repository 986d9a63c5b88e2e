// Package decode turns a message's wire bytes into what a reader sees:
// its MIME parts decoded from their transfer encodings (the .parts view)
// and one UTF-8 text of its headers, text parts and attachment list (the
// .text view). It works on the bytes in memory, streams what it can, and
// never fails a message: what cannot be decoded is shown as it came,
// with a note.
package decode

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// maxDepth bounds nested multiparts (a hostile message could nest
// without end).
const maxDepth = 20

// Part is a leaf MIME part of a message, in message order (nested
// multiparts flattened).
type Part struct {
	Index    int    // 1-based
	Name     string // its file name in .parts: "1-body.txt", "3-invoice.pdf"
	Type     string // media type, lower case ("application/octet-stream" when unsaid)
	FileName string // its own file name, decoded; "" when it has none
	// Attachment: Content-Disposition attachment, or a file name on a
	// part that is not text: shown as a line in .text, kept byte-exact.
	Attachment bool
	Charset    string // the charset parameter of a text part
	Size       int64  // bytes Open serves
	// Raw: the transfer encoding could not be decoded (unknown, or
	// broken such as truncated base64), so Open serves the part as it
	// came; Note says why.
	Raw  bool
	Note string

	path []int // child indexes from the top entity
}

// leaf is a part found while walking, with its encoded body.
type leaf struct {
	Part
	header  message.Header
	encoded []byte // the body as it came (transfer-encoded)
}

// entity is one node of the MIME tree.
type entity struct {
	header   message.Header
	body     []byte // as it came; for a multipart, the whole multipart body
	children []*entity
	note     string // a multipart that could not be split
}

// parse reads the MIME tree of raw. It never fails: a message without a
// header is one text part; a multipart that cannot be split is one part.
// Bodies are slices of raw, never copies.
func parse(raw []byte) *entity {
	return parseEntity(raw, 0)
}

func parseEntity(raw []byte, depth int) *entity {
	head, body := splitHeader(raw)
	// A buffer of the header's size, not bufio's 4 KiB: a message has a
	// header per part, and most are a few hundred bytes.
	h, err := textproto.ReadHeader(bufio.NewReaderSize(bytes.NewReader(head), len(head)+16))
	if err != nil || len(head) == 0 {
		// No header (or a broken one): all of it is body.
		return &entity{header: message.Header{}, body: raw}
	}
	e := &entity{header: message.Header{Header: h}, body: body}
	mediaType, params, _ := e.header.ContentType()
	if !strings.HasPrefix(strings.ToLower(mediaType), "multipart/") || depth >= maxDepth {
		return e
	}
	boundary := params["boundary"]
	if boundary == "" {
		e.note = "multipart without a boundary; shown as it came"
		return e
	}
	parts, complete := splitMultipart(body, boundary)
	if len(parts) == 0 {
		e.note = "multipart whose boundary never appears; shown as it came"
		return e
	}
	for _, p := range parts {
		e.children = append(e.children, parseEntity(p, depth+1))
	}
	if !complete {
		e.children[len(e.children)-1].note = "cut short: the multipart has no closing boundary"
	}
	return e
}

// splitHeader cuts raw after its header's blank line. A message that
// begins with a blank line has no header; one without a blank line is
// all header.
func splitHeader(raw []byte) (head, body []byte) {
	if bytes.HasPrefix(raw, []byte("\r\n")) || bytes.HasPrefix(raw, []byte("\n")) {
		return nil, raw
	}
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			return raw, nil
		}
		next := i + j + 1
		if next < len(raw) && raw[next] == '\n' {
			return raw[:next+1], raw[next+1:]
		}
		if next+1 < len(raw) && raw[next] == '\r' && raw[next+1] == '\n' {
			return raw[:next+2], raw[next+2:]
		}
		i = next
	}
	return raw, nil
}

// splitMultipart returns the parts of a multipart body (slices of it)
// and whether the closing boundary was there. A delimiter is a line
// "--boundary" (trailing white space allowed); the line break before it
// belongs to it.
func splitMultipart(body []byte, boundary string) (parts [][]byte, complete bool) {
	delim := []byte("--" + boundary)
	start := -1 // where the current part's content begins
	for i := 0; i < len(body); {
		end := bytes.IndexByte(body[i:], '\n')
		lineEnd := len(body)
		if end >= 0 {
			lineEnd = i + end + 1
		}
		line := bytes.TrimRight(body[i:lineEnd], " \t\r\n")
		if bytes.HasPrefix(line, delim) {
			rest := line[len(delim):]
			closing := bytes.Equal(rest, []byte("--"))
			if len(rest) == 0 || closing {
				if start >= 0 {
					parts = append(parts, trimLineBreak(body[start:i]))
				}
				if closing {
					return parts, true
				}
				start = lineEnd
			}
		}
		i = lineEnd
	}
	if start >= 0 && start < len(body) {
		parts = append(parts, body[start:])
	}
	return parts, false
}

// trimLineBreak drops the line break that belongs to the next delimiter.
func trimLineBreak(b []byte) []byte {
	if bytes.HasSuffix(b, []byte("\r\n")) {
		return b[:len(b)-2]
	}
	if bytes.HasSuffix(b, []byte("\n")) {
		return b[:len(b)-1]
	}
	return b
}

// isMultipart reports whether e was split into children.
func (e *entity) isMultipart() bool { return len(e.children) > 0 }

// Parts lists the leaf parts of raw with their decoded sizes.
func Parts(raw []byte) []Part {
	var out []Part
	for _, l := range leaves(parse(raw), true) {
		out = append(out, l.Part)
	}
	return out
}

// leaves flattens the tree into its leaf parts, numbered and named, with
// their decoded sizes measured (measure), or estimated from their
// encoded length (for the text view's attachment lines, which then need
// no decoding).
func leaves(top *entity, measure bool) []leaf {
	var out []leaf
	var walk func(e *entity, path []int)
	walk = func(e *entity, path []int) {
		if e.isMultipart() {
			for i, c := range e.children {
				walk(c, append(append([]int(nil), path...), i))
			}
			return
		}
		out = append(out, newLeaf(e, path, len(out)+1, measure))
	}
	walk(top, nil)
	return out
}

func newLeaf(e *entity, path []int, index int, measure bool) leaf {
	mediaType, params, err := e.header.ContentType()
	if err != nil || mediaType == "" {
		mediaType = "text/plain" // RFC 2045 §5.2: the default
		if len(e.header.Header.Map()) > 0 && e.header.Get("Content-Type") != "" {
			mediaType = "application/octet-stream" // present but unreadable
		}
	}
	mediaType = strings.ToLower(mediaType)
	disp, dparams, _ := e.header.ContentDisposition()
	fileName := decodeWords(dparams["filename"])
	if fileName == "" {
		fileName = decodeWords(params["name"])
	}
	l := leaf{header: e.header, encoded: e.body}
	l.Index, l.Type, l.FileName, l.path, l.Note = index, mediaType, fileName, path, e.note
	l.Charset = strings.ToLower(params["charset"])
	l.Attachment = strings.EqualFold(disp, "attachment") ||
		(fileName != "" && !strings.HasPrefix(mediaType, "text/")) ||
		(!strings.HasPrefix(mediaType, "text/") && mediaType != "message/rfc822" && !strings.HasPrefix(mediaType, "multipart/"))
	l.Name = PartName(index, fileName, mediaType)
	if !measure {
		l.Size = estimateSize(e.body, transferEncoding(e.header))
		return l
	}
	n, err := io.Copy(io.Discard, l.transferDecoded())
	if err != nil {
		l.Raw = true
		l.Note = joinNote(l.Note, fmt.Sprintf("%s could not be decoded (%v); shown as it came", transferEncoding(e.header), err))
		n = int64(len(e.body))
	}
	l.Size = n
	return l
}

// estimateSize is a part's decoded size without decoding it: base64
// characters (the encoded length less line breaks, spaces and padding)
// × 3/4, the encoded length otherwise. Counted with bytes.Count, which is
// vectorised: a loop over the bytes cost more than decoding.
func estimateSize(body []byte, enc string) int64 {
	if enc != "base64" {
		return int64(len(body))
	}
	pad := bytes.Count(body, []byte("="))
	chars := len(body) - bytes.Count(body, []byte("\n")) - bytes.Count(body, []byte("\r")) - bytes.Count(body, []byte(" ")) - pad
	return int64(max(0, (chars+pad)/4*3-pad))
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func transferEncoding(h message.Header) string {
	enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	if enc == "" {
		return "7bit"
	}
	return enc
}

// transferDecoded streams the part's body decoded from its transfer
// encoding. An unknown encoding is an error at the first read.
func (l *leaf) transferDecoded() io.Reader {
	r := bytes.NewReader(l.encoded)
	switch enc := transferEncoding(l.header); enc {
	case "7bit", "8bit", "binary":
		return r
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &skipSpace{r: r})
	default:
		return errReader{fmt.Errorf("unknown transfer encoding %q", enc)}
	}
}

// decoded is the part decoded from its transfer encoding: its bytes as
// they came when there is none to undo (not a copy; never to be
// changed), else read into one buffer of the encoded length, which
// quoted-printable and base64 only shrink.
func (l *leaf) decoded() ([]byte, error) {
	r := l.transferDecoded()
	if br, ok := r.(*bytes.Reader); ok && br.Len() == len(l.encoded) {
		return l.encoded, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, len(l.encoded)+bytes.MinRead))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// content streams what Open serves: the decoded bytes, or the bytes as
// they came when they cannot be decoded.
func (l *leaf) content() io.Reader {
	if l.Raw {
		return bytes.NewReader(l.encoded)
	}
	return l.transferDecoded()
}

// Open streams part p of raw (as Parts listed it): decoded from its
// transfer encoding, byte-exact otherwise, exactly p.Size bytes.
func Open(raw []byte, p Part) io.Reader {
	e := parse(raw)
	for _, i := range p.path {
		if i >= len(e.children) {
			return bytes.NewReader(nil)
		}
		e = e.children[i]
	}
	l := newLeafShallow(e, p)
	return io.LimitReader(l.content(), p.Size)
}

// newLeafShallow rebuilds a leaf for Open without measuring it again.
func newLeafShallow(e *entity, p Part) *leaf {
	return &leaf{Part: p, header: e.header, encoded: e.body}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// skipSpace drops whitespace (line breaks in base64) as it reads.
type skipSpace struct{ r io.Reader }

func (s *skipSpace) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		if bytes.IndexByte(p[:n], ' ') < 0 && bytes.IndexByte(p[:n], '\t') < 0 {
			return n, err // line breaks the base64 decoder skips itself
		}
		j := 0
		for _, c := range p[:n] {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
