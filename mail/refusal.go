package mail

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ServerRefusal is a server's answer refusing a command (a tagged NO or
// BAD): what it means, as a sentinel it wraps, and the server's own words,
// so that a log line and mailfs status can say that the server refused
// and quote it.
type ServerRefusal struct {
	Op    string // the command, as the backend names it ("APPEND Drafts")
	Err   error  // the sentinel the answer maps to
	Type  string // "NO" or "BAD"
	Code  string // the response code, "" when the server sent none
	Words string // the server's text
}

func (e *ServerRefusal) Error() string {
	return fmt.Sprintf("%s: %v (server said %s %q)", e.Op, e.Err, e.Type, e.Words)
}

func (e *ServerRefusal) Unwrap() error { return e.Err }

// WhoRefused says who refused an operation that failed with err, and why,
// each on one line: "the server" with its words (and what they mean, when
// that is more than a refusal) when err carries its answer; "mailfs" with
// its reason for what mailfs refuses itself (a file that is not a
// message, a name that cannot be a mailbox); else "the server" with err.
func WhoRefused(err error) (by, why string) {
	var r *ServerRefusal
	if errors.As(err, &r) {
		why := strconv.Quote(OneLine(r.Words))
		if !errors.Is(r.Err, ErrRefused) {
			why += " (" + r.Err.Error() + ")"
		}
		return "the server", why
	}
	if errors.Is(err, ErrInvalid) {
		return "mailfs", OneLine(strings.Replace(err.Error(), ErrInvalid.Error()+": ", "", 1))
	}
	return "the server", OneLine(err.Error())
}

// Describe words err for one line of mailfs status: who refused and why
// (WhoRefused) for a refusal, else the error on one line.
func Describe(err error) string {
	var r *ServerRefusal
	if errors.As(err, &r) || errors.Is(err, ErrInvalid) {
		by, why := WhoRefused(err)
		return "refused by " + by + ": " + why
	}
	return OneLine(err.Error())
}

// OneLine puts a text (a server's words, an error quoting a file's line)
// on one line: runs of white space, line breaks included, become a space.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
