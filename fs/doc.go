// Package fs is the FUSE adaptation of mailfs: go-fuse nodes over the mail
// model (package mail), and nothing else — names, attributes, kernel cache
// timeouts and notifications, the one errno table, and the bytes of files
// being written until their last descriptor is closed. It never imports
// go-imap. go-fuse's own fs package is imported as gofs everywhere.
//
// # Nodes
//
//   - dirNode: a mailbox directory, holding its *mail.Mailbox; its inode
//     number is the mailbox object's ID, so it follows a rename and is
//     never reused by a new mailbox of the same name;
//   - msgNode: a message; inode from (account, mailbox ID, UIDVALIDITY,
//     UID);
//   - localNode: a file created here: a message once stored, or a scratch
//     file that lives only in this mount;
//   - the hidden .mailfs/status.
//
// # Writes
//
// See draft.go: FLUSH and FSYNC only check; RELEASE of the last writable
// descriptor hands the final bytes to mail.Account.Submit.
//
// # Kernel notifications
//
// Always sent from a goroutine of their own (view.notify), never from
// inside a request: the kernel may hold the directory (LOOKUP, READDIR) or
// the inode (FSYNC, FLUSH, while a concurrent rm or mv waits) and would
// deadlock. The one exception is OPEN of a message for reading, where
// the kernel holds no lock of it, so a corrected size reaches the kernel
// before any read.
//
// # Lock order
//
// view.mu, then dirState.mu, then a node's mu, then draft.mu; then the
// model's locks (package mail). The model calls back (Observe, Submit's
// done) with none of its locks held.
package fs
