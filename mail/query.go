package mail

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Queries: the search language of .search directories, after Gmail's and
// notmuch's. A query parses into a tree of Nodes that a Backend turns
// into its own search (IMAP SEARCH criteria); nothing here knows IMAP.
//
//	word "a phrase"          header and body (TEXT)
//	from: to: cc: bcc: subject: body:   that field (or the body)
//	header:NAME:VALUE        any header field
//	since: after: before: on:   INTERNALDATE, YYYY-MM-DD
//	newer_than: older_than:  7d, 3w, 3m, 1y (from now)
//	is:unread is:read is:flagged is:answered is:draft is:deleted
//	keyword:X                a keyword flag
//	larger: smaller:         100, 100K, 2M, 1G (bytes)
//	in:MAILBOX               that mailbox and its children (top level only)
//	-term   a OR b   ( … )   not, or, grouping; terms side by side: and

// Node is a parsed query term or combination.
type Node interface{ node() }

// Match is one criterion. Field is one of text, from, to, cc, bcc,
// subject, body, header (Name set), since, before, on (Date set), larger,
// smaller (Size set), flag, noflag (Value is the flag).
type Match struct {
	Field string
	Name  string // header name for Field "header"
	Value string
	Date  time.Time // midnight UTC of the day
	Size  int64
}

// Not, And and Or combine nodes.
type (
	Not struct{ X Node }
	And []Node
	Or  []Node
)

func (Match) node() {}
func (Not) node()   {}
func (And) node()   {}
func (Or) node()    {}

// Query is a parsed query: the criteria, and the mailboxes named by in:
// (empty: every mailbox).
type Query struct {
	Text  string
	Root  Node // nil: every message
	Boxes []string
}

// QueryError says where a query fails to parse.
type QueryError struct {
	Query string
	Pos   int // byte offset
	Msg   string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("query %q: at %d: %s", e.Query, e.Pos, e.Msg)
}

func (e *QueryError) Unwrap() error { return ErrInvalid }

// ParseQuery parses a query; now is the time older_than: counts from.
func ParseQuery(text string, now time.Time) (*Query, error) {
	p := &queryParser{text: text, now: now}
	p.lex()
	if p.err != nil {
		return nil, p.err
	}
	q := &Query{Text: text}
	if len(p.toks) == 0 {
		return nil, &QueryError{text, 0, "empty query"}
	}
	root, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, &QueryError{text, p.toks[p.i].pos, fmt.Sprintf("unexpected %q", p.toks[p.i].s)}
	}
	// in: terms are mailboxes, not criteria: only in the top-level and.
	var rest And
	terms := And{root}
	if a, ok := root.(And); ok {
		terms = a
	}
	for _, n := range terms {
		if m, ok := n.(Match); ok && m.Field == "in" {
			q.Boxes = append(q.Boxes, m.Value)
			continue
		}
		if hasIn(n) {
			return nil, &QueryError{text, 0, "in: cannot be negated or inside OR or parentheses"}
		}
		rest = append(rest, n)
	}
	switch len(rest) {
	case 0:
	case 1:
		q.Root = rest[0]
	default:
		q.Root = rest
	}
	return q, nil
}

func hasIn(n Node) bool {
	switch x := n.(type) {
	case Match:
		return x.Field == "in"
	case Not:
		return hasIn(x.X)
	case And:
		for _, y := range x {
			if hasIn(y) {
				return true
			}
		}
	case Or:
		for _, y := range x {
			if hasIn(y) {
				return true
			}
		}
	}
	return false
}

type qtok struct {
	s      string // word (with field prefix) or ( ) -
	pos    int
	quoted bool // a "phrase" (its value part)
}

type queryParser struct {
	text string
	now  time.Time
	toks []qtok
	i    int
	err  error
}

// lex splits into words, "quoted phrases" (also as field:"value"), ( ) and
// a leading -.
func (p *queryParser) lex() {
	s := p.text
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')':
			p.toks = append(p.toks, qtok{s: string(c), pos: i})
			i++
		case c == '-' && (i+1 < len(s) && s[i+1] != ' '):
			p.toks = append(p.toks, qtok{s: "-", pos: i})
			i++
		default:
			start := i
			var b strings.Builder
			quoted := false
			for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '(' && s[i] != ')' {
				if s[i] == '"' {
					end := strings.IndexByte(s[i+1:], '"')
					if end < 0 {
						p.err = &QueryError{s, i, "unterminated quote"}
						return
					}
					b.WriteString(s[i+1 : i+1+end])
					i += end + 2
					quoted = true
					continue
				}
				b.WriteByte(s[i])
				i++
			}
			p.toks = append(p.toks, qtok{s: b.String(), pos: start, quoted: quoted})
		}
	}
}

func (p *queryParser) peek() (qtok, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return qtok{}, false
}

func (p *queryParser) or() (Node, error) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	alts := Or{first}
	for {
		t, ok := p.peek()
		if !ok || t.s != "OR" || t.quoted {
			break
		}
		p.i++
		next, err := p.and()
		if err != nil {
			return nil, err
		}
		alts = append(alts, next)
	}
	if len(alts) == 1 {
		return first, nil
	}
	return alts, nil
}

func (p *queryParser) and() (Node, error) {
	var all And
	for {
		t, ok := p.peek()
		if !ok || t.s == ")" || (t.s == "OR" && !t.quoted) {
			break
		}
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		all = append(all, n)
	}
	switch len(all) {
	case 0:
		pos := len(p.text)
		if t, ok := p.peek(); ok {
			pos = t.pos
		}
		return nil, &QueryError{p.text, pos, "a term is missing"}
	case 1:
		return all[0], nil
	}
	return all, nil
}

func (p *queryParser) unary() (Node, error) {
	t, _ := p.peek()
	if t.s == "-" && !t.quoted {
		p.i++
		if _, ok := p.peek(); !ok {
			return nil, &QueryError{p.text, t.pos, "nothing after -"}
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return Not{x}, nil
	}
	if t.s == "(" && !t.quoted {
		p.i++
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if c, ok := p.peek(); !ok || c.s != ")" {
			return nil, &QueryError{p.text, t.pos, "unbalanced ("}
		}
		p.i++
		return x, nil
	}
	if t.s == ")" {
		return nil, &QueryError{p.text, t.pos, "unbalanced )"}
	}
	p.i++
	return p.term(t)
}

var sizeUnits = map[string]int64{"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}

func (p *queryParser) term(t qtok) (Node, error) {
	bad := func(format string, args ...any) error {
		return &QueryError{p.text, t.pos, fmt.Sprintf(format, args...)}
	}
	field, value, hasField := strings.Cut(t.s, ":")
	if !hasField || t.quoted && strings.HasPrefix(p.text[t.pos:], `"`) {
		if t.s == "" {
			return nil, bad("empty phrase")
		}
		return Match{Field: "text", Value: t.s}, nil
	}
	field = strings.ToLower(field)
	if value == "" {
		return nil, bad("%s: needs a value", field)
	}
	switch field {
	case "from", "to", "cc", "bcc", "subject", "body":
		return Match{Field: field, Value: value}, nil
	case "header":
		name, v, ok := strings.Cut(value, ":")
		if !ok || name == "" {
			return nil, bad("header: wants NAME:VALUE")
		}
		return Match{Field: "header", Name: name, Value: v}, nil
	case "since", "after", "before", "on":
		d, err := time.Parse("2006-01-02", value)
		if err != nil {
			return nil, bad("%s: wants a date YYYY-MM-DD, not %q", field, value)
		}
		if field == "after" {
			field = "since"
		}
		return Match{Field: field, Date: d}, nil
	case "newer_than", "older_than":
		d, err := p.ago(value)
		if err != nil {
			return nil, bad("%s: %v", field, err)
		}
		f := "since"
		if field == "older_than" {
			f = "before"
		}
		return Match{Field: f, Date: d}, nil
	case "is":
		switch strings.ToLower(value) {
		case "unread":
			return Match{Field: "noflag", Value: `\Seen`}, nil
		case "read", "seen":
			return Match{Field: "flag", Value: `\Seen`}, nil
		case "flagged", "starred":
			return Match{Field: "flag", Value: `\Flagged`}, nil
		case "answered", "replied":
			return Match{Field: "flag", Value: `\Answered`}, nil
		case "draft":
			return Match{Field: "flag", Value: `\Draft`}, nil
		case "deleted":
			return Match{Field: "flag", Value: `\Deleted`}, nil
		}
		return nil, bad("is:%s: want unread, read, flagged, answered, draft or deleted", value)
	case "keyword", "tag":
		if err := checkKeyword(value); err != nil {
			return nil, bad("%v", err)
		}
		return Match{Field: "flag", Value: value}, nil
	case "larger", "smaller":
		num := strings.TrimRightFunc(value, unicode.IsLetter)
		unit, ok := sizeUnits[strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(value[len(num):], "B"), "b"))]
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || !ok || n < 0 {
			return nil, bad("%s: wants a size such as 100K or 2M, not %q", field, value)
		}
		return Match{Field: field, Size: n * unit}, nil
	case "in":
		return Match{Field: "in", Value: value}, nil
	case "raw":
		// Gmail's X-GM-RAW: go-imap's SearchCriteria cannot carry a raw
		// search key, so it cannot be sent yet.
		return nil, bad("raw: (Gmail's X-GM-RAW) is not supported yet; write the query in mailfs's terms")
	}
	return nil, bad("unknown field %s: (see README: Search)", field)
}

// ago is now minus 7d, 3w, 3m or 1y, as a day.
func (p *queryParser) ago(v string) (time.Time, error) {
	if len(v) < 2 {
		return time.Time{}, fmt.Errorf("wants 7d, 3w, 3m or 1y, not %q", v)
	}
	n, err := strconv.Atoi(v[:len(v)-1])
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("wants 7d, 3w, 3m or 1y, not %q", v)
	}
	t := p.now.UTC()
	switch v[len(v)-1] {
	case 'd':
		t = t.AddDate(0, 0, -n)
	case 'w':
		t = t.AddDate(0, 0, -7*n)
	case 'm':
		t = t.AddDate(0, -n, 0)
	case 'y':
		t = t.AddDate(-n, 0, 0)
	default:
		return time.Time{}, fmt.Errorf("wants 7d, 3w, 3m or 1y, not %q", v)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
}
