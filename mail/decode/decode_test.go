package decode

import (
	"bytes"
	"encoding/base64"
	"io"
	"maps"
	"runtime"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
)

func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func mustEncode(t *testing.T, s string, e interface{ String(string) (string, error) }) string {
	t.Helper()
	out, err := e.String(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTextDecodes: each planted word shows in the text view, decoded,
// whatever the encoding, charset or shape of the message.
func TestTextDecodes(t *testing.T) {
	latin1 := mustEncode(t, "Grüße aus Köln, café", charmap.ISO8859_1.NewEncoder())
	cp1252 := mustEncode(t, "“quoted” café – dash", charmap.Windows1252.NewEncoder())
	sjis := mustEncode(t, "日本語のメール", japanese.ShiftJIS.NewEncoder())
	koi8 := mustEncode(t, "Привет, мир", charmap.KOI8R.NewEncoder())
	for _, tc := range []struct {
		name, msg string
		want      []string // in the text
		not       []string // never in the text
	}{
		{"qp soft break inside a non-ASCII word", "Subject: qp\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nWe met at the caf=C3=\n=A9 on Mond=\nay.\n",
			[]string{"café", "Monday"}, []string{"=C3", "=A9"}},
		{"base64 text", "Subject: b64\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n" + wrap64("Größenordnung: naïve résumé\n"),
			[]string{"Größenordnung", "naïve résumé"}, nil},
		{"iso-8859-1", "Subject: l1\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n" + latin1 + "\n",
			[]string{"Grüße aus Köln", "café"}, nil},
		{"windows-1252", "Subject: w\nContent-Type: text/plain; charset=windows-1252\n\n" + cp1252 + "\n",
			[]string{"“quoted”", "– dash"}, nil},
		{"shift_jis", "Subject: j\nContent-Type: text/plain; charset=Shift_JIS\n\n" + sjis + "\n",
			[]string{"日本語のメール"}, nil},
		{"koi8-r", "Subject: r\nContent-Type: text/plain; charset=koi8-r\n\n" + koi8 + "\n",
			[]string{"Привет, мир"}, nil},
		{"wrong label: utf-8 on latin-1 bytes", "Subject: x\nContent-Type: text/plain; charset=utf-8\n\n" + latin1 + "\n",
			[]string{"Grüße aus Köln"}, nil},
		{"unknown charset passed through", "Subject: x\nContent-Type: text/plain; charset=x-no-such-charset\n\nplain words here\n",
			[]string{"plain words here"}, nil},
		{"html only", "Subject: h\nContent-Type: text/html; charset=utf-8\n\n<html><head><title>T</title><style>p{color:red}</style></head><body><p>Hello <b>w&ouml;rld</b></p><script>alert('bad')</script><ul><li>one</li><li>two</li></ul><a href=\"https://example.org/x\">the link</a></body></html>\n",
			[]string{"Hello wörld", "- one", "- two", "the link <https://example.org/x>"}, []string{"alert", "color:red", "<b>"}},
		{"alternative shows the plain part", "Subject: a\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=utf-8\n\nplain-version here\n--b1\nContent-Type: text/html; charset=utf-8\n\n<p>html-version here</p>\n--b1--\n",
			[]string{"plain-version here"}, []string{"html-version"}},
		{"mixed with nested related", mixedRelated,
			[]string{"Bonjour l'équipe", "[attachment: invoice-2026.pdf, application/pdf", "[attachment: € rates.pdf"}, []string{"JVBERi0"}},
		{"no MIME at all", "From: a@b\nSubject: hello\n\njust a body, nothing else\n",
			[]string{"Subject: hello", "just a body, nothing else"}, nil},
		{"no header at all", "\nonly a body\n", []string{"only a body"}, nil},
		{"encoded subject", "Subject: =?utf-8?q?R=C3=A9union?= =?ISO-8859-1?Q?_d=E9j=E0?=\n\nx\n",
			[]string{"Subject: Réunion déjà"}, nil},
		{"truncated base64 shown raw with a note", "Subject: t\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\nSGVsbG8gd29y!!bGQ\n",
			[]string{"[mailfs: part 1:", "could not be decoded", "SGVsbG8gd29y!!bGQ"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := string(Text([]byte(crlf(tc.msg))))
			checkText(t, text, tc.want, tc.not)
			if !utf8.ValidString(text) {
				t.Errorf("not UTF-8: %q", text)
			}
		})
	}
}

// checkText: every string of want is in text, none of not.
func checkText(t *testing.T, text string, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%q missing from:\n%s", w, text)
		}
	}
	for _, n := range not {
		if strings.Contains(text, n) {
			t.Errorf("%q should not be in:\n%s", n, text)
		}
	}
}

func wrap64(s string) string {
	e := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	for len(e) > 20 {
		b.WriteString(e[:20] + "\n")
		e = e[20:]
	}
	return b.String() + e + "\n"
}

var pdf = []byte("%PDF-1.4 fake pdf bytes \x00\x01\x02\xff end")

var mixedRelated = "Subject: m\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\npreamble\n" +
	"--outer\nContent-Type: multipart/related; boundary=\"inner\"\n\n" +
	"--inner\nContent-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n<p>Bonjour l'=E9quipe</p><img src=3D\"cid:logo\" alt=3D\"logo\">\n" +
	"--inner\nContent-Type: image/png\nContent-ID: <logo>\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n" +
	"--inner--\n" +
	"--outer\nContent-Type: application/pdf; name=\"invoice-2026.pdf\"\nContent-Disposition: attachment; filename=\"invoice-2026.pdf\"\nContent-Transfer-Encoding: base64\n\n" + wrap64(string(pdf)) +
	"--outer\nContent-Type: application/pdf\nContent-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf\nContent-Transfer-Encoding: base64\n\n" + wrap64(string(pdf)) +
	"--outer\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename*0*=UTF-8''long%20na; filename*1=\"me.bin\"\n\nraw\n" +
	"--outer--\nepilogue\n"

// TestParts: nested multiparts flattened in order, named by their own
// (RFC 2231) file names or by type, each serving its decoded bytes with
// the size it was listed with.
func TestParts(t *testing.T) {
	raw := []byte(crlf(mixedRelated))
	parts := Parts(raw)
	var names []string
	for _, p := range parts {
		names = append(names, p.Name)
	}
	want := "1-body.html 2-body.png 3-invoice-2026.pdf 4-€ rates.pdf 5-long name.bin"
	if strings.Join(names, " ") != want {
		t.Fatalf("parts %q, want %q", strings.Join(names, " "), want)
	}
	for _, p := range parts {
		got, err := io.ReadAll(Open(raw, p))
		if err != nil || int64(len(got)) != p.Size {
			t.Errorf("%s: %d bytes (%v), listed as %d", p.Name, len(got), err, p.Size)
		}
		if strings.HasSuffix(p.Name, ".pdf") && !bytes.Equal(got, pdf) {
			t.Errorf("%s: %q, want the original bytes", p.Name, got)
		}
	}
	if html, _ := io.ReadAll(Open(raw, parts[0])); !strings.Contains(string(html), "l'\xe9quipe") {
		t.Errorf("an inline HTML part in .parts is its decoded bytes: %q", html)
	}
}

// TestLargeAttachmentStreams: listing and reading a 20 MB attachment
// allocates a small fraction of its size (it is streamed from the bytes
// in memory, never decoded whole).
func TestLargeAttachmentStreams(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 20<<20/16)
	var b strings.Builder
	b.WriteString("Subject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--x\r\n")
	b.WriteString("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(big)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--x--\r\n")
	raw := []byte(b.String())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	parts := Parts(raw)
	if len(parts) != 2 || parts[1].Size != int64(len(big)) {
		t.Fatalf("parts %+v", parts)
	}
	h := bytes.NewBuffer(nil)
	n, err := io.Copy(&hashWriter{h: h}, Open(raw, parts[1]))
	text := Text(raw)
	runtime.ReadMemStats(&after)
	if err != nil || n != int64(len(big)) {
		t.Fatalf("read %d, %v", n, err)
	}
	if !bytes.Contains(text, []byte("[attachment: big.bin, application/octet-stream, 20 MiB]")) {
		t.Errorf("text: %s", text)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("listing, reading and the text of a 20 MB attachment allocated %d bytes", alloc)
	}
}

// hashWriter checks bytes as they stream by without keeping them.
type hashWriter struct {
	h   *bytes.Buffer
	off int
}

func (w *hashWriter) Write(p []byte) (int, error) {
	w.off += len(p)
	return len(p), nil
}

func TestPartName(t *testing.T) {
	for _, tc := range []struct {
		i         int
		file, typ string
		want      string
	}{
		{1, "", "text/plain", "1-body.txt"},
		{2, "", "text/html", "2-body.html"},
		{3, "invoice.pdf", "application/pdf", "3-invoice.pdf"},
		{4, "../../etc/passwd", "text/plain", "4-passwd"},
		{5, `C:\Users\x\report.docx`, "", "5-report.docx"},
		{6, "a\x00b\nc.txt", "", "6-a_b_c.txt"},
		{7, "..", "image/png", "7-body.png"},
		{8, "", "application/x-unknown", "8-body.bin"},
		{9, strings.Repeat("é", 200) + ".pdf", "", "9-" + strings.Repeat("é", 124) + ".pdf"},
	} {
		if got := PartName(tc.i, tc.file, tc.typ); got != tc.want {
			t.Errorf("PartName(%d, %q, %q) = %q, want %q", tc.i, tc.file, tc.typ, got, tc.want)
		}
	}
}

func FuzzPartName(f *testing.F) {
	f.Add(1, "invoice.pdf", "application/pdf")
	f.Add(12, "../x\x00\xff", "text/plain")
	f.Add(3, strings.Repeat("ü", 300), "")
	f.Fuzz(func(t *testing.T, i int, file, typ string) {
		if i < 0 {
			i = -i
		}
		n := PartName(i, file, typ)
		if n == "" || len(n) > maxName || !utf8.ValidString(n) || strings.ContainsAny(n, "/\x00") || n[0] == '.' {
			t.Fatalf("PartName(%d, %q, %q) = %q", i, file, typ, n)
		}
		for _, r := range n {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("control character in %q", n)
			}
		}
	})
}

func FuzzHTMLText(f *testing.F) {
	f.Add("<p>Hello <a href='x'>y</a></p>")
	f.Add("<script><p>x</script><li>a<li>b")
	f.Add("<<>>&amp;&#0;<br/><hr>")
	f.Fuzz(func(t *testing.T, in string) {
		out := HTMLText(strings.NewReader(in))
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("HTMLText(%q) = %q: not UTF-8", in, out)
		}
		if !strings.HasSuffix(out, "\n") {
			t.Fatalf("HTMLText(%q) = %q: no final newline", in, out)
		}
	})
}

func FuzzText(f *testing.F) {
	f.Add([]byte(crlf(mixedRelated)))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\n\n--a\n--a\n--a--"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		Text(raw)
		for _, p := range Parts(raw) {
			n, _ := io.Copy(io.Discard, Open(raw, p))
			if n != p.Size {
				t.Fatalf("part %s serves %d bytes, listed as %d", p.Name, n, p.Size)
			}
		}
	})
}

// alternativeMsg is a multipart/alternative of a plain and an HTML part.
func alternativeMsg(plain, html string) string {
	return "Subject: alt\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"alt\"\n\n" +
		"--alt\nContent-Type: text/plain; charset=utf-8\n\n" + plain + "\n" +
		"--alt\nContent-Type: text/html; charset=utf-8\n\n" + html + "\n--alt--\n"
}

// newsletter is an HTML body whose words a stub plain part lacks.
const newsletter = `<html><body><h1>Quarterly roadmap</h1>
<p>Our <b>quarterly</b> roadmap covers the migration of every archive to the new cluster,
the retirement of the legacy gateway, and the hiring plan for the platform team.</p>
<p>Budget figures for the harbour project are attached below, with the vendor shortlist
and the timeline the steering committee agreed on Tuesday.</p>
<p><a href="https://example.org/unsubscribe?id=8f3a">Unsubscribe</a></p></body></html>`

// TestTextAlternative: of a multipart/alternative, a plain part that is
// a stub or lacks the HTML's words does not hide the HTML's words from
// the text view; a good plain part is still shown alone (issue 22).
func TestTextAlternative(t *testing.T) {
	good := "Our quarterly roadmap covers the migration of every archive to the new cluster,\n" +
		"the retirement of the legacy gateway, and the hiring plan for the platform team.\n\n" +
		"Budget figures for the harbour project are attached below, with the vendor shortlist\n" +
		"and the timeline the steering committee agreed on Tuesday.\n\nUnsubscribe: https://example.org/unsubscribe?id=8f3a\n-- \nplain-only signature"
	for _, tc := range []struct {
		name, plain, html string
		want, not         []string
	}{
		{"stub sending to a browser", "View this message in your browser:\nhttps://example.org/v/8f3a", newsletter,
			[]string{"harbour project", "steering committee", "Quarterly roadmap"}, []string{"[mailfs:"}},
		{"plain shorter than a tenth of the HTML", "Hi,\n\nsee below.", newsletter,
			[]string{"harbour project", "hiring plan"}, []string{"[mailfs:"}},
		{"plain lacking the HTML's words", "Our quarterly roadmap covers the migration of every archive to the new cluster,\n" +
			"the retirement of the legacy gateway, and the hiring plan for the platform team.\n(plain-only line)", newsletter,
			[]string{"plain-only line", "[mailfs: the HTML alternative", "harbour project", "steering committee"}, nil},
		{"good plain part alone", good, newsletter,
			[]string{"plain-only signature", "harbour project"}, []string{"[mailfs:", "Quarterly roadmap", "<https://example.org/unsubscribe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := string(Text([]byte(crlf(alternativeMsg(tc.plain, tc.html)))))
			checkText(t, text, tc.want, tc.not)
		})
	}
}

// TestWordsAsFields: words reads what strings.Fields, then runs of
// letters and digits, lower-cased, would (the way it was first written).
func TestWordsAsFields(t *testing.T) {
	reference := func(text []byte, skipLinks bool) wordSet {
		s := wordSet{words: map[string]bool{}}
		for _, f := range strings.Fields(string(text)) {
			if skipLinks && strings.HasPrefix(f, "<") && strings.HasSuffix(f, ">") {
				continue
			}
			for _, w := range strings.FieldsFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
				s.words[strings.ToLower(w)] = true
				s.letters += len([]rune(w))
			}
		}
		return s
	}
	for _, text := range []string{
		"", "  ", "Hello, World! hello", "Café CAFÉ café\u00a0Straße ΣΊΣΥΦΟΣ",
		"see <https://x.example/a?b=c> and <b>bold</b> <", "a<b>c <> x\tY\nz\r\n", "İstanbul ǅ 123abc 4,5",
		"invalid \xff\xfe bytes\xc3", "日本語のテキスト と english",
	} {
		for _, skip := range []bool{false, true} {
			got, want := words([]byte(text), skip), reference([]byte(text), skip)
			if got.letters != want.letters || !maps.Equal(got.words, want.words) {
				t.Errorf("words(%q, %v) = %v %d, want %v %d", text, skip, got.words, got.letters, want.words, want.letters)
			}
		}
	}
}

// TestCompareAsWordSets: compare finds what the word sets of both texts
// say (the way it was first written).
func TestCompareAsWordSets(t *testing.T) {
	texts := []string{
		"", "Hello, World! hello", "Café CAFÉ café\u00a0Straße", "hello world <https://x.example/a> café",
		"see <https://x.example/a?b=c> and <b>bold</b> <", "İstanbul ǅ 123abc 4,5 WORLD", "invalid \xff\xfe bytes\xc3 world",
	}
	for _, p := range texts {
		for _, h := range texts {
			pw, hw := words([]byte(p), false), words([]byte(h), true)
			want := comparison{plainLetters: pw.letters, htmlLetters: hw.letters, htmlWords: len(hw.words)}
			for w := range hw.words {
				if !pw.words[w] {
					want.lacking++
				}
			}
			if got := compare([]byte(p), []byte(h)); got != want {
				t.Errorf("compare(%q, %q) = %+v, want %+v", p, h, got, want)
			}
		}
	}
}

// TestTextLineEndsWithLF (found by a breaking session): every line of a
// text ends with LF alone, the body of a single-part message too (it
// kept the CRLF it came with, so grep 'word$' missed it).
func TestTextLineEndsWithLF(t *testing.T) {
	for _, raw := range []string{
		crlf("From: a@x\nSubject: one part\n\nfirst line\nnumber 4\n"),
		crlf("From: a@x\nSubject: qp\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nGr=FC=DFe\nnumber 4\n"),
		crlf("From: a@x\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nnumber 4\n--b\nContent-Type: text/plain\n\nsecond\nnumber 4\n--b--\n"),
		"From: a@x\r\nSubject: mixed\r\n\r\nlf line\nnumber 4\r\nlone \r carriage\r\n",
		// CRs of the text itself (a second breaking session): QP =0D
		// before a line end, a CR inside base64 text.
		crlf("From: a@x\nContent-Transfer-Encoding: quoted-printable\n\nline=0D=0Anext=0D\nthird=0Dfourth\nnumber 4\n"),
		crlf("From: a@x\nContent-Transfer-Encoding: base64\n\nb25lDQp0d28NdGhyZWUNCm51bWJlciA0DQo=\n"),
	} {
		text := string(Text([]byte(raw)))
		if strings.Contains(text, "\r") || !strings.Contains(text, "number 4\n") {
			t.Errorf("text of %q is %q: want lines ending in LF alone", raw, text)
		}
	}
}
