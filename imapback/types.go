package imapback

import "mailfs/mail"

// imapback returns the mail model's boundary types: the model declares
// what it needs (mail.Backend) and the types it is given, and imapback
// fills them from go-imap's. These are the same types, not copies.
type (
	Mailbox      = mail.MailboxInfo
	Listing      = mail.Listing
	Message      = mail.Message
	MailboxState = mail.State
	Delta        = mail.Delta
	Placed       = mail.Placed
)

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
	Appends      int64 // APPEND commands sent
}
