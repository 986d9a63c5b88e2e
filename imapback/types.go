package imapback

import "time"

// Mailbox is one entry of LIST.
type Mailbox struct {
	Name     string // UTF-8, full hierarchical name
	Delim    rune   // hierarchy delimiter, 0 when the server has none
	NoSelect bool   // \Noselect or \NonExistent: holds only children
	// SpecialUse is the RFC 6154 attribute (`\Trash`, `\Sent`, …) or "".
	SpecialUse string
}

// Listing is the metadata of every message in a mailbox.
type Listing struct {
	Mailbox     string
	UIDValidity uint32
	UIDNext     uint32
	// State is STATUS as of just before the listing: Changes starts
	// from it.
	State    MailboxState
	Messages []Message // ascending UID
}

// Message is what a listing knows of one message: never its body.
type Message struct {
	UID          uint32
	Flags        []string
	Size         int64 // RFC822.SIZE as the server reported it
	InternalDate time.Time
	Subject      string // decoded to UTF-8 (RFC 2047), may be empty
}

// Stats are counters for status output, tests and benchmarks.
type Stats struct {
	Dials        int64 // connections established
	BodyFetches  int64 // UID FETCH BODY.PEEK[] commands for one message
	BatchFetches int64 // UID FETCH BODY.PEEK[] commands for many (read-ahead)
	RangeFetches int64 // UID FETCH BODY.PEEK[]<off.len> commands (large messages)
	ListFetches  int64 // listing UID FETCH commands sent
	BytesFetched int64 // body bytes received
	Timeouts     int64 // commands abandoned after the deadline
	Statuses     int64 // STATUS commands (revalidations)
	DeltaFetches int64 // UID FETCHes of new messages, UID SEARCHes and flag fetches of revalidations
}
