package mail

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func show(n Node) string {
	switch x := n.(type) {
	case nil:
		return "all"
	case Match:
		switch x.Field {
		case "header":
			return fmt.Sprintf("header(%s=%s)", x.Name, x.Value)
		case "since", "before", "on":
			return fmt.Sprintf("%s(%s)", x.Field, x.Date.Format("2006-01-02"))
		case "larger", "smaller":
			return fmt.Sprintf("%s(%d)", x.Field, x.Size)
		}
		return fmt.Sprintf("%s(%s)", x.Field, x.Value)
	case Not:
		return "not " + show(x.X)
	case And:
		s := "and["
		for i, y := range x {
			if i > 0 {
				s += " "
			}
			s += show(y)
		}
		return s + "]"
	case Or:
		s := "or["
		for i, y := range x {
			if i > 0 {
				s += " "
			}
			s += show(y)
		}
		return s + "]"
	}
	return "?"
}

func TestParseQuery(t *testing.T) {
	now := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ in, want, boxes string }{
		{"invoice", "text(invoice)", ""},
		{`"quarterly report"`, "text(quarterly report)", ""},
		{"from:alice invoice", "and[from(alice) text(invoice)]", ""},
		{`from:"Alice Smith"`, "from(Alice Smith)", ""},
		{"to:bob cc:carol bcc:dave subject:Lunch body:café", "and[to(bob) cc(carol) bcc(dave) subject(Lunch) body(café)]", ""},
		{"header:X-Mailer:mutt", "header(X-Mailer=mutt)", ""},
		{"since:2026-01-01 before:2026-02-01", "and[since(2026-01-01) before(2026-02-01)]", ""},
		{"after:2026-01-01 on:2026-03-04", "and[since(2026-01-01) on(2026-03-04)]", ""},
		{"newer_than:7d", "since(2026-11-25)", ""},
		{"older_than:1y", "before(2025-12-02)", ""},
		{"older_than:3m", "before(2026-09-02)", ""},
		{"is:unread", `noflag(\Seen)`, ""},
		{"is:read is:flagged is:answered is:draft is:deleted", `and[flag(\Seen) flag(\Flagged) flag(\Answered) flag(\Draft) flag(\Deleted)]`, ""},
		{"keyword:$Todo", "flag($Todo)", ""},
		{"larger:100K smaller:2M", "and[larger(102400) smaller(2097152)]", ""},
		{"-is:read", `not flag(\Seen)`, ""},
		{"a OR b", "or[text(a) text(b)]", ""},
		{"a OR b OR c", "or[text(a) text(b) text(c)]", ""},
		{"(from:a OR from:b) -subject:spam", "and[or[from(a) from(b)] not subject(spam)]", ""},
		{"in:INBOX is:unread", `noflag(\Seen)`, "INBOX"},
		{"in:Work in:Archive/2024", "all", "Work,Archive/2024"},
		{"in:Reçus café", "text(café)", "Reçus"},
	} {
		q, err := ParseQuery(tc.in, now)
		if err != nil {
			t.Errorf("ParseQuery(%q): %v", tc.in, err)
			continue
		}
		if got := show(q.Root); got != tc.want {
			t.Errorf("ParseQuery(%q) = %s, want %s", tc.in, got, tc.want)
		}
		boxes := ""
		for i, b := range q.Boxes {
			if i > 0 {
				boxes += ","
			}
			boxes += b
		}
		if boxes != tc.boxes {
			t.Errorf("ParseQuery(%q) boxes %q, want %q", tc.in, boxes, tc.boxes)
		}
	}
}

func TestParseQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		in  string
		pos int
	}{
		{"", 0},
		{`"unterminated`, 0},
		{"from:", 0},
		{"since:yesterday", 0},
		{"is:shiny", 0},
		{"larger:lots", 0},
		{"older_than:7x", 0},
		{"(a OR b", 0},
		{"a )", 2},
		{"a OR", 4},
		{"nosuch:field", 0},
		{"-in:INBOX", 0},
		{"a OR in:INBOX", 0},
		{"header:nocolon", 0},
		{"keyword:bad%flag", 0},
		{`a raw:"has:attachment"`, 2},
	} {
		_, err := ParseQuery(tc.in, time.Now())
		var qe *QueryError
		if !errors.As(err, &qe) || !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseQuery(%q) = %v, want a QueryError", tc.in, err)
			continue
		}
		if qe.Pos != tc.pos {
			t.Errorf("ParseQuery(%q) fails at %d, want %d (%v)", tc.in, qe.Pos, tc.pos, err)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"from:a b", `"x y" OR (z -w)`, "in:INBOX larger:1M", "since:2026-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s, time.Now())
		if err == nil && q == nil {
			t.Fatal("nil query without error")
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v is not ErrInvalid", err)
		}
	})
}
