package mail

import (
	"fmt"
	"strings"
)

// systemFlags are the IMAP system flags a user may set, by lower-case name.
var systemFlags = map[string]string{
	`\seen`:     `\Seen`,
	`\answered`: `\Answered`,
	`\flagged`:  `\Flagged`,
	`\draft`:    `\Draft`,
}

// ParseFlags reads a user.mail.flags value: flags separated by white
// space. System flags are matched case-insensitively; keywords must be
// IMAP atoms. \Deleted is refused (rm removes messages) and so is \Recent
// (only servers set it).
func ParseFlags(s string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, f := range strings.Fields(s) {
		if strings.HasPrefix(f, `\`) {
			canon, ok := systemFlags[strings.ToLower(f)]
			if !ok {
				return nil, fmt.Errorf("%w: flag %q cannot be set (system flags: \\Seen \\Answered \\Flagged \\Draft; use rm to delete)", ErrInvalid, f)
			}
			f = canon
		} else if err := checkKeyword(f); err != nil {
			return nil, err
		}
		if !seen[strings.ToLower(f)] {
			seen[strings.ToLower(f)] = true
			out = append(out, f)
		}
	}
	return out, nil
}

func checkKeyword(f string) error {
	if len(f) > 100 {
		return fmt.Errorf("%w: keyword longer than 100 bytes", ErrInvalid)
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return fmt.Errorf("%w: keyword %q holds a character IMAP does not allow (%q)", ErrInvalid, f, c)
		}
	}
	return nil
}

// SettableFlags drops the flags a client cannot set (\Recent, which only
// servers set): what a view shows and what an APPEND or STORE sends.
func SettableFlags(flags []string) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if !strings.EqualFold(f, `\Recent`) {
			out = append(out, f)
		}
	}
	return out
}
