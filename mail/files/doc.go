// Package files is the file model of mailfs: the directories of a mailbox
// tree as a view shows them and the files being written in them, with no
// FUSE and no IMAP in it (as rclone keeps Dir, File and its writers in vfs
// under cmd/mount2). fs binds it to the kernel; it sits on the mail model
// (package mail).
//
// # Files
//
// A File is anything this mount is writing or holding under a name that
// the server does not show as it is: a file created in a mailbox, a
// message opened for writing, a message renamed to a scratch name (an
// editor's backup). Each has one state machine and one commit path
// (commit.go): while no descriptor can write, the model compares what the
// file should be on the server (its final bytes, in its mailbox, once, or
// nothing once it is removed) with the versions of it the server holds,
// and takes one step at a time towards it: store, move, remove. A rename,
// an unlink or a failed write changes only what the file should be; the
// step on its way finishes, and the next step is planned from the new
// wish. So nothing the user removed, renamed over or failed to write
// reaches the server, whatever order the server answers in.
//
// A version carries its mailbox and UIDVALIDITY (version), so a UID is
// never used in another mailbox, and a file moved to another mailbox is
// stored there once.
//
// # Names
//
// A Dir owns its names: files by name, and names kept for the mount's
// life (a file stored under the name it was written as keeps that name;
// a message moved in keeps the name it was moved in under). A message
// that is a version of a file shows only under the file's name.
//
// # Steps and time
//
// Steps run through a Runner: goroutines and timers in a mount, a queue
// that the generated-sequence test drains in an order of its choosing.
//
// # Lock order
//
// Model.mu guards every Dir and File; no network call runs with it held.
// The mail model's locks come after it.
package files
