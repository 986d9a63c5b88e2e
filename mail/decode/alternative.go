package decode

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Of a multipart/alternative the text view shows the plain text, the
// sender's own rendering, when it says what the HTML says. Many senders
// put a stub there ("view this message in your browser") or a plain
// text that lacks what the HTML shows; grep would then miss words every
// HTML-reading client shows. So the two are compared by their words:
//
//   - a plain text with under a tenth of the HTML's letters, or a short
//     one (under half) that sends the reader to a browser, is a stub:
//     the HTML's text is shown alone;
//   - a plain text that lacks more than a tenth of the HTML's distinct
//     words, and at least minLacking of them (link addresses not
//     counted), is shown, then the HTML's text after a note;
//   - else the plain text alone.

// stubPhrases send the reader of a plain part elsewhere.
var stubPhrases = []string{
	"in your browser", "in a browser", "in a web browser", "view in browser",
	"as a web page", "web version", "online version", "view online",
	"does not support html", "html-capable", "html capable", "enable html",
}

// minLacking: fewer words missing from the plain text (a signature,
// "cafe" for "café") do not show the HTML again.
const minLacking = 3

// alternativeHTMLNote precedes the HTML's text shown after the plain one.
const alternativeHTMLNote = "[mailfs: the HTML alternative, which has words the plain text lacks]\n"

// alternative writes the child of multipart/alternative e to show, or
// its plain text and its HTML's text (see above).
func (w *textWriter) alternative(e *entity, path []int, parts []leaf) {
	best := bestAlternative(e)
	html := htmlAlternative(e)
	if html < 0 || !isPlain(e.children[best]) {
		w.body(e.children[best], appendPath(path, best), parts)
		return
	}
	plain := w.render(e.children[best], appendPath(path, best), parts)
	htmlText := w.render(e.children[html], appendPath(path, html), parts)
	c := compare(plain, htmlText)
	switch {
	case c.plainLetters*10 < c.htmlLetters || (c.plainLetters*2 < c.htmlLetters && sendsToBrowser(plain)):
		w.write(htmlText)
	case c.lacking >= minLacking && c.lacking*10 > c.htmlWords:
		w.write(plain)
		w.section()
		w.b.WriteString(alternativeHTMLNote)
		w.write(htmlText)
	default:
		w.write(plain)
	}
}

// render is what body would write for e, on its own.
func (w *textWriter) render(e *entity, path []int, parts []leaf) []byte {
	sub := &textWriter{b: &bytes.Buffer{}}
	sub.body(e, path, parts)
	return sub.b.Bytes()
}

// write adds a rendered block as a section of its own.
func (w *textWriter) write(block []byte) {
	if len(block) == 0 {
		return
	}
	w.section()
	w.b.Write(block)
}

func isPlain(e *entity) bool {
	t, _, _ := e.header.ContentType()
	return !e.isMultipart() && strings.EqualFold(t, "text/plain")
}

// htmlAlternative is the index of the HTML child of e (text/html, or a
// multipart such as multipart/related around it); -1 when none.
func htmlAlternative(e *entity) int {
	for i, c := range e.children {
		t, _, _ := c.header.ContentType()
		if c.isMultipart() || strings.EqualFold(t, "text/html") {
			return i
		}
	}
	return -1
}

func sendsToBrowser(text []byte) bool {
	low := strings.ToLower(string(text))
	for _, p := range stubPhrases {
		if strings.Contains(low, p) {
			return true
		}
	}
	return false
}

// comparison is what reading the words of a plain text and of its
// HTML's text found.
type comparison struct {
	plainLetters, htmlLetters int
	htmlWords                 int // distinct words of the HTML
	lacking                   int // of them, how many the plain text lacks
}

// compare reads the words of plain and of html (see eachWord): one map of
// the plain text's words, and one of the HTML's words it lacks, which is
// mostly small; every multipart/alternative of a scan of .text goes
// through here.
func compare(plain, html []byte) comparison {
	var c comparison
	in := make(map[string]bool, min(len(plain)/16, 4096)) // false once the HTML has it too
	c.plainLetters = eachWord(plain, false, func(w []byte) {
		if _, ok := in[string(w)]; !ok {
			in[string(w)] = true
		}
	})
	lacking := map[string]bool{}
	c.htmlLetters = eachWord(html, true, func(w []byte) {
		if fresh, ok := in[string(w)]; ok {
			if fresh {
				in[string(w)] = false
				c.htmlWords++
			}
			return
		}
		if !lacking[string(w)] {
			lacking[string(w)] = true
			c.htmlWords++
			c.lacking++
		}
	})
	return c
}

// wordSet is the distinct lower-case words of a text and how many
// letters and digits it has.
type wordSet struct {
	words   map[string]bool
	letters int
}

// words is the wordSet of text (see eachWord).
func words(text []byte, skipLinks bool) wordSet {
	s := wordSet{words: map[string]bool{}}
	s.letters = eachWord(text, skipLinks, func(w []byte) { s.words[string(w)] = true })
	return s
}

// asciiSpace are the ASCII bytes unicode.IsSpace is true of.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// eachWord calls fn with each word of text, lower-cased (fn must not keep
// it), and returns how many letters and digits the words have. Words are
// runs of letters and digits within a field (what strings.Fields finds);
// with skipLinks, the "<url>" fields HTMLText adds after a link's text
// are left out. One pass, no copy of the text, ASCII without decoding.
func eachWord(text []byte, skipLinks bool, fn func(w []byte)) (letters int) {
	var w []byte // the word being read, lower-cased
	end := func() {
		if len(w) > 0 {
			fn(w)
			w = w[:0]
		}
	}
	for len(text) > 0 {
		i := 0
		for i < len(text) {
			if c := text[i]; c < utf8.RuneSelf {
				if !asciiSpace[c] {
					break
				}
				i++
				continue
			}
			r, size := utf8.DecodeRune(text[i:])
			if !unicode.IsSpace(r) {
				break
			}
			i += size
		}
		text = text[i:]
		j := 0
		for j < len(text) {
			if c := text[j]; c < utf8.RuneSelf {
				if asciiSpace[c] {
					break
				}
				j++
				continue
			}
			r, size := utf8.DecodeRune(text[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += size
		}
		f := text[:j]
		text = text[j:]
		if skipLinks && len(f) > 1 && f[0] == '<' && f[len(f)-1] == '>' {
			continue
		}
		for k := 0; k < len(f); {
			if c := f[k]; c < utf8.RuneSelf {
				k++
				switch {
				case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
					w = append(w, c)
					letters++
				case 'A' <= c && c <= 'Z':
					w = append(w, c+'a'-'A')
					letters++
				default:
					end()
				}
				continue
			}
			r, size := utf8.DecodeRune(f[k:])
			k += size
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				w = utf8.AppendRune(w, unicode.ToLower(r))
				letters++
			} else {
				end()
			}
		}
		end()
	}
	return letters
}
