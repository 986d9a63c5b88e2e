package mail

import (
	"testing"
	"time"
)

// TestParseHeaderDate: Date headers as senders write them, read the same
// on every machine (alphabetic zones from RFC 5322's table, never from
// the machine's time zone); what cannot be a date is 0.
func TestParseHeaderDate(t *testing.T) {
	at := func(s string) int64 {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.Unix()
	}
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"Mon, 7 Dec 2026 09:50:00 +0100", at("2026-12-07T08:50:00Z")},
		{"  Mon, 07 Dec 2026 09:50:00 -0500  ", at("2026-12-07T14:50:00Z")},
		{"Mon, 7 Dec 2026 09:50:00 +0100 (CET)", at("2026-12-07T08:50:00Z")},
		{"7 Dec 2026 09:50 +0100", at("2026-12-07T08:50:00Z")},
		{"Mon, 7 Dec 26 09:50:00 +0000", at("2026-12-07T09:50:00Z")},
		{"Mon, 7 Dec 2026 09:50:00 GMT", at("2026-12-07T09:50:00Z")},
		{"Mon, 7 Dec 2026 09:50:00 EST", at("2026-12-07T14:50:00Z")},
		{"Mon, 7 Dec 2026 09:50:00 PDT", at("2026-12-07T16:50:00Z")},
		{"Mon, 7 Dec 2026 09:50:00 CET", at("2026-12-07T09:50:00Z")}, // not in RFC 5322: -0000
		{"Mon, 7 Dec 2026 09:50:00 -0000 (UTC)", at("2026-12-07T09:50:00Z")},
		{"", 0},
		{"yesterday", 0},
		{"Thu, 1 Jan 1970 00:00:00 +0000", 0},
		{"Fri, 2 Jan 1970 10:00:00 +0000", 0},
		{"Fri, 1 Jan 1971 00:00:00 +0000", at("1971-01-01T00:00:00Z")},
		{"Monday, 7 December 2026 09:50:00 +0100", 0},
	} {
		for _, local := range []*time.Location{time.UTC, time.FixedZone("CET", 3600)} {
			saved := time.Local
			time.Local = local // a machine in Berlin: Go alone would read "CET" as +0100 there
			got := ParseHeaderDate(tc.in)
			time.Local = saved
			if got != tc.want {
				t.Errorf("ParseHeaderDate(%q) in %v = %d (%v), want %d (%v)", tc.in, local, got, time.Unix(got, 0).UTC(), tc.want, time.Unix(tc.want, 0).UTC())
			}
		}
	}
	if got := HeaderDate([]byte("Subject: x\r\nDate: Tue, 3 Mar 2015 10:00:00 +0000\r\n\r\nbody\r\n")); got != at("2015-03-03T10:00:00Z") {
		t.Errorf("HeaderDate of a message: %d", got)
	}
	if got := HeaderDate([]byte("Subject: x\r\n\r\nDate: Tue, 3 Mar 2015 10:00:00 +0000\r\n")); got != 0 {
		t.Errorf("HeaderDate read a Date in the body: %d", got)
	}
}
