package mail

import (
	"bufio"
	"bytes"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"
)

// obsZones are RFC 5322's obsolete alphabetic zones (section 4.3); any
// other alphabetic zone (CET, military letters) counts as -0000, as the
// RFC says. They are read here, never through the machine's time zone
// (Go would take "CET" as +0100 on a machine in Berlin and as +0000
// elsewhere), so a name made from a Date is the same on every machine.
var obsZones = map[string]int{
	"UT": 0, "GMT": 0, "Z": 0,
	"EDT": -4 * 3600, "EST": -5 * 3600, "CDT": -5 * 3600, "CST": -6 * 3600,
	"MDT": -6 * 3600, "MST": -7 * 3600, "PDT": -7 * 3600, "PST": -8 * 3600,
}

// ParseHeaderDate reads a Date header field's value (RFC 5322, and the
// obsolete forms net/mail accepts: no weekday, two-digit years, no
// seconds, a trailing comment) as Unix seconds. 0 means none: empty,
// unparsable, or a year before 1971 (the "Thu, 1 Jan 1970" of a broken
// clock) or after 9999.
func ParseHeaderDate(v string) int64 {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	t, err := mail.ParseDate(v)
	if err != nil {
		return 0
	}
	if zone := zoneToken(v); zone != "" && zone[0] != '+' && zone[0] != '-' {
		y, mo, d := t.Date()
		h, mi, s := t.Clock()
		t = time.Date(y, mo, d, h, mi, s, 0, time.FixedZone("", obsZones[strings.ToUpper(zone)]))
	}
	if y := t.UTC().Year(); y < 1971 || y > 9999 {
		return 0
	}
	return t.Unix()
}

// zoneToken is the last word of a date, its comments left out.
func zoneToken(v string) string {
	for strings.HasSuffix(v, ")") {
		i := strings.LastIndexByte(v, '(')
		if i < 0 {
			break
		}
		v = strings.TrimSpace(v[:i])
	}
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// HeaderDate is the Date header of message bytes (ParseHeaderDate).
func HeaderDate(msg []byte) int64 {
	hdr, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(msg)))
	if err != nil {
		return 0
	}
	return ParseHeaderDate(hdr.Get("Date"))
}
