// Package cache keeps message bodies in memory, bounded by total bytes.
//
// Bodies are immutable (a message's identity includes its UIDVALIDITY and
// UID), so entries never need invalidating, only evicting. Concurrent loads
// of one key share a single call to the loader (single-flight), and a
// caller whose context ends stops waiting without cancelling the shared
// load for the others. The package knows neither FUSE nor IMAP.
package cache
