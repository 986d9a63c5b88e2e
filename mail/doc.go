// Package mail is the mail model of mailfs: one Account per mounted
// account, knowing neither FUSE nor IMAP. Views (the file tree in fs, and
// later search results and decoded views) are bindings over it; imapback
// is the Backend under it.
//
// # What it holds
//
//   - the mailbox tree (Folder), listed again after the TTL;
//   - a Mailbox object per mailbox: its listing by UID, kept current by
//     deltas (Backend.Changes), the messages this mount stored or removed
//     since, the sizes measured from fetched bodies, read-ahead state.
//     A Mailbox follows a RENAME (same object, same ID); a mailbox made
//     later under an old name is a new object with a new ID;
//   - bodies, in the byte-bounded cache of package cache, keyed by
//     (account, mailbox ID, UIDVALIDITY, UID);
//
// Messages are known by UID and UIDVALIDITY (Ref) only; file names are a
// view's business. Changes found by revalidation are reported to the one
// observer (Observe) as Change values.
//
// # Errors
//
// The sentinels of errors.go are the only error vocabulary: Backend
// implementations wrap them, views map them (fs has the errno table).
//
// # Lock order
//
// Mailbox.load and tree.load (gates: held across network calls, and
// given up when the caller's context ends) come first, then Account.mu,
// then Mailbox.mu, then readahead.mu; cache locks are leaves. No lock is
// held while the observer is called or while a Backend call runs, except
// the load gates. Views take their own locks before the model's, never
// while the model calls them.
package mail
