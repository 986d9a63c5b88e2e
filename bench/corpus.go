package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"mime"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"mailfs/internal/testenv"
)

// message kinds of the corpus.
const (
	kindPlain  = "plain"       // text/plain, 7bit or 8bit
	kindQP     = "qp"          // text/plain, quoted-printable, non-ASCII text
	kindAlt    = "alternative" // multipart/alternative: text + HTML
	kindAttach = "attachment"  // multipart/mixed: text + base64 attachment 50 KB–1 MB
	kindBig    = "big"         // multipart/mixed: text + base64 attachment, 2–6 MB message
	kindTiny   = "tiny"        // a few hundred bytes (the big-mailbox run)
)

// corpusMsg is one generated message.
type corpusMsg struct {
	Raw       []byte
	Flags     string // Maildir letters: "", "S", "RS", "FS", "F"
	Date      time.Time
	Kind      string
	MessageID string // without <>
}

// corpus is a deterministic set of messages and what the benchmark needs to
// know about it.
type corpus struct {
	Msgs    []corpusMsg
	Word    string // planted in exactly one message body
	Planted int    // index of that message
	ThreeMB int    // index of the ~3 MB message
	Largest int    // index of the largest message
	Total   int64
	byID    map[string]int
}

// plan is what a message will be, decided sequentially from the seed so
// that the bodies can then be generated in parallel, each from its own
// generator seeded by (seed, index).
type plan struct {
	kind  string
	size  int // target size of the whole message in bytes
	flags string
}

// generateCorpus builds n messages from seed. Sizes: mostly 2–20 KB text
// mails (plain, quoted-printable, multipart/alternative; log-uniform, so
// small ones dominate), ~3.5% with a base64 attachment (50 KB–1 MB,
// log-uniform), and one message in 1000 (at least one) of 2–6 MB, one of
// which is ~3 MB. For 5000 messages that is ~112 MB, ~22 KB a message.
func generateCorpus(n int, seed uint64) *corpus {
	if n < 2 {
		n = 2
	}
	r := rand.New(rand.NewPCG(seed, 0x6d61696c6673)) // "mailfs"
	plans := make([]plan, n)
	for i := range plans {
		p := &plans[i]
		switch x := r.Float64(); {
		case x < 0.035:
			p.kind, p.size = kindAttach, logUniform(r, 50<<10, 1<<20)
		case x < 0.035+0.965*0.5:
			p.kind, p.size = kindPlain, logUniform(r, 2<<10, 20<<10)
		case x < 0.035+0.965*0.7:
			p.kind, p.size = kindQP, logUniform(r, 2<<10, 20<<10)
		default:
			p.kind, p.size = kindAlt, logUniform(r, 2<<10, 20<<10)
		}
		switch x := r.Float64(); {
		case x < 0.30:
			p.flags = "S"
		case x < 0.35:
			p.flags = "RS"
		case x < 0.38:
			p.flags = "FS"
		case x < 0.39:
			p.flags = "F"
		}
	}
	c := &corpus{byID: map[string]int{}}
	// Distinct positions for the planted word, the big messages and (in a
	// tiny corpus) one attachment.
	perm := r.Perm(n)
	c.Planted = perm[0]
	plans[c.Planted].kind, plans[c.Planted].size = kindPlain, 6<<10
	nBig := max(1, n/1000)
	for k := range nBig {
		i := perm[1+k%(n-1)]
		plans[i].kind = kindBig
		if k == 0 {
			c.ThreeMB = i
			plans[i].size = 3_000_000
		} else {
			plans[i].size = 2_000_000 + r.IntN(4_000_001)
		}
	}
	hasAttach := false
	for _, p := range plans {
		hasAttach = hasAttach || p.kind == kindAttach
	}
	if !hasAttach && n > nBig+1 {
		i := perm[1+nBig]
		plans[i].kind, plans[i].size = kindAttach, logUniform(r, 50<<10, 1<<20)
	}
	c.Word = fmt.Sprintf("zqx%08xplanted", uint32(seed*0x9e3779b97f4a7c15>>32))

	// Dates: spread over three years, strictly increasing, so that Dovecot
	// (which numbers Maildir files in name order, i.e. by date) gives UIDs
	// in corpus order.
	start := time.Date(2023, 1, 1, 8, 0, 0, 0, time.UTC)
	step := 3 * 365 * 24 * time.Hour / time.Duration(n)
	c.Msgs = make([]corpusMsg, n)
	parallel(n, func(i int) {
		g := newGen(rand.New(rand.NewPCG(seed, uint64(i)+1)))
		date := start.Add(time.Duration(i)*step + time.Duration(g.r.Int64N(int64(step/2)))).Truncate(time.Second)
		m := &c.Msgs[i]
		m.Date, m.Kind, m.Flags = date, plans[i].kind, plans[i].flags
		m.MessageID = fmt.Sprintf("%d.%08x@%s", date.Unix(), g.r.Uint32(), g.pick(domains))
		word := ""
		if i == c.Planted {
			word = c.Word
		}
		m.Raw = g.message(plans[i], date, m.MessageID, word)
	})
	for i, m := range c.Msgs {
		c.byID[m.MessageID] = i
		c.Total += int64(len(m.Raw))
		if len(m.Raw) > len(c.Msgs[c.Largest].Raw) {
			c.Largest = i
		}
	}
	return c
}

// generateTiny builds n messages of a few hundred bytes for the
// big-mailbox run.
func generateTiny(n int, seed uint64) []corpusMsg {
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 5 * 365 * 24 * time.Hour / time.Duration(max(n, 1))
	msgs := make([]corpusMsg, n)
	parallel(n, func(i int) {
		g := newGen(rand.New(rand.NewPCG(seed^0x7469, uint64(i)+1)))
		date := start.Add(time.Duration(i) * step).Truncate(time.Second)
		id := fmt.Sprintf("tiny-%d.%08x@%s", i, g.r.Uint32(), g.pick(domains))
		m := &msgs[i]
		m.Date, m.Kind, m.MessageID = date, kindTiny, id
		if g.r.IntN(3) == 0 {
			m.Flags = "S"
		}
		m.Raw = g.message(plan{kind: kindTiny, size: 300 + g.r.IntN(400)}, date, id, "")
	})
	return msgs
}

// maildirMessages converts for testenv.WriteMaildirMessages.
func maildirMessages(msgs []corpusMsg) []testenv.MaildirMessage {
	out := make([]testenv.MaildirMessage, len(msgs))
	for i, m := range msgs {
		out[i] = testenv.MaildirMessage{Raw: m.Raw, Flags: m.Flags, Date: m.Date}
	}
	return out
}

// writeLocalMaildir writes msgs as a plain Maildir (cur/new/tmp) under dir,
// the on-disk baseline for grep.
func writeLocalMaildir(dir string, msgs []corpusMsg) error {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	var mu sync.Mutex
	var first error
	parallel(len(msgs), func(i int) {
		m := msgs[i]
		name := fmt.Sprintf("%d.M%dP0Q%d.bench,S=%d:2,%s", m.Date.Unix(), i, i, len(m.Raw), m.Flags)
		if err := os.WriteFile(filepath.Join(dir, "cur", name), m.Raw, 0o600); err != nil {
			mu.Lock()
			first = cmpErr(first, err)
			mu.Unlock()
		}
	})
	return first
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// parallel runs fn(0..n-1) on all CPUs.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int, 256)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func logUniform(r *rand.Rand, lo, hi int) int {
	return int(math.Exp(math.Log(float64(lo)) + r.Float64()*(math.Log(float64(hi))-math.Log(float64(lo)))))
}

// gen writes one message with its own random source.
type gen struct {
	r *rand.Rand
	b bytes.Buffer
}

func newGen(r *rand.Rand) *gen { return &gen{r: r} }

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// line writes s and CRLF.
func (g *gen) line(format string, args ...any) {
	fmt.Fprintf(&g.b, format, args...)
	g.b.WriteString("\r\n")
}

type person struct{ name, addr string }

func (g *gen) person() person {
	first, last := g.pick(firstNames), g.pick(lastNames)
	local := strings.ToLower(asciiFold(first) + "." + asciiFold(last))
	return person{first + " " + last, local + "@" + g.pick(domains)}
}

// header renders a display name (RFC 2047 when it is not ASCII) and
// address.
func (p person) header() string {
	if isASCII(p.name) {
		return fmt.Sprintf("%s <%s>", p.name, p.addr)
	}
	return fmt.Sprintf("%s <%s>", mime.QEncoding.Encode("UTF-8", p.name), p.addr)
}

// message renders a whole message of roughly p.size bytes with CRLF line
// ends. word, when set, is planted in the middle of the text.
func (g *gen) message(p plan, date time.Time, msgID, word string) []byte {
	g.b.Reset()
	from := g.person()
	me := person{"Alice Example", "alice@example.org"}
	subject := g.subject(p.kind)
	tiny := p.kind == kindTiny

	if !tiny {
		for hop := range 1 + g.r.IntN(3) {
			host := fmt.Sprintf("mail-%s%d.%s", g.pick(words), g.r.IntN(90)+10, g.pick(domains))
			g.line("Received: from %s (%s [198.51.100.%d])", host, host, g.r.IntN(250)+1)
			g.line("\tby mx%d.example.org (Postfix) with ESMTPS id %X", hop+1, g.r.Uint64()>>20)
			g.line("\tfor <alice@example.org>; %s", date.Add(-time.Duration(hop+1)*time.Second).Format(time.RFC1123Z))
		}
		if g.r.IntN(10) < 4 {
			g.dkim(from.addr)
		}
	}
	g.line("From: %s", from.header())
	to := me.header()
	if !tiny && g.r.IntN(4) == 0 {
		to += ", " + g.person().header()
	}
	g.line("To: %s", to)
	if !tiny && g.r.IntN(6) == 0 {
		g.line("Cc: %s", g.person().header())
	}
	g.line("Subject: %s", subject)
	zone := time.FixedZone("", (g.r.IntN(25)-12)*3600)
	g.line("Date: %s", date.In(zone).Format(time.RFC1123Z))
	g.line("Message-ID: <%s>", msgID)
	if strings.HasPrefix(subject, "Re:") {
		ref := fmt.Sprintf("<%d.%08x@%s>", date.Unix()-int64(g.r.IntN(86400*7)), g.r.Uint32(), g.pick(domains))
		g.line("In-Reply-To: %s", ref)
		g.line("References: %s", ref)
	}
	if !tiny && g.r.IntN(3) == 0 {
		g.line("X-Mailer: %s", g.pick(mailers))
	}
	g.line("MIME-Version: 1.0")

	text := func(n int) string { return g.paragraphs(n, word, p.kind == kindQP) }
	switch p.kind {
	case kindTiny:
		g.line("Content-Type: text/plain; charset=us-ascii")
		g.line("")
		g.b.WriteString(g.wrap(g.sentence()+" "+g.sentence(), 72))
	case kindPlain:
		g.line("Content-Type: text/plain; charset=us-ascii; format=flowed")
		g.line("Content-Transfer-Encoding: 7bit")
		g.line("")
		g.b.WriteString(text(p.size - g.b.Len()))
	case kindQP:
		g.line("Content-Type: text/plain; charset=utf-8")
		g.line("Content-Transfer-Encoding: quoted-printable")
		g.line("")
		g.b.WriteString(qp(text((p.size - g.b.Len()) * 9 / 10)))
	case kindAlt:
		boundary := g.boundary()
		g.line("Content-Type: multipart/alternative; boundary=\"%s\"", boundary)
		g.line("")
		g.line("This is a multi-part message in MIME format.")
		body := text((p.size - g.b.Len()) * 2 / 5)
		g.line("--%s", boundary)
		g.line("Content-Type: text/plain; charset=us-ascii")
		g.line("Content-Transfer-Encoding: 7bit")
		g.line("")
		g.b.WriteString(body)
		g.line("--%s", boundary)
		g.line("Content-Type: text/html; charset=us-ascii")
		g.line("Content-Transfer-Encoding: 7bit")
		g.line("")
		g.b.WriteString(toHTML(body))
		g.line("--%s--", boundary)
	case kindAttach, kindBig:
		boundary := g.boundary()
		g.line("Content-Type: multipart/mixed; boundary=\"%s\"", boundary)
		g.line("")
		g.line("This is a multi-part message in MIME format.")
		g.line("--%s", boundary)
		g.line("Content-Type: text/plain; charset=us-ascii")
		g.line("Content-Transfer-Encoding: 7bit")
		g.line("")
		g.b.WriteString(text(1000 + g.r.IntN(3000)))
		name, ctype := g.attachmentName()
		g.line("--%s", boundary)
		g.line("Content-Type: %s; name=\"%s\"", ctype, name)
		g.line("Content-Disposition: attachment; filename=\"%s\"", name)
		g.line("Content-Transfer-Encoding: base64")
		g.line("")
		// What is left, minus the closing boundary, is base64 at 78
		// bytes (76 + CRLF) per 57 input bytes.
		left := max(p.size-g.b.Len()-len(boundary)-8, 78)
		g.base64(left / 78 * 57)
		g.line("--%s--", boundary)
	}
	return bytes.Clone(g.b.Bytes())
}

// subject returns a Subject header value: plain ASCII, or with non-ASCII
// words in RFC 2047 (UTF-8 B or Q, ISO-8859-1 Q).
func (g *gen) subject(kind string) string {
	var s string
	switch kind {
	case kindAttach, kindBig:
		s = fmt.Sprintf("%s %s (%s)", g.pick(attachSubjects), g.pick(words), g.pick([]string{"signed", "scan", "final", "v2", "draft"}))
	default:
		s = g.sentenceN(2 + g.r.IntN(6))
		s = strings.TrimSuffix(s, ".")
	}
	switch x := g.r.IntN(100); {
	case x < 25:
		s = "Re: " + s
	case x < 30:
		s = "Fwd: " + s
	}
	switch x := g.r.IntN(100); {
	case x < 6:
		return mime.BEncoding.Encode("UTF-8", s+" "+g.pick(unicodeWords))
	case x < 12:
		return mime.QEncoding.Encode("UTF-8", g.pick(unicodeWords)+": "+s)
	case x < 15:
		return mime.QEncoding.Encode("ISO-8859-1", s+" "+g.pick(latin1Words))
	}
	return s
}

func (g *gen) dkim(addr string) {
	_, domain, _ := strings.Cut(addr, "@")
	sig := make([]byte, 256)
	for i := range sig {
		sig[i] = byte(g.r.Uint32())
	}
	b := base64.StdEncoding.EncodeToString(sig)
	g.line("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=selector%d;", domain, g.r.IntN(3)+1)
	g.line("\th=from:to:subject:date:message-id:mime-version:content-type;")
	g.line("\tbh=%s;", base64.StdEncoding.EncodeToString(sig[:32]))
	prefix := "b="
	for len(b) > 0 {
		n := min(len(b), 70)
		g.line("\t%s%s", prefix, b[:n])
		prefix = ""
		b = b[n:]
	}
}

func (g *gen) boundary() string {
	return fmt.Sprintf("----=_Part_%d_%d.%d", g.r.IntN(1e6), g.r.Uint32(), g.r.Int64N(1e13))
}

func (g *gen) attachmentName() (name, ctype string) {
	switch g.r.IntN(4) {
	case 0:
		return fmt.Sprintf("IMG_%04d.jpg", g.r.IntN(10000)), "image/jpeg"
	case 1:
		return fmt.Sprintf("scan-%d.png", g.r.IntN(1000)), "image/png"
	case 2:
		return fmt.Sprintf("%s-%d.zip", g.pick(words), g.r.IntN(100)), "application/zip"
	}
	return fmt.Sprintf("%s_%s.pdf", g.pick(words), g.pick(words)), "application/pdf"
}

// base64 appends n random bytes in base64, 76 columns, CRLF.
func (g *gen) base64(n int) {
	raw := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := g.r.Uint64()
		for k := 0; k < 8 && i+k < n; k++ {
			raw[i+k] = byte(v >> (8 * k))
		}
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	g.b.Grow(len(enc) + len(enc)/76*2 + 2)
	for len(enc) > 0 {
		k := min(len(enc), 76)
		g.b.WriteString(enc[:k])
		g.b.WriteString("\r\n")
		enc = enc[k:]
	}
}

// paragraphs returns about n bytes of wrapped text with CRLF line ends,
// with word (if any) in the middle. unicode sprinkles non-ASCII words.
func (g *gen) paragraphs(n int, word string, unicode bool) string {
	var out strings.Builder
	out.WriteString(g.pick(greetings) + "\r\n\r\n")
	planted := word == ""
	for out.Len() < n {
		var para strings.Builder
		for range 2 + g.r.IntN(5) {
			s := g.sentence()
			if unicode && g.r.IntN(3) == 0 {
				s = strings.TrimSuffix(s, ".") + " " + g.pick(unicodeWords) + "."
			}
			para.WriteString(s + " ")
		}
		if !planted && out.Len() >= n/2 {
			para.WriteString("The reference code is " + word + ", keep it. ")
			planted = true
		}
		out.WriteString(g.wrap(strings.TrimSpace(para.String()), 72))
		out.WriteString("\r\n")
	}
	if !planted {
		out.WriteString("The reference code is " + word + ".\r\n")
	}
	out.WriteString("-- \r\n" + g.pick(firstNames) + "\r\n")
	return out.String()
}

func (g *gen) sentence() string { return g.sentenceN(5 + g.r.IntN(12)) }

func (g *gen) sentenceN(n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = g.pick(words)
	}
	ws[0] = strings.ToUpper(ws[0][:1]) + ws[0][1:]
	return strings.Join(ws, " ") + "."
}

// wrap breaks s into lines of at most width columns (CRLF after each).
func (g *gen) wrap(s string, width int) string {
	var out strings.Builder
	col := 0
	for _, w := range strings.Fields(s) {
		if col > 0 && col+1+len(w) > width {
			out.WriteString("\r\n")
			col = 0
		}
		if col > 0 {
			out.WriteByte(' ')
			col++
		}
		out.WriteString(w)
		col += len(w)
	}
	out.WriteString("\r\n")
	return out.String()
}

// qp encodes CRLF text as quoted-printable with CRLF line ends.
func qp(s string) string {
	var b strings.Builder
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return crlf(b.String())
}

// crlf turns every line end into CRLF.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// toHTML wraps CRLF text paragraphs in a small HTML document.
func toHTML(text string) string {
	var b strings.Builder
	b.WriteString("<html><head><meta charset=\"us-ascii\"></head><body>\r\n")
	for _, para := range strings.Split(strings.TrimSpace(text), "\r\n\r\n") {
		b.WriteString("<p>" + strings.ReplaceAll(para, "\r\n", "\r\n ") + "</p>\r\n")
	}
	b.WriteString("</body></html>\r\n")
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// asciiFold makes an address-safe local part from a name.
func asciiFold(s string) string {
	r := strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss", "é", "e", "è", "e", "ë", "e", "ç", "c", "ñ", "n", "ø", "o", "å", "a", "ł", "l", "ó", "o", "í", "i", "á", "a")
	return strings.Map(func(r rune) rune {
		if r >= 0x80 {
			return -1
		}
		return r
	}, r.Replace(strings.ToLower(s)))
}

var (
	words = strings.Fields(`the of and to in is that for it as with was on be by this are at from
		have an or not but which we you they all were can has been one there more
		would their will so about if when what up other out into some them than
		could then only its also time two may first new these like over our such
		any after most well where should just how very those because through
		meeting project report budget schedule review draft contract invoice
		release server update quarter customer team office travel agenda notes
		proposal design feedback deadline approval payment account order
		delivery support issue request question summary result plan figures
		attached please thanks regards week month friday monday tomorrow today
		morning afternoon call discuss confirm check send share prepare finish
		start change move follow note agree suggest expect receive provide
		include consider manage handle estimate revise sign submit book cancel`)
	unicodeWords   = strings.Fields(`café naïve Grüße Straße résumé façade Zürich München déjà €100 ½ Ångström São Kraków 東京 Привет`)
	latin1Words    = strings.Fields(`café Grüße Straße résumé façade Zürich déjà`)
	firstNames     = strings.Fields(`Anna Bob Carla David Emma Frank Greta Hugo Ines Jonas Karin Lukas Marta Nils Olga Paul Rita Sven Tina Uwe Vera Jürgen Zoë François Åsa Łukasz Søren José`)
	lastNames      = strings.Fields(`Smith Miller Weber Schmidt Fischer Jones Brown Taylor Wilson Meyer Wagner Becker Hoffmann Schulz Koch Richter Klein Wolf Müller García Dubois Nowak Jensen`)
	domains        = strings.Fields(`example.com example.net example.org mail.example.com corp.example.net lists.example.org`)
	mailers        = []string{"Thunderbird 115.6.0", "Apple Mail (2.3774.300.61)", "Microsoft Outlook 16.0", "Evolution 3.46.4", "mutt 2.2.9"}
	greetings      = []string{"Hi Alice,", "Hello,", "Dear Alice,", "Hi all,", "Good morning,", "Hallo Alice,"}
	attachSubjects = []string{"Invoice", "Photos from", "Scanned contract", "Slides for", "Report", "Minutes of", "Signed offer"}
)
