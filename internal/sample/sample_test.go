package sample

import (
	"bufio"
	"bytes"
	"fmt"
	"image/png"
	"io"
	"mime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

func init() {
	// go-message only knows UTF-8 and US-ASCII without its charset package
	// (which would pull golang.org/x/text); one sample body is ISO-8859-1.
	message.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		if charset != "iso-8859-1" {
			return nil, fmt.Errorf("unexpected charset %q", charset)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		runes := make([]rune, len(b))
		for i, c := range b {
			runes[i] = rune(c)
		}
		return strings.NewReader(string(runes)), nil
	}
}

// leaf is one decoded non-multipart entity of a message.
type leaf struct {
	mediaType string
	params    map[string]string
	header    message.Header
	body      []byte // transfer-decoded and charset-decoded
}

// parse reads a raw message with go-message and returns its header and all
// leaf parts, failing the test on any error.
func parse(t *testing.T, i int, raw []byte) (mail.Header, []leaf) {
	t.Helper()
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("message %d: message.Read: %v", i, err)
	}
	var leaves []leaf
	err = ent.Walk(func(path []int, e *message.Entity, err error) error {
		if err != nil {
			return fmt.Errorf("part %v: %w", path, err)
		}
		mt, params, err := e.Header.ContentType()
		if err != nil {
			return fmt.Errorf("part %v: Content-Type: %w", path, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			return nil
		}
		body, err := io.ReadAll(e.Body)
		if err != nil {
			return fmt.Errorf("part %v: reading body: %w", path, err)
		}
		leaves = append(leaves, leaf{mediaType: mt, params: params, header: e.Header, body: body})
		return nil
	})
	if err != nil {
		t.Fatalf("message %d: walk: %v", i, err)
	}
	return mail.Header{Header: ent.Header}, leaves
}

func TestMessagesParse(t *testing.T) {
	for i, m := range Messages() {
		h, leaves := parse(t, i, m.Raw)
		if len(leaves) == 0 {
			t.Errorf("message %d: no leaf parts", i)
		}
		if _, err := h.Date(); err != nil {
			t.Errorf("message %d: Date: %v", i, err)
		}
		if from, err := h.AddressList("From"); err != nil || len(from) != 1 {
			t.Errorf("message %d: From = %v, %v", i, from, err)
		}
		if _, err := h.Subject(); err != nil {
			t.Errorf("message %d: Subject: %v", i, err)
		}
		for _, l := range leaves {
			if strings.HasPrefix(l.mediaType, "text/") && !utf8.Valid(l.body) {
				t.Errorf("message %d: %s part is not valid UTF-8 after decoding", i, l.mediaType)
			}
			if l.mediaType == "message/rfc822" {
				if _, inner := parse(t, i, l.body); len(inner) == 0 {
					t.Errorf("message %d: empty embedded message", i)
				}
			}
		}
	}
}

func TestMessageIDsUnique(t *testing.T) {
	seen := map[string]int{}
	for i, m := range Messages() {
		h, _ := parse(t, i, m.Raw)
		id, err := h.MessageID()
		if err != nil || id == "" {
			t.Fatalf("message %d: Message-ID = %q, %v", i, id, err)
		}
		if j, ok := seen[id]; ok {
			t.Errorf("messages %d and %d share Message-ID %q", j, i, id)
		}
		seen[id] = i
	}
}

func TestLineEndings(t *testing.T) {
	for i, m := range Messages() {
		raw := m.Raw
		if !bytes.HasSuffix(raw, []byte("\r\n")) {
			t.Errorf("message %d does not end with CRLF", i)
		}
		for j := 0; j < len(raw); j++ {
			switch raw[j] {
			case '\n':
				if j == 0 || raw[j-1] != '\r' {
					t.Fatalf("message %d: bare LF at offset %d", i, j)
				}
			case '\r':
				if j+1 >= len(raw) || raw[j+1] != '\n' {
					t.Fatalf("message %d: bare CR at offset %d", i, j)
				}
			}
		}
		for n, line := range bytes.Split(raw, []byte("\r\n")) {
			if len(line) > 998 {
				t.Errorf("message %d: line %d is %d bytes long", i, n+1, len(line))
			}
		}
	}
}

func TestPlantedWord(t *testing.T) {
	if PlantedWord == "" || strings.ContainsAny(PlantedWord, " \t\r\n") {
		t.Fatalf("bad PlantedWord %q", PlantedWord)
	}
	var hits []int
	for i, m := range Messages() {
		if bytes.Contains(m.Raw, []byte(PlantedWord)) {
			hits = append(hits, i)
		}
	}
	if len(hits) != 1 {
		t.Fatalf("PlantedWord found in messages %v, want exactly one", hits)
	}
	m := Messages()[hits[0]]
	if m.Mailbox != "Work/Projects" {
		t.Errorf("PlantedWord is in mailbox %q, want Work/Projects", m.Mailbox)
	}
	end := bytes.Index(m.Raw, []byte("\r\n\r\n"))
	if bytes.Contains(m.Raw[:end], []byte(PlantedWord)) {
		t.Errorf("PlantedWord appears in the header")
	}
	if bytes.Count(m.Raw, []byte(PlantedWord)) != 1 {
		t.Errorf("PlantedWord appears more than once in its message")
	}
	_, leaves := parse(t, hits[0], m.Raw)
	found := false
	for _, l := range leaves {
		if l.mediaType == "text/plain" && bytes.Contains(l.body, []byte(PlantedWord)) {
			found = true
		}
	}
	if !found {
		t.Errorf("PlantedWord not found in a decoded text/plain part")
	}
}

func TestMailboxes(t *testing.T) {
	boxes := Mailboxes()
	index := map[string]int{}
	for i, mb := range boxes {
		if _, dup := index[mb]; dup {
			t.Errorf("duplicate mailbox %q", mb)
		}
		index[mb] = i
		if strings.Contains(mb, ".") {
			t.Errorf("mailbox %q contains '.'", mb)
		}
		if !utf8.ValidString(mb) {
			t.Errorf("mailbox %q is not valid UTF-8", mb)
		}
	}
	for _, want := range []string{"INBOX", "Sent", "Drafts", "Trash", "Work", "Work/Projects", "Archive/2025", "Archive/2024", "Reçus"} {
		if _, ok := index[want]; !ok {
			t.Errorf("Mailboxes() lacks %q", want)
		}
	}
	if _, ok := index["Archive"]; ok {
		t.Errorf("Mailboxes() must not list the parent %q", "Archive")
	}
	// Parents before children.
	for i, mb := range boxes {
		for p := mb; strings.Contains(p, "/"); {
			p = p[:strings.LastIndex(p, "/")]
			if j, ok := index[p]; ok && j > i {
				t.Errorf("parent %q listed after child %q", p, mb)
			}
		}
	}
	perBox := map[string]int{}
	for i, m := range Messages() {
		if _, ok := index[m.Mailbox]; !ok {
			t.Errorf("message %d: mailbox %q not in Mailboxes()", i, m.Mailbox)
		}
		perBox[m.Mailbox]++
	}
	t.Logf("messages per mailbox: %v", perBox)
	if n := perBox["INBOX"]; n < 12 || n > 20 {
		t.Errorf("INBOX has %d messages, want about 15", n)
	}
	for _, mb := range boxes {
		if perBox[mb] == 0 {
			t.Errorf("mailbox %q has no messages", mb)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b := Messages(), Messages()
	if len(a) != len(b) {
		t.Fatalf("lengths differ: %d vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Mailbox != b[i].Mailbox || !a[i].Date.Equal(b[i].Date) ||
			!bytes.Equal(a[i].Raw, b[i].Raw) || strings.Join(a[i].Flags, " ") != strings.Join(b[i].Flags, " ") {
			t.Errorf("message %d differs between calls", i)
		}
	}
	// Callers may modify the result.
	a[0].Raw[0] = 'X'
	a[0].Flags = append(a[0].Flags[:0], "$Changed")
	if c := Messages(); c[0].Raw[0] == 'X' || len(c[0].Flags) > 0 && c[0].Flags[0] == "$Changed" {
		t.Errorf("Messages() shares memory between calls")
	}
	mb := Mailboxes()
	mb[0] = "changed"
	if Mailboxes()[0] == "changed" {
		t.Errorf("Mailboxes() shares memory between calls")
	}
}

func TestDates(t *testing.T) {
	lo := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	hi := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	seen := map[int64]int{}
	zones := map[int]bool{}
	for i, m := range Messages() {
		if m.Date.Before(lo) || !m.Date.Before(hi) {
			t.Errorf("message %d: INTERNALDATE %v outside 2025-2026", i, m.Date)
		}
		if m.Date.Nanosecond() != 0 {
			t.Errorf("message %d: INTERNALDATE has sub-second precision", i)
		}
		if j, ok := seen[m.Date.Unix()]; ok {
			t.Errorf("messages %d and %d share INTERNALDATE %v", j, i, m.Date)
		}
		seen[m.Date.Unix()] = i
		_, off := m.Date.Zone()
		zones[off] = true

		h, _ := parse(t, i, m.Raw)
		d, err := h.Date()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if delta := m.Date.Sub(d); delta < 0 || delta > time.Minute {
			t.Errorf("message %d: INTERNALDATE %v is not shortly after Date %v", i, m.Date, d)
		}
	}
	if len(zones) < 3 {
		t.Errorf("INTERNALDATEs use only %d time zones", len(zones))
	}
}

// TestCoverage checks that the sample contains the message shapes a client
// must cope with.
func TestCoverage(t *testing.T) {
	rawHeader := func(raw []byte) textproto.Header {
		h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	has := map[string]bool{}
	msgs := Messages()
	for i, m := range msgs {
		th := rawHeader(m.Raw)
		rawSubj := th.Get("Subject")
		h, leaves := parse(t, i, m.Raw)
		subj, _ := h.Subject()
		switch {
		case !th.Has("Subject"):
			has["no subject header"] = true
		case rawSubj == "":
			has["empty subject"] = true
		}
		if strings.Contains(rawSubj, "=?UTF-8?Q?") {
			has["utf8 Q subject"] = true
		}
		if strings.Contains(rawSubj, "=?UTF-8?B?") {
			has["utf8 B subject"] = true
		}
		if strings.Contains(rawSubj, "=?ISO-8859-1?") {
			has["latin1 subject"] = true
			if subj != "Réunion d'équipe à 14h" {
				t.Errorf("ISO-8859-1 subject decoded as %q", subj)
			}
		}
		if len(subj) > 300 {
			has["long subject"] = true
		}
		if strings.Contains(subj, "/") && strings.Contains(subj, ":") {
			has["subject with / and :"] = true
		}
		if strings.HasPrefix(subj, "Re: ") && th.Has("In-Reply-To") {
			has["reply"] = true
		}
		if len(m.Flags) == 0 {
			has["no flags"] = true
		}
		if len(m.Raw) > 250*1024 {
			has["large message"] = true
		}
		mt, _, _ := h.ContentType()
		has[mt] = true
		for _, l := range leaves {
			cte := strings.ToLower(l.header.Get("Content-Transfer-Encoding"))
			if strings.HasPrefix(l.mediaType, "text/") {
				has["text "+cte] = true
				if cte == "quoted-printable" && !isASCII(l.body) {
					has["qp non-ascii"] = true
				}
			}
			if disp, _, err := l.header.ContentDisposition(); err == nil && disp == "attachment" && cte == "base64" {
				has["base64 attachment"] = true
			}
			switch l.mediaType {
			case "image/png":
				img, err := png.Decode(bytes.NewReader(l.body))
				if err != nil {
					t.Errorf("message %d: PNG attachment does not decode: %v", i, err)
				} else if len(l.body) > 250*1024 {
					has["large png"] = true
					t.Logf("large PNG: %d bytes, %v", len(l.body), img.Bounds())
				}
			case "application/pdf":
				if !bytes.HasPrefix(l.body, []byte("%PDF-1.")) || !bytes.HasSuffix(l.body, []byte("%%EOF\n")) {
					t.Errorf("message %d: PDF attachment does not look like a PDF", i)
				}
			}
		}
	}
	for _, want := range []string{
		"no subject header", "empty subject", "utf8 Q subject", "utf8 B subject",
		"latin1 subject", "long subject", "subject with / and :", "reply", "no flags",
		"large message", "large png", "multipart/alternative", "multipart/mixed",
		"text/plain", "text 7bit", "text 8bit", "text base64", "text quoted-printable",
		"qp non-ascii", "base64 attachment",
	} {
		if !has[want] {
			t.Errorf("sample lacks: %s", want)
		}
	}
	if n := len(msgs); n < 35 || n > 50 {
		t.Errorf("%d messages, want about 40", n)
	}
}

// TestThread checks that In-Reply-To/References point at existing messages.
func TestThread(t *testing.T) {
	ids := map[string]bool{}
	var replies []mail.Header
	for i, m := range Messages() {
		h, _ := parse(t, i, m.Raw)
		id, _ := h.MessageID()
		ids[id] = true
		if h.Has("In-Reply-To") {
			replies = append(replies, h)
		}
	}
	longest, linked := 0, 0
	for _, h := range replies {
		refs, err := h.MsgIDList("References")
		if err != nil {
			t.Fatal(err)
		}
		parent, err := h.MsgIDList("In-Reply-To")
		if err != nil || len(parent) != 1 {
			t.Fatalf("In-Reply-To = %v, %v", parent, err)
		}
		if ids[parent[0]] {
			linked++
		}
		if len(refs) > longest {
			longest = len(refs)
		}
	}
	if linked < 5 {
		t.Errorf("only %d replies point at a message of the sample", linked)
	}
	if longest < 3 {
		t.Errorf("no thread of depth >= 4 found (longest References: %d)", longest)
	}
}

func TestEncodeWordsRoundTrip(t *testing.T) {
	var dec mime.WordDecoder
	for _, s := range []string{
		"Café",
		"Grüße aus München 🍺",
		strings.Repeat("Ünïcode ✨ ", 20),
		"会議の議事録（10月20日）",
	} {
		for _, enc := range []byte{'Q', 'B'} {
			words := encodeWords(enc, s)
			for _, line := range strings.Split(words, "\n") {
				if len(line) > 76 {
					t.Errorf("encoded line too long (%d): %q", len(line), line)
				}
			}
			got, err := dec.DecodeHeader(strings.ReplaceAll(words, "\n", ""))
			if err != nil || got != s {
				t.Errorf("encodeWords(%c, %q) round trip = %q, %v", enc, s, got, err)
			}
		}
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
