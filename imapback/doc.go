// Package imapback is mailfs's IMAP side: it dials and authenticates, keeps a
// small pool of connections that each remember their selected mailbox, and
// turns the file system's needs into IMAP commands.
//
// # Boundaries
//
// go-imap types never leave this package: callers see Mailbox, Listing,
// Message and the sentinel errors in errors.go. The package never imports
// go-fuse or syscall; the file system maps the sentinels to errnos.
//
// # Deadlines
//
// go-imap waits for the first byte of a reply without any deadline. Every
// command here runs under a watchdog (conn.run) that closes the connection
// when the server has sent nothing for Config.Timeout, or when the caller's
// context ends. A connection that overran is never reused.
//
// # Safety
//
// Every body fetch is BODY.PEEK (reading never sets \Seen); the read-only
// path selects with EXAMINE; a body fetch names the UIDVALIDITY its UID came
// from and fails with ErrStale when the mailbox's validity has changed.
package imapback
