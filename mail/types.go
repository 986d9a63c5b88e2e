package mail

import "time"

// The boundary types: what a Backend returns and the model hands to its
// views. imapback fills them; nothing here knows IMAP's wire types.

// MailboxInfo is one mailbox as the server lists it.
type MailboxInfo struct {
	Name     string // full hierarchical name, UTF-8
	Delim    rune   // hierarchy delimiter; 0 for a flat namespace
	NoSelect bool   // \Noselect or \NonExistent: holds only children
	// SpecialUse is the RFC 6154 attribute (`\Trash`, `\Sent`, …) or "".
	SpecialUse string
}

// Listing is a mailbox's message metadata at one moment.
type Listing struct {
	UIDValidity uint32
	// State is STATUS as of just before the listing: Changes starts here.
	State    State
	Messages []Message // ascending UID
}

// State is what STATUS says of a mailbox: enough to tell whether it
// changed since a listing.
type State struct {
	UIDValidity   uint32
	UIDNext       uint32
	Messages      uint32
	HighestModSeq uint64 // 0 without CONDSTORE
}

// Delta is how a mailbox changed since a State.
type Delta struct {
	State State
	// Reset: UIDVALIDITY changed; every UID known before is void.
	Reset bool
	// Unchanged: nothing to apply.
	Unchanged bool
	// New holds messages with UID at or above the old UIDNEXT.
	New []Message
	// Present, when not nil, is every UID in the mailbox now; known UIDs
	// missing from it were expunged.
	Present map[uint32]bool
	// Flags holds the current flags of messages whose flags changed
	// (CONDSTORE), or of every message (without CONDSTORE, when asked).
	Flags map[uint32][]string
}

// Message is one message's metadata: never its body.
type Message struct {
	UID          uint32
	Flags        []string
	Size         int64 // RFC822.SIZE as the server reported it; may be wrong
	InternalDate time.Time
	Subject      string // decoded to UTF-8; may be empty
	// DateHeader is the Date header field (ParseHeaderDate), for names
	// made from it (Options.Dates); 0 when it is missing or unparsable,
	// or listings do not fetch it.
	DateHeader int64
}

// Placed is where a stored message went. UID is 0 when the server did not
// say (no UIDPLUS).
type Placed struct {
	Mailbox     string
	UIDValidity uint32
	UID         uint32
}

// Entry is the model's view of one message: its metadata, the
// UIDVALIDITY its UID belongs to, and whether Size was measured from the
// body (true) or only reported by the server.
type Entry struct {
	Message
	UIDValidity uint32
	SizeKnown   bool
}

// Ref is a message's identity within its mailbox: a UID means nothing
// without its UIDVALIDITY.
type Ref struct{ UIDValidity, UID uint32 }

// Ref returns the entry's identity.
func (e Entry) Ref() Ref { return Ref{e.UIDValidity, e.UID} }

// Found is one mailbox's answer to a search.
type Found struct {
	Mailbox     string
	UIDValidity uint32
	Messages    []Message
}
