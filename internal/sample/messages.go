package sample

import (
	"strings"
)

// IMAP flags used by the sample messages.
const (
	fSeen     = `\Seen`
	fAnswered = `\Answered`
	fFlagged  = `\Flagged`
	fDraft    = `\Draft`
)

// People of the sample account.
var (
	demo   = addr("Demo User", "demo@example.com")
	alice  = addr("Alice Martin", "alice.martin@example.com")
	bob    = addr("Bob Chen", "bob.chen@example.org")
	carol  = addr("Carol Okafor", "carol.okafor@example.net")
	renee  = addr("Renée Dupont", "renee.dupont@example.org")
	joerg  = addr("Jörg Müller", "joerg.mueller@example.net")
	tanaka = addr("田中 太郎", "taro.tanaka@jp.example.com")
	zoe    = addr("Zoë Lambert", "zoe.lambert@example.net")
	ciBot  = addr("Atlas CI", "ci@build.example.com")
)

// Message-IDs referenced by replies.
const (
	idLunch      = "<20250902094210.18324@mail.example.com>"
	idKickoff    = "<20251006131522.7731.bob@example.org>"
	idKickoffRe1 = "<CAO2kQv9x7Lw0pRe1@mail.example.net>"
	idKickoffRe2 = "<20251006142005.9902@mail.example.com>"
	idInvoice    = "<20251128091245.55120@mail.example.com>"
	idDesign     = "<CAO2kQv9x7Lw0design@mail.example.net>"
	idRetro      = "<20241219161000.2211.bob@example.org>"
)

func h(name, value string) string { return name + ": " + value }

func mime10() string { return "MIME-Version: 1.0" }

// toLatin1 converts a string of runes below U+0100 to ISO-8859-1 bytes.
func toLatin1(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			panic("sample: rune not in ISO-8859-1")
		}
		b = append(b, byte(r))
	}
	return string(b)
}

func addInbox(b *builder) {
	b.add(mbInbox, []string{fSeen, fAnswered}, at("2025-09-02 11:42:10 +0200"), []string{
		h("From", alice),
		h("To", demo),
		h("Subject", "Lunch on Thursday?"),
		h("Message-ID", idLunch),
		mime10(),
		ctPlainASCII,
	}, `Hi,

Are you free for lunch on Thursday? The new ramen place on Elm Street
finally opened and I'd love to try it.

12:30 works best for me, but I can move it a bit.

Alice
`)

	b.add(mbInbox, []string{fSeen, fFlagged}, at("2025-09-15 08:17:03 +0200"), []string{
		h("From", renee),
		h("To", demo),
		h("Cc", joerg),
		h("Subject", qw("Café meeting notes — réunion du 15 septembre")),
		h("Message-ID", "<5f2c1a9e-0d4b-4b8e-9a51-renee@example.org>"),
		h("User-Agent", "Mozilla Thunderbird"),
		mime10(),
		ctPlainUTF8,
	}, qp(`Bonjour à tous,

Voici le compte-rendu de la réunion de ce matin au café « Le Châtelet » :

  • Le budget 2026 est validé (hausse de 4 % prévue pour l'équipe plateforme, à confirmer avec la direction financière avant la fin du trimestre).
  • Jörg présentera la nouvelle architecture jeudi prochain.
  • Prochaine réunion : lundi 22 septembre, même heure, même café.

Merci à Zoë pour les croissants ☕ !

Bien à vous,
Renée
`))

	b.add(mbInbox, nil, at("2025-10-01 06:00:12 +0000"), []string{
		h("From", addr("Example Bank", "statements@bank.example.net")),
		h("To", demo),
		h("Subject", "Your monthly statement is ready"),
		h("Message-ID", "<stmt-2025-09-000184467@bank.example.net>"),
		mime10(),
		"Content-Type: text/plain; charset=UTF-8",
		"Content-Transfer-Encoding: base64",
	}, b64([]byte(strings.ReplaceAll(`Dear Demo User,

Your statement for September 2025 is now available in online banking.

  Opening balance:   €2,481.17
  Closing balance:   €2,903.55

This is an automated message, please do not reply.

Example Bank · 1 Market Square · Springfield
`, "\n", "\r\n"))))

	// A thread: Bob -> Carol -> (demo, in Sent) -> Bob.
	b.add(mbInbox, []string{fSeen}, at("2025-10-06 09:15:22 -0400"), []string{
		h("From", bob),
		h("To", demo+", "+carol),
		h("Subject", "Project kickoff"),
		h("Message-ID", idKickoff),
		mime10(),
		ctPlainASCII,
	}, `Hi both,

Let's kick off the Atlas project next week. Proposed agenda:

1. Scope and goals
2. Team and roles
3. Timeline (first milestone end of November)

Does Monday 10:00 EDT work for you?

Bob
`)

	b.add(mbInbox, []string{fSeen}, at("2025-10-06 15:02:51 +0100"), []string{
		h("From", carol),
		h("To", bob),
		h("Cc", demo),
		h("Subject", "Re: Project kickoff"),
		h("Message-ID", idKickoffRe1),
		h("In-Reply-To", idKickoff),
		h("References", idKickoff),
		mime10(),
		ctPlainASCII,
	}, `Monday works for me. Can we add a fourth item: budget?

Carol

On Mon, 6 Oct 2025 at 09:15 -0400, Bob Chen wrote:
> Hi both,
>
> Let's kick off the Atlas project next week. Proposed agenda:
>
> 1. Scope and goals
> 2. Team and roles
> 3. Timeline (first milestone end of November)
>
> Does Monday 10:00 EDT work for you?
>
> Bob
`)

	b.add(mbInbox, []string{fSeen}, at("2025-10-06 11:48:30 -0400"), []string{
		h("From", bob),
		h("To", demo),
		h("Cc", carol),
		h("Subject", "Re: Project kickoff"),
		h("Message-ID", "<20251006154830.7790.bob@example.org>"),
		h("In-Reply-To", idKickoffRe2),
		fold("References", idKickoff+" "+idKickoffRe1+" "+idKickoffRe2),
		mime10(),
		ctPlainASCII,
	}, `Great, invite sent for Monday. Budget is on the agenda.

See you then,
Bob
`)

	b.add(mbInbox, []string{fSeen}, at("2025-10-20 18:30:00 +0900"), []string{
		h("From", tanaka),
		h("To", demo),
		h("Subject", bw("会議の議事録（10月20日）")),
		h("Message-ID", "<a81f0c3e77b2.tanaka@jp.example.com>"),
		mime10(),
		"Content-Type: text/plain; charset=UTF-8",
		"Content-Transfer-Encoding: 8bit",
	}, `デモさん

お疲れ様です。田中です。
本日の会議の議事録を共有します。

・次回のリリースは11月末を予定しています。
・テスト環境の準備は鈴木さんが担当します。

よろしくお願いいたします。
田中
`)

	b.add(mbInbox, []string{fSeen, "$Label3"}, at("2025-11-03 12:31:09 +0000"), []string{
		h("From", ciBot),
		h("To", demo),
		h("Subject", "Build 2025/11/03: status: green / deploy at 12:30 UTC"),
		h("Message-ID", "<build-1482.atlas-main@build.example.com>"),
		h("X-Mailer", "atlas-ci/3.2"),
		mime10(),
		ctPlainASCII,
	}, `Pipeline: atlas/main #1482
Commit:   9c1e4f2 (Bob Chen) Fix retry backoff in fetcher
Result:   SUCCESS (14m 07s)

Stages:
  build ........ ok
  unit tests ... ok (1,204 passed)
  integration .. ok
  deploy ....... ok (production, 12:30 UTC)

https://ci.example.com/atlas/main/1482
`)

	b.add(mbInbox, nil, at("2025-11-12 14:05:00 +0100"), []string{
		h("From", "=?ISO-8859-1?Q?L=E9a_Moreau?= <lea.moreau@example.org>"),
		h("To", demo),
		h("Subject", "=?ISO-8859-1?Q?R=E9union_d'=E9quipe_=E0_14h?="),
		h("Message-ID", "<20251112130500.4C21@example.org>"),
		mime10(),
		"Content-Type: text/plain; charset=ISO-8859-1",
		"Content-Transfer-Encoding: quoted-printable",
	}, qp(toLatin1(`Bonjour,

La réunion d'équipe est déplacée à 14h, salle Étoile.
N'oubliez pas vos idées pour la fête de fin d'année !

À tout à l'heure,
Léa
`)))

	b.add(mbInbox, []string{fSeen, fAnswered}, at("2025-11-28 10:12:45 +0100"), []string{
		h("From", alice),
		h("To", demo),
		h("Subject", "Invoice #2025-0042"),
		h("Message-ID", idInvoice),
		mime10(),
		`Content-Type: multipart/mixed; boundary="=_mix_invoice_0042"`,
	}, multipart("=_mix_invoice_0042", mimePreamble,
		part(`Hi,

Please find attached the invoice for the November workshop.
Payment is due within 30 days.

Thanks!
Alice
`, ctPlainASCII),
		part(b64(makePDF("Invoice #2025-0042", []string{
			"Alice Martin Consulting, 12 Elm Street, Springfield",
			"Bill to: Demo User",
			"",
			"Workshop 'IMAP for everyone' (2 days)      1,800.00 EUR",
			"Travel expenses                              212.40 EUR",
			"Total                                      2,012.40 EUR",
			"",
			"Due date: 28 December 2025",
		})),
			`Content-Type: application/pdf; name="invoice-2025-0042.pdf"`,
			`Content-Disposition: attachment; filename="invoice-2025-0042.pdf"`,
			"Content-Transfer-Encoding: base64"),
	))

	// The large message (an uncompressed ~290 KiB PNG).
	b.add(mbInbox, []string{fSeen, fFlagged}, at("2025-12-18 20:44:31 +0000"), []string{
		h("From", carol),
		h("To", demo),
		h("Subject", "Holiday photos"),
		h("Message-ID", "<CAO2kQv9x7Lw0photos@mail.example.net>"),
		mime10(),
		`Content-Type: multipart/mixed; boundary="----=_Part_2207_1671396271"`,
	}, multipart("----=_Part_2207_1671396271", "",
		part(`Hi!

Here is the sunset over the lake from last weekend. The full album
follows when I'm back home.

Carol
`, ctPlainASCII),
		part(b64(makePNG(360, 272, 0x5eed1a4e)),
			`Content-Type: image/png; name="lake-sunset.png"`,
			`Content-Disposition: attachment; filename="lake-sunset.png"`,
			"Content-Transfer-Encoding: base64"),
	))

	b.add(mbInbox, nil, at("2026-01-05 07:00:00 +0000"), []string{
		h("From", addr("Example Store", "news@store.example.com")),
		h("To", demo),
		h("Subject", "Weekly digest: 5 deals you shouldn't miss"),
		h("Message-ID", "<digest-2026-01-05.91c2@store.example.com>"),
		h("List-Unsubscribe", "<https://store.example.com/unsubscribe?u=demo>"),
		mime10(),
		`Content-Type: multipart/alternative; boundary="alt-digest-2026-01"`,
	}, multipart("alt-digest-2026-01", "",
		part(qp(`WEEKLY DIGEST

1. Noise-cancelling headphones, now 25 % off
2. Mechanical keyboard (brown switches)
3. 4K monitor, 27 inches
4. Ergonomic chair
5. USB-C dock with 3 displays

Unsubscribe: https://store.example.com/unsubscribe?u=demo
`), ctPlainUTF8),
		part(qp(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Weekly digest</title></head>
<body style="font-family: sans-serif">
<h1>Weekly digest</h1>
<ol>
<li><b>Noise-cancelling headphones</b>, now 25&nbsp;% off</li>
<li>Mechanical keyboard (brown switches)</li>
<li>4K monitor, 27&Prime;</li>
<li>Ergonomic chair</li>
<li>USB-C dock with 3 displays</li>
</ol>
<p><a href="https://store.example.com/unsubscribe?u=demo">Unsubscribe</a></p>
</body></html>
`), ctHTMLUTF8),
	))

	b.add(mbInbox, nil, at("2026-01-19 09:12:00 -0800"), []string{
		h("From", bob),
		h("To", demo),
		fold("Subject", "Follow-up on the quarterly infrastructure review meeting: "+
			"action items for storage, networking, observability, the on-call rotation, "+
			"incident postmortems, capacity planning for 2026, vendor contract renewals, "+
			"security audit findings, the migration of the legacy billing service, and "+
			"the documentation backlog that we discussed at length on Thursday afternoon"),
		h("Message-ID", "<20260119171200.3310.bob@example.org>"),
		mime10(),
		ctPlainASCII,
	}, `Hi,

Sorry for the long subject line, I wanted it to be searchable.
Owners for each item are in the shared spreadsheet; please update
your rows before Friday.

Bob
`)

	// Empty Subject header.
	b.add(mbInbox, nil, at("2026-02-02 16:45:10 +0100"), []string{
		h("From", zoe),
		h("To", demo),
		"Subject:",
		h("Message-ID", "<m.7d1e55.zoe@example.net>"),
		mime10(),
		ctPlainUTF8,
	}, qp(`Forgot the subject again, sorry!

Are we still on for tomorrow?

-- 
Envoyé de mon téléphone
`))

	// No Subject header at all.
	b.add(mbInbox, []string{fSeen}, at("2026-02-14 09:00:00 +0000"), []string{
		h("From", addr("", "noreply@calendar.example.com")),
		h("To", demo),
		h("Message-ID", "<reminder-8812-20260214@calendar.example.com>"),
		h("Auto-Submitted", "auto-generated"),
		mime10(),
		ctPlainASCII,
	}, `Reminder: Dentist appointment, Mon 16 Feb 2026 at 08:30.
`)

	b.add(mbInbox, nil, at("2026-03-01 19:22:08 +0100"), []string{
		h("From", joerg),
		h("To", demo),
		h("Subject", qw("Grüße aus München 🍺")),
		h("Message-ID", "<3a9d0e1f.joerg@example.net>"),
		mime10(),
		`Content-Type: multipart/alternative; boundary="b1_gruesse"`,
	}, multipart("b1_gruesse", "",
		part(qp(`Servus!

Viele Grüße aus München. Das Oktoberfest ist zwar vorbei, aber
das Bier schmeckt immer noch. Nächste Woche bin ich wieder im Büro.

Jörg
`), ctPlainUTF8),
		part(qp(`<html><body>
<p>Servus!</p>
<p>Viele Grüße aus <b>München</b>. Das Oktoberfest ist zwar vorbei, aber
das Bier schmeckt immer noch 🍺. Nächste Woche bin ich wieder im Büro.</p>
<p>Jörg</p>
</body></html>
`), ctHTMLUTF8),
	))
}

func addSent(b *builder) {
	b.add(mbSent, []string{fSeen}, at("2025-09-02 13:05:44 +0200"), []string{
		h("From", demo),
		h("To", alice),
		h("Subject", "Re: Lunch on Thursday?"),
		h("Message-ID", "<20250902110544.20011@mail.example.com>"),
		h("In-Reply-To", idLunch),
		h("References", idLunch),
		mime10(),
		ctPlainASCII,
	}, `Thursday 12:30 is perfect, see you there!

On Tue, 2 Sep 2025 at 11:42, Alice Martin wrote:
> Hi,
>
> Are you free for lunch on Thursday? The new ramen place on Elm Street
> finally opened and I'd love to try it.
`)

	b.add(mbSent, []string{fSeen}, at("2025-10-06 16:20:05 +0200"), []string{
		h("From", demo),
		h("To", bob),
		h("Cc", carol),
		h("Subject", "Re: Project kickoff"),
		h("Message-ID", idKickoffRe2),
		h("In-Reply-To", idKickoffRe1),
		h("References", idKickoff+" "+idKickoffRe1),
		mime10(),
		ctPlainASCII,
	}, `Monday 10:00 EDT (16:00 here) is fine with me. +1 on the budget item.

On Mon, 6 Oct 2025 at 15:02 +0100, Carol Okafor wrote:
> Monday works for me. Can we add a fourth item: budget?
`)

	b.add(mbSent, []string{fSeen}, at("2025-11-28 11:30:00 +0100"), []string{
		h("From", demo),
		h("To", alice),
		h("Subject", "Re: Invoice #2025-0042"),
		h("Message-ID", "<20251128103000.61002@mail.example.com>"),
		h("In-Reply-To", idInvoice),
		h("References", idInvoice),
		mime10(),
		ctPlainASCII,
	}, `Thanks Alice, paid today.

On Fri, 28 Nov 2025 at 10:12, Alice Martin wrote:
> Please find attached the invoice for the November workshop.
`)

	b.add(mbSent, []string{fSeen}, at("2026-01-10 17:03:29 +0100"), []string{
		h("From", demo),
		h("To", renee),
		h("Subject", "Slides for Monday"),
		h("Message-ID", "<20260110160329.70114@mail.example.com>"),
		mime10(),
		`Content-Type: multipart/mixed; boundary="sent-slides-7f"`,
	}, multipart("sent-slides-7f", mimePreamble,
		part(qp(`Hi Renée,

Attached is the agenda for Monday as a spreadsheet. The slides
will follow tomorrow.

Cheers
`), ctPlainUTF8),
		part(`slot,topic,speaker
09:00,Welcome,Renée Dupont
09:15,Atlas status,Bob Chen
10:00,Budget 2026,Carol Okafor
10:45,Q&A,all
`, `Content-Type: text/csv; charset=UTF-8; name="agenda.csv"`,
			`Content-Disposition: attachment; filename="agenda.csv"`,
			"Content-Transfer-Encoding: 8bit"),
	))
}

func addDrafts(b *builder) {
	b.add(mbDrafts, []string{fDraft, fSeen}, at("2026-02-20 22:10:00 +0100"), []string{
		h("From", demo),
		h("To", bob),
		h("Subject", "Quarterly plan (draft)"),
		h("Message-ID", "<draft-0001.20260220@mail.example.com>"),
		mime10(),
		ctPlainASCII,
	}, `Bob,

Here is a first cut of the Q2 plan:

- finish Atlas milestone 2
- hire two engineers
- TODO: budget numbers
`)

	b.add(mbDrafts, []string{fDraft}, at("2026-03-03 08:15:42 +0100"), []string{
		h("From", demo),
		h("Subject", "Notes to self"),
		h("Message-ID", "<draft-0002.20260303@mail.example.com>"),
		mime10(),
		ctPlainASCII,
	}, `- renew passport
- call the plumber
- birthday present for Sam
`)
}

func addTrash(b *builder) {
	b.add(mbTrash, []string{fSeen, "$Junk"}, at("2025-10-11 03:12:55 +0000"), []string{
		h("From", addr("Prize Department", "winner@lottery.example.net")),
		h("To", addr("", "demo@example.com")),
		h("Subject", "Congratulations!!! You have been selected"),
		h("Message-ID", "<0000000000000001@lottery.example.net>"),
		mime10(),
		"Content-Type: text/html; charset=us-ascii",
		"Content-Transfer-Encoding: 7bit",
	}, `<html><body>
<p>CONGRATULATIONS!!! You have won <b>1,000,000 USD</b>.</p>
<p><a href="http://lottery.example.net/claim">Click here to claim your prize</a></p>
</body></html>
`)

	b.add(mbTrash, []string{fSeen}, at("2025-12-01 08:00:00 +0100"), []string{
		h("From", alice),
		h("To", demo),
		h("Subject", "Meeting cancelled"),
		h("Message-ID", "<20251201070000.1001@mail.example.com>"),
		mime10(),
		ctPlainASCII,
	}, `Today's sync is cancelled, half the team is out sick.

Alice
`)
}

func addWork(b *builder) {
	b.add(mbWork, []string{fSeen}, at("2025-09-22 09:00:00 +0200"), []string{
		h("From", addr("People Team", "people@example.com")),
		h("To", addr("All staff", "all@example.com")),
		h("Subject", "Updated holiday calendar 2026"),
		h("Message-ID", "<hr-2025-0922@example.com>"),
		mime10(),
		ctPlainASCII,
	}, `Hello everyone,

The 2026 holiday calendar is now available on the intranet.
Please book your summer vacation before 31 March 2026.

The People Team
`)

	inner := strings.Join([]string{
		"Date: Wed, 29 Oct 2025 17:02:11 +0100",
		h("From", addr("Vendor Sales", "sales@vendor.example.net")),
		h("To", bob),
		h("Subject", "Contract renewal 2026"),
		h("Message-ID", "<renewal-2026-4471@vendor.example.net>"),
		mime10(),
		ctPlainASCII,
		"",
		`Dear Bob,

Your support contract expires on 31 December 2025. The renewal
price for 2026 is unchanged. Please sign and return the order form.

Best regards,
Vendor Sales
`}, "\n")
	b.add(mbWork, []string{fSeen, "$Label2"}, at("2025-10-30 15:37:12 -0400"), []string{
		h("From", bob),
		h("To", demo),
		h("Subject", "Fwd: Vendor contract"),
		h("Message-ID", "<20251030193712.8120.bob@example.org>"),
		mime10(),
		`Content-Type: multipart/mixed; boundary="fwd-contract-2025"`,
	}, multipart("fwd-contract-2025", "",
		part(`FYI, see the forwarded message. Can you check the numbers?

Bob
`, ctPlainASCII),
		part(inner,
			"Content-Type: message/rfc822",
			`Content-Disposition: attachment; filename="Contract renewal 2026.eml"`),
	))

	b.add(mbWork, nil, at("2026-01-27 17:30:00 +0000"), []string{
		h("From", carol),
		h("To", addr("Engineering", "eng@example.com")),
		h("Subject", "All-hands: Q1 priorities"),
		h("Message-ID", "<CAO2kQv9x7Lw0allhands@mail.example.net>"),
		mime10(),
		`Content-Type: multipart/alternative; boundary="allhands-q1"`,
	}, multipart("allhands-q1", "",
		part(`Q1 priorities:

* Ship Atlas milestone 2
* Reduce p99 latency below 200 ms
* Finish the on-call handbook
`, ctPlainASCII),
		part(qp(`<html><body>
<h2>Q1 priorities</h2>
<ul><li>Ship Atlas milestone 2</li><li>Reduce p99 latency below 200&nbsp;ms</li><li>Finish the on-call handbook</li></ul>
</body></html>
`), ctHTMLUTF8),
	))
}

func addProjects(b *builder) {
	b.add(mbProjects, []string{fSeen}, at("2025-10-08 10:41:19 -0400"), []string{
		h("From", bob),
		h("To", demo+", "+carol),
		h("Subject", "Project Atlas: requirements"),
		h("Message-ID", "<20251008144119.7802.bob@example.org>"),
		mime10(),
		ctPlainASCII,
	}, `Hi,

First draft of the Atlas requirements:

- R1: sync 10k mailboxes per node
- R2: end-to-end latency under 2 s
- R3: the storage layer, codename `+PlantedWord+`, must survive
      a node loss without data loss

Comments welcome.
Bob
`)

	b.add(mbProjects, []string{fSeen, fFlagged}, at("2025-11-05 14:00:00 +0000"), []string{
		h("From", carol),
		h("To", demo+", "+bob),
		h("Subject", "Project Atlas: design review"),
		h("Message-ID", idDesign),
		mime10(),
		`Content-Type: multipart/alternative; boundary="design-review-alt"`,
	}, multipart("design-review-alt", "",
		part(`The design review is scheduled for Thursday 13 November, 15:00 UTC.
Please read the design doc beforehand and add questions as comments.
`, ctPlainASCII),
		part(qp(`<html><body>
<p>The design review is scheduled for <b>Thursday 13 November, 15:00 UTC</b>.</p>
<p>Please read the <a href="https://docs.example.com/atlas/design">design doc</a> beforehand and add questions as comments.</p>
</body></html>
`), ctHTMLUTF8),
	))

	b.add(mbProjects, nil, at("2025-12-09 02:13:44 +0000"), []string{
		h("From", ciBot),
		h("To", demo),
		h("Subject", "[atlas] nightly build failed"),
		h("Message-ID", "<nightly-20251209.atlas@build.example.com>"),
		mime10(),
		ctPlainASCII,
	}, `Nightly build #311 FAILED.

--- FAIL: TestFetchRetry (3.02s)
    fetch_test.go:88: got 2 attempts, want 3
FAIL
FAIL    example.com/atlas/fetch 3.118s

Full log: https://ci.example.com/atlas/nightly/311
`)

	b.add(mbProjects, nil, at("2026-02-11 11:11:11 -0500"), []string{
		h("From", bob),
		h("To", carol),
		h("Cc", demo),
		h("Subject", "Re: Project Atlas: design review"),
		h("Message-ID", "<20260211161111.9001.bob@example.org>"),
		h("In-Reply-To", idDesign),
		h("References", idDesign),
		mime10(),
		ctPlainASCII,
	}, `Follow-up from the review: we agreed on option B for replication.
I'll update the design doc this week.

Bob
`)
}

func addArchive(b *builder) {
	b.add(mbArch2024, []string{fSeen}, at("2025-01-08 10:00:00 +0100"), []string{
		h("From", addr("Accounting", "accounting@example.com")),
		h("To", demo),
		h("Subject", "2024 tax documents"),
		h("Message-ID", "<acct-2024-tax-88@example.com>"),
		mime10(),
		ctPlainASCII,
	}, `Hello,

Your 2024 tax documents are ready for download in the employee portal.

Accounting
`)

	b.add(mbArch2024, []string{fSeen}, at("2025-01-15 13:45:00 +0000"), []string{
		h("From", bob),
		h("To", demo),
		h("Subject", "Re: 2024 retrospective"),
		h("Message-ID", "<20250115134500.1200.bob@example.org>"),
		h("In-Reply-To", idRetro),
		h("References", idRetro),
		mime10(),
		ctPlainASCII,
	}, `Agreed, 2024 went better than expected. Let's keep the weekly demos.

> What should we keep doing in 2025?
`)

	b.add(mbArch2024, []string{fSeen}, at("2025-02-03 06:30:00 +0000"), []string{
		h("From", addr("Example Bank", "statements@bank.example.net")),
		h("To", demo),
		h("Subject", "Annual statement 2024"),
		h("Message-ID", "<stmt-2024-annual-000184467@bank.example.net>"),
		mime10(),
		"Content-Type: text/plain; charset=us-ascii",
		"Content-Transfer-Encoding: base64",
	}, b64([]byte(strings.ReplaceAll(`Dear Demo User,

Your annual account statement for 2024 is available in online banking.

Example Bank
`, "\n", "\r\n"))))

	b.add(mbArch2025, []string{fSeen}, at("2025-03-14 16:20:00 +0100"), []string{
		h("From", alice),
		h("To", demo),
		h("Subject", "Conference travel booking"),
		h("Message-ID", "<20250314152000.3003@mail.example.com>"),
		mime10(),
		ctPlainASCII,
	}, `Hi,

I booked the hotel for the conference in Lisbon (19-23 May).
Can you take care of the flights?

Alice
`)

	b.add(mbArch2025, []string{fSeen}, at("2025-05-20 05:55:00 +0200"), []string{
		h("From", addr("Example Air", "checkin@air.example.com")),
		h("To", demo),
		h("Subject", qw("Your boarding pass – EX 1234 Paris → Lisbon")),
		h("Message-ID", "<bp-EX1234-20250520-DEMO@air.example.com>"),
		mime10(),
		`Content-Type: multipart/mixed; boundary="bp_EX1234"`,
	}, multipart("bp_EX1234", mimePreamble,
		part(`Your boarding pass for flight EX 1234 is attached.
Boarding closes 20 minutes before departure.
`, ctPlainASCII),
		part(b64(makePDF("Boarding pass EX 1234", []string{
			"Passenger: DEMO/USER",
			"From: Paris CDG  To: Lisbon LIS",
			"Date: 20 May 2025   Departure: 07:40",
			"Seat: 14C   Gate: K41",
		})),
			`Content-Type: application/pdf; name="boarding-pass.pdf"`,
			`Content-Disposition: attachment; filename="boarding-pass.pdf"`,
			"Content-Transfer-Encoding: base64"),
	))

	b.add(mbArch2025, []string{fSeen}, at("2025-07-04 12:00:00 -0400"), []string{
		h("From", carol),
		h("To", addr("Friends", "friends@lists.example.net")),
		h("Subject", qw("Summer BBQ 🎉")),
		h("Message-ID", "<CAO2kQv9x7Lw0bbq@mail.example.net>"),
		mime10(),
		ctPlainUTF8,
	}, qp(`Hi all,

BBQ at our place on Saturday from 4 pm. Bring something to grill 🌭
and good mood. Veggie options available.

Carol
`))
}

func addReceipts(b *builder) {
	shop := addr("Boutique Exemple", "commandes@boutique.example.org")
	b.add(mbReceipts, []string{fSeen}, at("2025-06-12 18:03:27 +0200"), []string{
		h("From", shop),
		h("To", demo),
		h("Subject", qw("Votre reçu n° 48213")),
		h("Message-ID", "<recu-48213@boutique.example.org>"),
		mime10(),
		ctPlainUTF8,
	}, qp(`Bonjour,

Merci pour votre commande n° 48213.

  1 × Théière en fonte          39,90 €
  2 × Thé vert Sencha (100 g)   17,00 €
  Livraison                      4,90 €
  Total TTC                     61,80 €

À bientôt sur la Boutique Exemple !
`))

	b.add(mbReceipts, []string{fSeen}, at("2025-08-30 11:00:00 +0200"), []string{
		h("From", shop),
		h("To", demo),
		h("Subject", bw("Reçu de paiement – août 2025")),
		h("Message-ID", "<recu-aout-2025@boutique.example.org>"),
		mime10(),
		`Content-Type: multipart/mixed; boundary="recu-aout-2025"`,
	}, multipart("recu-aout-2025", mimePreamble,
		part(qp(`Bonjour,

Veuillez trouver ci-joint votre reçu de paiement pour le mois d'août.

Cordialement,
Boutique Exemple
`), ctPlainUTF8),
		part(b64(makePDF("Recu de paiement - aout 2025", []string{
			"Boutique Exemple",
			"Client : Demo User",
			"Montant : 61,80 EUR",
			"Mode de paiement : carte bancaire",
		})),
			`Content-Type: application/pdf; name="Recu_aout_2025.pdf"`,
			`Content-Disposition: attachment; filename="Recu_aout_2025.pdf";`+"\n"+
				` filename*=UTF-8''Re%C3%A7u_ao%C3%BBt_2025.pdf`,
			"Content-Transfer-Encoding: base64"),
	))

	b.add(mbReceipts, nil, at("2026-01-22 23:41:05 +0100"), []string{
		h("From", addr("Taxi Exemple", "recus@taxi.example.org")),
		h("To", demo),
		h("Subject", qw("Merci pour votre course, Démo")),
		h("Message-ID", "<course-20260122-2241@taxi.example.org>"),
		mime10(),
		`Content-Type: multipart/alternative; boundary="taxi-alt"`,
	}, multipart("taxi-alt", "",
		part(qp(`Merci d'avoir voyagé avec Taxi Exemple.

Départ : Gare de Lyon, 23:12
Arrivée : Rue de la Paix, 23:38
Montant : 27,40 €
`), ctPlainUTF8),
		part(qp(`<html><body>
<p>Merci d'avoir voyagé avec <b>Taxi Exemple</b>.</p>
<table><tr><td>Départ</td><td>Gare de Lyon, 23:12</td></tr>
<tr><td>Arrivée</td><td>Rue de la Paix, 23:38</td></tr>
<tr><td>Montant</td><td>27,40&nbsp;€</td></tr></table>
</body></html>
`), ctHTMLUTF8),
	))
}

func addNewsletters(b *builder) {
	editor := addr("Ünïcode Weekly", "editor@unicode-weekly.example.org")
	b.add(mbUnicode, []string{fSeen}, at("2025-12-05 08:00:00 +0000"), []string{
		h("From", editor),
		h("To", demo),
		h("Subject", qw("Ünïcode Weekly #47: Combining characters")),
		h("Message-ID", "<issue-47@unicode-weekly.example.org>"),
		h("List-Id", "Unicode Weekly <weekly.unicode-weekly.example.org>"),
		mime10(),
		`Content-Type: multipart/alternative; boundary="uw47"`,
	}, multipart("uw47", "",
		part(qp(`Issue #47: Combining characters

"é" can be one code point (U+00E9) or two (U+0065 U+0301): `+"\u00e9 vs e\u0301"+`.
Normalise (NFC/NFD) before comparing file names!
`), ctPlainUTF8),
		part(qp(`<html><body>
<h1>Issue #47: Combining characters</h1>
<p>&quot;é&quot; can be one code point (U+00E9) or two (U+0065 U+0301): `+"\u00e9 vs e\u0301"+`.</p>
<p>Normalise (NFC/NFD) before comparing file names!</p>
</body></html>
`), ctHTMLUTF8),
	))

	b.add(mbUnicode, nil, at("2026-03-06 08:00:00 +0000"), []string{
		h("From", editor),
		h("To", demo),
		h("Subject", bw("Ünïcode Weekly #60: Emoji 17.0 ✨")),
		h("Message-ID", "<issue-60@unicode-weekly.example.org>"),
		h("List-Id", "Unicode Weekly <weekly.unicode-weekly.example.org>"),
		mime10(),
		`Content-Type: multipart/alternative; boundary="uw60-alt"`,
	}, multipart("uw60-alt", "",
		part(qp(`Issue #60: Emoji 17.0 ✨

New this year: more flags, more hands, and a long-awaited trombone 🎺.
`), ctPlainUTF8),
		part(multipart("uw60-rel", "",
			part(qp(`<html><body>
<p><img src="cid:logo-60@unicode-weekly.example.org" alt="logo"></p>
<h1>Issue #60: Emoji 17.0 ✨</h1>
<p>New this year: more flags, more hands, and a long-awaited trombone 🎺.</p>
</body></html>
`), ctHTMLUTF8),
			part(b64(makePNG(24, 24, 60)),
				`Content-Type: image/png; name="logo.png"`,
				"Content-Transfer-Encoding: base64",
				"Content-ID: <logo-60@unicode-weekly.example.org>",
				`Content-Disposition: inline; filename="logo.png"`),
		), `Content-Type: multipart/related; boundary="uw60-rel"; type="text/html"`),
	))
}
