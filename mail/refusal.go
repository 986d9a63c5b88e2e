package mail

import "fmt"

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
