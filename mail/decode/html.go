package decode

import (
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTMLText renders HTML as readable plain text: block elements on lines
// of their own, list items as "- ", links as "text <url>", images by
// their alt text, entities decoded, white space collapsed; scripts,
// styles and the head left out. It reads tokens (golang.org/x/net/html),
// never the markup with patterns, and never fails: broken HTML gives
// what could be read.
func HTMLText(r io.Reader) string {
	z := html.NewTokenizer(r)
	t := &textOut{}
	skip := 0 // depth inside script, style, head, title
	var href []string
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return t.String()
		case html.TextToken:
			if skip == 0 {
				t.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			attrs := map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attrs[string(k)] = string(v)
			}
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Noscript, atom.Template:
				if tt != html.SelfClosingTagToken {
					skip++
				}
			case atom.Br:
				t.newline()
			case atom.Hr:
				t.block()
				t.text("----")
				t.block()
			case atom.Li:
				t.newline()
				t.raw("- ")
			case atom.Img:
				if alt := strings.TrimSpace(attrs["alt"]); alt != "" && skip == 0 {
					t.text("[" + alt + "]")
				}
			case atom.A:
				href = append(href, attrs["href"])
			case atom.Td, atom.Th:
				t.text(" ")
			default:
				if isBlock(a) {
					t.block()
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Noscript, atom.Template:
				if skip > 0 {
					skip--
				}
			case atom.A:
				if n := len(href); n > 0 {
					u := strings.TrimSpace(href[n-1])
					href = href[:n-1]
					if u != "" && !strings.HasPrefix(u, "#") && !strings.HasPrefix(strings.ToLower(u), "javascript:") && !t.endsWith(u) {
						t.text(" <" + u + ">")
					}
				}
			case atom.Tr:
				t.newline()
			default:
				if isBlock(a) {
					t.block()
				}
			}
		}
	}
}

func isBlock(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
		atom.Ul, atom.Ol, atom.Table, atom.Blockquote, atom.Pre, atom.Section,
		atom.Article, atom.Header, atom.Footer, atom.Body, atom.Html, atom.Dl, atom.Dt, atom.Dd,
		atom.Address, atom.Center, atom.Form, atom.Figure, atom.Main, atom.Nav, atom.Aside:
		return true
	}
	return false
}

// textOut collects text with collapsed white space and at most one blank
// line between blocks.
type textOut struct {
	b        strings.Builder
	space    bool // a space is due before the next word
	newlines int  // line breaks at the end of b
}

func (t *textOut) text(s string) {
	if s == "" {
		return
	}
	if isSpace(rune(s[0])) {
		t.space = true
	}
	fields := strings.FieldsFunc(s, isSpace)
	for i, f := range fields {
		if (i > 0 || t.space) && t.newlines == 0 && t.b.Len() > 0 {
			t.b.WriteByte(' ')
		}
		t.b.WriteString(f)
		t.newlines = 0
	}
	if len(fields) > 0 {
		t.space = isSpace(rune(s[len(s)-1]))
	}
}

// raw writes s as it is (a list marker).
func (t *textOut) raw(s string) {
	t.b.WriteString(s)
	t.space, t.newlines = false, 0
}

func (t *textOut) newline() {
	if t.b.Len() == 0 || t.newlines >= 1 {
		t.space = false
		return
	}
	t.b.WriteByte('\n')
	t.newlines, t.space = 1, false
}

func (t *textOut) block() {
	if t.b.Len() == 0 {
		return
	}
	for t.newlines < 2 {
		t.b.WriteByte('\n')
		t.newlines++
	}
	t.space = false
}

func (t *textOut) endsWith(s string) bool { return strings.HasSuffix(t.b.String(), s) }

func (t *textOut) String() string {
	return strings.TrimSpace(t.b.String()) + "\n"
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0'
}
