// Package sample provides a deterministic, realistic sample mail account:
// a set of mailboxes (including nested, non-ASCII and parent-less ones) and
// about forty messages covering the MIME features a mail client meets in
// practice. It is used by "mailfs demo" and by tests.
package sample

import (
	"time"
)

// Message is one message to load into a server.
type Message struct {
	Mailbox string    // full mailbox name, "/" as hierarchy delimiter, e.g. "Work/Projects"
	Flags   []string  // IMAP flags like `\Seen`, `\Flagged`, `$Label1`; some messages have none
	Date    time.Time // INTERNALDATE to set on APPEND (distinct, spread over 2025-2026)
	Raw     []byte    // full RFC 5322 bytes with CRLF line endings
}

// PlantedWord is a unique word that appears in the body of exactly one
// message (in mailbox "Work/Projects"), for grep tests. It appears nowhere
// else: not in any header, not in any other message.
const PlantedWord = "quetzalcoatl-7f3a"

// Mailbox names used by the sample account.
const (
	mbInbox    = "INBOX"
	mbSent     = "Sent"
	mbDrafts   = "Drafts"
	mbTrash    = "Trash"
	mbWork     = "Work"
	mbProjects = "Work/Projects"
	mbArch2024 = "Archive/2024"
	mbArch2025 = "Archive/2025"
	mbReceipts = "Reçus"
	mbUnicode  = "Newsletters/Ünïcode Weekly"
)

// Mailboxes lists the mailboxes to CREATE, parents before children. The
// parents "Archive" and "Newsletters" are deliberately not listed: on the
// server they only exist implicitly (\Noselect or \NonExistent parents, or not
// at all, depending on the server). A new slice is returned on every call.
func Mailboxes() []string {
	return []string{
		mbInbox,
		mbSent,
		mbDrafts,
		mbTrash,
		mbWork,
		mbProjects,
		mbArch2024,
		mbArch2025,
		mbReceipts,
		mbUnicode,
	}
}

// Messages returns the sample messages, grouped by mailbox and in delivery
// order within each mailbox. The result is deterministic (same bytes on every
// call) and freshly allocated, so callers may modify it.
func Messages() []Message {
	var b builder
	addInbox(&b)
	addSent(&b)
	addDrafts(&b)
	addTrash(&b)
	addWork(&b)
	addProjects(&b)
	addArchive(&b)
	addReceipts(&b)
	addNewsletters(&b)
	return b.msgs
}
