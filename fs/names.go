package fs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"mailfs/mail"
)

// NameStyle chooses how message files are named.
type NameStyle int

const (
	// NamesReadable is "2026-11-24_0913_Re_Lunch_on_Friday_4711.eml": the
	// INTERNALDATE in UTC (so plain ls sorts by arrival, whatever the
	// mounting machine's time zone), a cleaned-up subject, and the UID.
	NamesReadable NameStyle = iota
	// NamesUID is "4711.eml".
	NamesUID
	// NamesDate is NamesReadable with the date of the Date header (the
	// sender's), so that mail imported or migrated on one day (every
	// INTERNALDATE that day) sorts by when it was written; INTERNALDATE
	// when the header is missing or unparsable. Listings fetch the Date
	// header for it (UsesDate).
	NamesDate
)

// ParseNameStyle reads the --names flag.
func ParseNameStyle(s string) (NameStyle, error) {
	switch s {
	case "", "readable":
		return NamesReadable, nil
	case "uid":
		return NamesUID, nil
	case "date":
		return NamesDate, nil
	}
	return 0, fmt.Errorf("--names must be readable, date or uid, not %q", s)
}

// UsesDate reports whether names of the style are made from the Date
// header, which listings must then fetch (imapback.Config.Dates,
// mail.Options.Dates).
func (s NameStyle) UsesDate() bool { return s == NamesDate }

// EntryName is the file name of message e in style: MessageName of its
// INTERNALDATE, or with NamesDate of its Date header when it has one.
// Both are fixed for the message's life, and the listing, a lookup by
// UID and a search all fetch the same fields, so the name never changes.
func EntryName(style NameStyle, e mail.Entry) string {
	date := e.InternalDate
	if style == NamesDate && e.DateHeader != 0 {
		date = time.Unix(e.DateHeader, 0)
	}
	return MessageName(style, date, e.Subject, e.UID)
}

const (
	messageExt      = ".eml"
	maxSubjectBytes = 120 // keeps names readable and far below NAME_MAX (255)
	noSubject       = "no-subject"
)

// MessageName is the file name of a message. It depends only on the
// date (arrival, or the Date header: EntryName), subject and UID, which
// never change for a message, so the name is stable for the message's
// life; the UID makes it unique in its directory and lets a lookup find
// the message without a listing.
func MessageName(style NameStyle, date time.Time, subject string, uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if style == NamesUID {
		return id + messageExt
	}
	return date.UTC().Format("2006-01-02_1504") + "_" + cleanSubject(subject) + "_" + id + messageExt
}

// ParseMessageUID extracts the UID from a name made by MessageName. The
// caller still compares the whole name with the one the message has.
func ParseMessageUID(name string) (uint32, bool) {
	base, ok := strings.CutSuffix(name, messageExt)
	if !ok {
		return 0, false
	}
	if i := strings.LastIndexByte(base, '_'); i >= 0 {
		base = base[i+1:]
	}
	if base == "" || base[0] == '0' || len(base) > 10 {
		return 0, false
	}
	n, err := strconv.ParseUint(base, 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint32(n), true
}

// cleanSubject turns a decoded subject into a name fragment: letters,
// marks and digits of any script, and - . , + = @ are kept; every other run
// (spaces, slashes, quotes, shell metacharacters, controls, invalid UTF-8,
// bidi controls) becomes one "_". The result is valid UTF-8 and at most
// maxSubjectBytes long.
func cleanSubject(s string) string {
	var b strings.Builder
	pendingSep := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		keep := r != utf8.RuneError &&
			(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || strings.ContainsRune("-.,+=@", r))
		if !keep {
			pendingSep = b.Len() > 0
			continue
		}
		n := utf8.RuneLen(r)
		if pendingSep {
			n++
		}
		if b.Len()+n > maxSubjectBytes {
			break
		}
		if pendingSep {
			b.WriteByte('_')
			pendingSep = false
		}
		b.WriteRune(r)
	}
	out := strings.Trim(b.String(), ".")
	if out == "" {
		return noSubject
	}
	return out
}

// EscapeMailboxPart makes one level of a mailbox name usable as a file
// name. Bytes that cannot appear in a name (/, NUL, controls, DEL, bytes of
// invalid UTF-8) and the whole names "." and ".." become %XX; a "%" becomes
// %25 only where two hex digits follow it, so ordinary names like
// "100% done" stay as they are and UnescapeMailboxPart always gets the
// original back. An empty part (from "a//b") is "%20", which no other part
// escapes to, since a space is never escaped.
func EscapeMailboxPart(s string) string {
	switch s {
	case "":
		return emptyPart
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		switch {
		case r == utf8.RuneError && size == 1, c == '/', c < 0x20, c == 0x7f:
			fmt.Fprintf(&b, "%%%02X", c)
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteString("%25")
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

const emptyPart = "%20"

// UnescapeMailboxPart reverses EscapeMailboxPart.
func UnescapeMailboxPart(s string) string {
	if s == emptyPart {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
