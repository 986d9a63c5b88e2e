// Package fs is the FUSE adaptation of mailfs: go-fuse nodes over the mail
// model (package mail) and the file model (package mail/files), and
// nothing else — names, attributes, kernel cache timeouts and
// notifications, the one errno table. It holds no mail or file state of
// its own, and never imports go-imap. go-fuse's own fs package is
// imported as gofs everywhere.
//
// # Nodes
//
//   - dirNode: a mailbox directory, holding its *mail.Mailbox; its inode
//     number is the mailbox object's ID, so it follows a rename and is
//     never reused by a new mailbox of the same name. What its names open
//     is the file model's answer (files.Model.Lookup, List);
//   - msgNode: a message; inode from (account, mailbox ID, UIDVALIDITY,
//     UID). While a file of the file model stands for it (being written,
//     an editor's backup), reads and writes go to that file. It is not a
//     go-fuse node: msgNodes, the raw front of the node file system,
//     keeps one per message the kernel holds and answers the kernel's
//     requests on it (msgnodes.go), so a listed message costs a table
//     entry, not go-fuse's node;
//   - fileNode: a file of the file model the server holds no version of
//     yet (created here, or a scratch file);
//   - the views .search, .text, .parts and the hidden .mailfs/status.
//
// # Writes
//
// OPEN for writing joins the file model's file (files.Model.Create, Open,
// Edit); WRITE and SETATTR change its bytes; FLUSH and FSYNC only check
// them (files.File.Check); RELEASE of a descriptor is files.Handle.Release,
// and the file model decides what reaches the server. Nothing climbs back
// into fs but a kernel notification (files.Model.SetNotify).
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
// msgNodes.mu, then a node's mu, then the file model's lock, then the
// mail model's (msgNodes.mu is never held while a model is called); view.mu
// is a leaf, never held while a model is called. The mail model calls
// Observe with none of its locks held; the file model calls its notify
// function with its own lock held, and that function only takes view.mu
// and starts a goroutine.
package fs
