package files

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"mailfs/mail"
)

// Maildir names (the .maildir view): a message is UNIQUE in new/ and
// UNIQUE:2,FLAGS in cur/. UNIQUE is the arrival time (INTERNALDATE, Unix
// seconds), then the UIDVALIDITY and UID: it sorts by arrival and never
// changes while the message exists. FLAGS are the standard letters in
// ASCII order; a flag change is a rename that changes only them.

// maildirLetters maps the Maildir flag letters to IMAP flags, in ASCII
// order of the letters.
var maildirLetters = []struct {
	letter byte
	flag   string
}{
	{'D', `\Draft`},
	{'F', `\Flagged`},
	{'P', `$Forwarded`},
	{'R', `\Answered`},
	{'S', `\Seen`},
	{'T', `\Deleted`},
}

// MaildirUnique is the unique part of a message's Maildir name.
func MaildirUnique(e mail.Entry) string {
	return fmt.Sprintf("%d.V%dU%d.mailfs", e.InternalDate.Unix(), e.UIDValidity, e.UID)
}

// MaildirFlags is the FLAGS part of a message's name in cur/.
func MaildirFlags(flags []string) string {
	var b strings.Builder
	for _, l := range maildirLetters {
		for _, f := range flags {
			if strings.EqualFold(f, l.flag) {
				b.WriteByte(l.letter)
				break
			}
		}
	}
	return b.String()
}

// MaildirName is a message's name in cur/, or in new/ (new): there
// without the flags part when it has no flags.
func MaildirName(e mail.Entry, new bool) string {
	letters := MaildirFlags(e.Flags)
	if new && letters == "" {
		return MaildirUnique(e)
	}
	return MaildirUnique(e) + ":2," + letters
}

// ParseMaildirName splits a Maildir name into its unique part and, after
// ":2,", its flag letters (hasInfo false when there is no ":2,").
func ParseMaildirName(name string) (unique, letters string, hasInfo bool) {
	if i := strings.Index(name, ":2,"); i >= 0 {
		return name[:i], name[i+3:], true
	}
	// Some clients write "!2," or ";2," where ":" cannot be used.
	for _, sep := range []string{"!2,", ";2,"} {
		if i := strings.Index(name, sep); i >= 0 {
			return name[:i], name[i+3:], true
		}
	}
	return name, "", false
}

// ParseMaildirUnique finds the UIDVALIDITY and UID in a unique part this
// view made.
func ParseMaildirUnique(unique string) (mail.Ref, bool) {
	rest, ok := strings.CutSuffix(unique, ".mailfs")
	if !ok {
		return mail.Ref{}, false
	}
	i := strings.LastIndex(rest, ".V")
	if i < 0 {
		return mail.Ref{}, false
	}
	vu := rest[i+2:]
	j := strings.IndexByte(vu, 'U')
	if j < 0 {
		return mail.Ref{}, false
	}
	v, err1 := strconv.ParseUint(vu[:j], 10, 32)
	u, err2 := strconv.ParseUint(vu[j+1:], 10, 32)
	if err1 != nil || err2 != nil || u == 0 {
		return mail.Ref{}, false
	}
	return mail.Ref{UIDValidity: uint32(v), UID: uint32(u)}, true
}

// FlagsFromLetters returns flags with the Maildir flags set as letters
// says and every other flag (keywords) kept.
func FlagsFromLetters(flags []string, letters string) []string {
	var out []string
	for _, f := range flags {
		mapped := false
		for _, l := range maildirLetters {
			mapped = mapped || strings.EqualFold(f, l.flag)
		}
		if !mapped {
			out = append(out, f)
		}
	}
	for _, l := range maildirLetters {
		if strings.IndexByte(letters, l.letter) >= 0 {
			out = append(out, l.flag)
		}
	}
	sort.Strings(out)
	return out
}

// checkMaildirName refuses a name a client renames a message to that this
// view could not show as asked: a colon in the unique part (":1," and
// other info this view does not know), or flag letters it cannot store,
// repeated or out of ASCII order (the Maildir convention: a client that
// asked for ":2,SF" would not find its file under ":2,FS").
func checkMaildirName(name string) error {
	unique, letters, _ := ParseMaildirName(name)
	if unique == "" || strings.ContainsAny(unique, ":/") {
		return fmt.Errorf("%w: %q is not a Maildir name this view can keep (UNIQUE or UNIQUE:2,FLAGS, no other colon)", mail.ErrInvalid, name)
	}
	known := ""
	for _, l := range maildirLetters {
		known += string(l.letter)
	}
	for i := 0; i < len(letters); i++ {
		c := letters[i]
		if !strings.ContainsRune(known, rune(c)) {
			return fmt.Errorf("%w: flag letter %q of %q is not one the server can store (%s)", mail.ErrInvalid, c, name, known)
		}
		if i > 0 && letters[i-1] >= c {
			return fmt.Errorf("%w: the flags of %q are not in ASCII order, each once", mail.ErrInvalid, name)
		}
	}
	return nil
}
