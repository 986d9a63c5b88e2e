package fs

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"mailfs/mail"
)

var when = time.Date(2026, 11, 24, 10, 13, 0, 0, time.FixedZone("CET", 3600))

func TestMessageName(t *testing.T) {
	long := strings.Repeat("Très long sujet ", 40)
	for _, tc := range []struct {
		subject string
		uid     uint32
		want    string
	}{
		{"Re: Lunch on Friday", 4711, "2026-11-24_0913_Re_Lunch_on_Friday_4711.eml"},
		{"", 1, "2026-11-24_0913_no-subject_1.eml"},
		{"   ", 2, "2026-11-24_0913_no-subject_2.eml"},
		{"a/b\\c", 3, "2026-11-24_0913_a_b_c_3.eml"},
		{"Grüße aus Köln", 4, "2026-11-24_0913_Grüße_aus_Köln_4.eml"},
		{"日本語の件名", 5, "2026-11-24_0913_日本語の件名_5.eml"},
		{"tab\there\x00nul\x7fdel", 6, "2026-11-24_0913_tab_here_nul_del_6.eml"},
		{"$(rm -rf ~); `x` 'q' \"d\" *?", 7, "2026-11-24_0913_rm_-rf_x_q_d_7.eml"},
		{"...hidden...", 8, "2026-11-24_0913_hidden_8.eml"},
		{"bad \xff\xfe utf8", 9, "2026-11-24_0913_bad_utf8_9.eml"},
		{"rtl \u202eevil", 10, "2026-11-24_0913_rtl_evil_10.eml"},
		{"Invoice #42, v1.2 (final)", 11, "2026-11-24_0913_Invoice_42,_v1.2_final_11.eml"},
	} {
		got := MessageName(NamesReadable, when, tc.subject, tc.uid)
		if got != tc.want {
			t.Errorf("MessageName(%q) = %q, want %q", tc.subject, got, tc.want)
		}
	}
	got := MessageName(NamesReadable, when, long, 4294967295)
	if len(got) > 255 || !utf8.ValidString(got) || !strings.HasSuffix(got, "_4294967295.eml") {
		t.Errorf("long subject gives %q (%d bytes)", got, len(got))
	}
	if got := MessageName(NamesUID, when, "x", 42); got != "42.eml" {
		t.Errorf("uid style: %q", got)
	}
}

// TestEntryName: --names date takes the date of the Date header (in
// UTC), INTERNALDATE when the message has none; the other styles never
// look at it (issue 22).
func TestEntryName(t *testing.T) {
	imported := time.Date(2026, 12, 7, 9, 50, 0, 0, time.UTC) // the day of an import
	sent := time.Date(2015, 3, 3, 10, 0, 0, 0, time.FixedZone("", -5*3600))
	e := mail.Entry{Message: mail.Message{UID: 42, InternalDate: imported, Subject: "Old news", DateHeader: sent.Unix()}}
	noDate := e
	noDate.DateHeader = 0
	for _, tc := range []struct {
		style NameStyle
		e     mail.Entry
		want  string
	}{
		{NamesDate, e, "2015-03-03_1500_Old_news_42.eml"},
		{NamesDate, noDate, "2026-12-07_0950_Old_news_42.eml"},
		{NamesReadable, e, "2026-12-07_0950_Old_news_42.eml"},
		{NamesUID, e, "42.eml"},
	} {
		if got := EntryName(tc.style, tc.e); got != tc.want {
			t.Errorf("EntryName(%v, date header %d) = %q, want %q", tc.style, tc.e.DateHeader, got, tc.want)
		}
	}
	for in, want := range map[string]NameStyle{"": NamesReadable, "readable": NamesReadable, "date": NamesDate, "uid": NamesUID} {
		if got, err := ParseNameStyle(in); err != nil || got != want {
			t.Errorf("ParseNameStyle(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseNameStyle("sent"); err == nil || !strings.Contains(err.Error(), "readable, date or uid") {
		t.Errorf("ParseNameStyle(sent): %v", err)
	}
	if !NamesDate.UsesDate() || NamesReadable.UsesDate() || NamesUID.UsesDate() {
		t.Error("only --names date needs the Date header")
	}
}

func TestParseMessageUID(t *testing.T) {
	for name, want := range map[string]uint32{
		"2026-11-24_0913_Re_Lunch_4711.eml": 4711,
		"42.eml":                            42,
		"x_4294967295.eml":                  4294967295,
	} {
		if got, ok := ParseMessageUID(name); !ok || got != want {
			t.Errorf("ParseMessageUID(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	for _, name := range []string{"42.txt", ".eml", "x_.eml", "x_0.eml", "x_042.eml", "x_4294967296.eml", "x_12a.eml", "x_-1.eml", "4711"} {
		if uid, ok := ParseMessageUID(name); ok {
			t.Errorf("ParseMessageUID(%q) = %d, want no UID", name, uid)
		}
	}
}

func TestEscapeMailboxPart(t *testing.T) {
	for in, want := range map[string]string{
		"INBOX":          "INBOX",
		"Reçus":          "Reçus",
		"a/b":            "a%2Fb",
		".":              "%2E",
		"..":             "%2E%2E",
		"...":            "...",
		"":               "%20",
		"100% done":      "100% done",
		"%41":            "%2541",
		"nul\x00ctl\x01": "nul%00ctl%01",
		"bad\xffbyte":    "bad%FFbyte",
		"%20":            "%2520",
	} {
		got := EscapeMailboxPart(in)
		if got != want {
			t.Errorf("EscapeMailboxPart(%q) = %q, want %q", in, got, want)
		}
		if back := UnescapeMailboxPart(got); back != in {
			t.Errorf("UnescapeMailboxPart(%q) = %q, want %q", got, back, in)
		}
	}
}

func FuzzEscapeMailboxPart(f *testing.F) {
	for _, s := range []string{"", ".", "..", "a/b", "%41", "100%", "%", "\x00%", "Reçus", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EscapeMailboxPart(s)
		if e == "" || e == "." || e == ".." || strings.ContainsAny(e, "/\x00") {
			t.Fatalf("EscapeMailboxPart(%q) = %q is not a valid file name", s, e)
		}
		for _, c := range []byte(e) {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("EscapeMailboxPart(%q) = %q holds a control byte", s, e)
			}
		}
		if !utf8.ValidString(e) {
			t.Fatalf("EscapeMailboxPart(%q) = %q is not UTF-8", s, e)
		}
		if back := UnescapeMailboxPart(e); back != s {
			t.Fatalf("round trip %q -> %q -> %q", s, e, back)
		}
	})
}

func FuzzMessageName(f *testing.F) {
	f.Add("Re: Lunch", uint32(1), int64(0))
	f.Add("\xff/\x00..", uint32(4294967295), int64(1<<40))
	f.Fuzz(func(t *testing.T, subject string, uid uint32, unix int64) {
		if uid == 0 {
			return
		}
		date := time.Unix(unix%(1<<35), 0)
		name := MessageName(NamesReadable, date, subject, uid)
		if len(name) > 255 || !utf8.ValidString(name) || strings.ContainsAny(name, "/\x00") || strings.HasPrefix(name, ".") {
			t.Fatalf("bad name %q for subject %q", name, subject)
		}
		for _, r := range name {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("control character in %q", name)
			}
		}
		if got, ok := ParseMessageUID(name); !ok || got != uid {
			t.Fatalf("ParseMessageUID(%q) = %d, %v; want %d", name, got, ok, uid)
		}
	})
}
