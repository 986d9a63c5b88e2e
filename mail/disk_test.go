package mail

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mailfs/cache"
)

func diskAccount(t *testing.T, f *fake, dir string) (*Account, *cache.Disk) {
	t.Helper()
	d, err := cache.OpenDisk(dir, 64<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAccount(Options{ID: "test", Backend: f, TTL: time.Hour, Disk: d})
	return a, d
}

func closeDisk(t *testing.T, a *Account, d *cache.Disk) {
	t.Helper()
	a.Close()
	d.Flush()
	d.Close()
}

// With a disk cache, the next account on the same directory revalidates
// the kept listing (STATUS, no listing), serves kept bodies without the
// backend, and while the backend is down still shows the tree, the
// listing and the bodies; a new message shows beside the kept ones.
func TestDiskTierAcrossAccounts(t *testing.T) {
	f := newFake("INBOX", "Work")
	var added []uint32
	for i, s := range []string{"one", "two", "three"} {
		added = append(added, f.add("INBOX", s, "body of "+s+string(rune('a'+i)), 12))
	}
	dir := t.TempDir()
	a, d := diskAccount(t, f, dir)
	if _, err := a.Folder(bg, ""); err != nil { // lists the tree, which is kept
		t.Fatal(err)
	}
	m := a.Mailbox("INBOX")
	entries, err := m.Entries(bg)
	if err != nil || len(entries) != 3 {
		t.Fatalf("entries %v %v", entries, err)
	}
	want := map[uint32][]byte{}
	for _, e := range entries {
		b, _, err := m.Body(bg, e.Ref())
		if err != nil {
			t.Fatal(err)
		}
		want[e.UID] = b
	}
	closeDisk(t, a, d)

	listings, statuses, bodies := f.count("LISTING"), f.count("STATUS"), f.count("BODY")
	a, d = diskAccount(t, f, dir)
	m = a.Mailbox("INBOX")
	entries, err = m.Entries(bg)
	if err != nil || len(entries) != 3 {
		t.Fatalf("after reopening: %v %v", entries, err)
	}
	if f.count("LISTING") != listings || f.count("STATUS") != statuses+1 {
		t.Errorf("reopened: %d more listings, %d more STATUS; want 0 and 1", f.count("LISTING")-listings, f.count("STATUS")-statuses)
	}
	for _, e := range entries {
		b, _, err := m.Body(bg, e.Ref())
		if err != nil || !bytes.Equal(b, want[e.UID]) {
			t.Errorf("UID %d: %q %v", e.UID, b, err)
		}
	}
	if f.count("BODY") != bodies {
		t.Errorf("%d bodies fetched again, want 0", f.count("BODY")-bodies)
	}
	added = append(added, f.add("INBOX", "four", "body of four", 12))
	closeDisk(t, a, d)

	// The server down: tree, listing and bodies from disk.
	f.mu.Lock()
	f.down = true
	f.mu.Unlock()
	a, d = diskAccount(t, f, dir)
	defer closeDisk(t, a, d)
	root, err := a.Folder(bg, "")
	if err != nil || root.Children["INBOX"] != "INBOX" || root.Children["Work"] != "Work" {
		t.Fatalf("the tree while down: %+v %v", root, err)
	}
	m = a.Mailbox("INBOX")
	entries, err = m.Entries(bg)
	if err != nil || len(entries) != 3 {
		t.Fatalf("the listing while down: %v %v", entries, err)
	}
	for _, e := range entries {
		if b, _, err := m.Body(bg, e.Ref()); err != nil || !bytes.Equal(b, want[e.UID]) {
			t.Errorf("UID %d while down: %q %v", e.UID, b, err)
		}
	}
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	m.Invalidate()
	entries, err = m.Entries(bg)
	if err != nil || len(entries) != 4 || entries[3].UID != added[3] {
		t.Errorf("back up: %v %v", uids(entries), err)
	}
}

// A listing is written to the disk cache when it changes, not at every
// revalidation that finds the mailbox as it was.
func TestDiskListingWrittenOnChangeOnly(t *testing.T) {
	f := newFake("INBOX")
	f.add("INBOX", "one", "body one", 8)
	d, err := cache.OpenDisk(t.TempDir(), 64<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	session := func(change bool) {
		t.Helper()
		a := NewAccount(Options{ID: "test", Backend: f, TTL: time.Hour, Disk: d})
		m := a.Mailbox("INBOX")
		if change {
			f.add("INBOX", "more", "another body", 12)
		}
		for range 3 {
			if _, err := m.Entries(bg); err != nil {
				t.Fatal(err)
			}
			m.Invalidate()
		}
		a.Close() // waits for the writes in the background
	}
	session(false) // the first listing: written
	if n := d.Stats().ListingsSaved; n != 1 {
		t.Fatalf("after the first listing: %d writes, want 1", n)
	}
	session(false) // three revalidations, nothing changed
	if n := d.Stats().ListingsSaved; n != 1 {
		t.Errorf("unchanged revalidations wrote the listing %d times", n-1)
	}
	session(true) // a new message: written again
	if n := d.Stats().ListingsSaved; n != 2 {
		t.Errorf("after a change: %d writes, want 2", n)
	}
}

// Read-ahead over bodies the disk cache holds checks them there (so the views may hand the files to the kernel) and
// load none into memory, nor fetch any.
func TestDiskReadAheadChecksWithoutLoading(t *testing.T) {
	f := newFake("INBOX")
	for i := range 40 {
		f.add("INBOX", "message", "body "+string(rune('a'+i%26)), 12)
	}
	dir := t.TempDir()
	a, d := diskAccount(t, f, dir)
	m := a.Mailbox("INBOX")
	entries, err := m.Entries(bg)
	if err != nil || len(entries) != 40 {
		t.Fatalf("entries %d %v", len(entries), err)
	}
	for _, e := range entries {
		if _, _, err := m.Body(bg, e.Ref()); err != nil {
			t.Fatal(err)
		}
	}
	closeDisk(t, a, d)

	bodies := f.count("BODY")
	// An earlier run that did not close cleanly left no record of what
	// it checked (a clean close does: cache/verified.go).
	if err := os.Remove(filepath.Join(dir, "verified")); err != nil {
		t.Fatal(err)
	}
	d, err = cache.OpenDisk(dir, 64<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	a = NewAccount(Options{ID: "test", Backend: f, TTL: time.Hour, Disk: d, ReadAhead: 2})
	defer closeDisk(t, a, d)
	m = a.Mailbox("INBOX")
	if entries, err = m.Entries(bg); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := m.DiskFile(entries[39].Ref()); ok {
		t.Fatal("an entry of an earlier run was passed as checked before it was checked")
	}
	// One read-ahead batch, run here rather than on read-ahead's own
	// goroutine, so that its effect can be looked at when it returns.
	batch := entries[20:26]
	var uids []uint32
	var keys []string
	for _, e := range batch {
		uids = append(uids, e.UID)
		keys = append(keys, m.bodyKey(e.Ref()))
	}
	if claimed := a.bodies.Expect(keys); len(claimed) != len(keys) {
		t.Fatalf("claimed %d of %d bodies", len(claimed), len(keys))
	}
	m.runBatch(a, m.Name(), batch[0].UIDValidity, uids, keys)
	for _, e := range batch {
		if _, _, ok := m.DiskFile(e.Ref()); !ok {
			t.Errorf("UID %d: not checked by read-ahead", e.UID)
		}
		if _, ok := m.CachedBody(e.Ref()); ok {
			t.Errorf("UID %d: loaded into memory by read-ahead", e.UID)
		}
	}
	last := entries[len(entries)-1].Ref()
	if b, _, err := m.Body(bg, last); err != nil || len(b) == 0 {
		t.Errorf("reading a checked message: %q %v", b, err)
	}
	if b, _, err := m.Body(bg, batch[0].Ref()); err != nil || len(b) == 0 {
		t.Errorf("reading a message read-ahead left on disk: %q %v", b, err)
	}
	if n := f.count("BODY") - bodies; n != 0 {
		t.Errorf("%d bodies fetched from the server, want 0", n)
	}
}

// A message opened on its disk cache file (not in memory) is still the
// source of a UID COPY when a file with its bytes is written.
func TestDiskCopyOfAMessageOpenedOnDisk(t *testing.T) {
	f := newFake("INBOX", "Copy")
	raw := msgWithID("d@x", "D\r\n")
	f.add("INBOX", "s", raw, int64(len(raw)))
	dir := t.TempDir()
	a, d := diskAccount(t, f, dir)
	src := mustEntries(t, a.Mailbox("INBOX"))[0]
	if _, _, err := a.Mailbox("INBOX").Body(bg, src.Ref()); err != nil {
		t.Fatal(err)
	}
	closeDisk(t, a, d)

	a, d = diskAccount(t, f, dir)
	defer closeDisk(t, a, d)
	in, cp := a.Mailbox("INBOX"), a.Mailbox("Copy")
	src = mustEntries(t, in)[0]
	if _, ok := in.verifyOnDisk(src.Ref()); !ok {
		t.Fatal("the kept body is not on disk")
	}
	in.measured(src.Ref(), int64(len(raw)))
	in.Opened(src.UID)
	if _, ok := in.CachedBody(src.Ref()); ok {
		t.Fatal("the body is in memory; this test is about one that is not")
	}
	if _, err := cp.Store(bg, &Commit{Data: []byte(raw)}); err != nil || f.count("COPY") != 1 || f.count("APPEND") != 0 {
		t.Fatalf("copy: %v, %d COPY, %d APPEND", err, f.count("COPY"), f.count("APPEND"))
	}
}

// A listing kept by a mount whose names did not need the Date header is
// listed again, not used, by one whose names do (Options.Dates): names
// made from it without the Date would change at the next full listing.
// One kept with dates is used as usual.
func TestDiskListingWithoutDatesListedAgain(t *testing.T) {
	f := newFake("INBOX")
	f.add("INBOX", "one", "body one", 8)
	dir := t.TempDir()
	open := func(dates bool) (*Account, *cache.Disk) {
		d, err := cache.OpenDisk(dir, 64<<20, nil)
		if err != nil {
			t.Fatal(err)
		}
		return NewAccount(Options{ID: "test", Backend: f, TTL: time.Hour, Disk: d, Dates: dates}), d
	}
	for i, step := range []struct {
		dates    bool
		listings int // more LISTINGs than before
	}{{false, 1}, {true, 1}, {true, 0}, {false, 0}} {
		a, d := open(step.dates)
		before := f.count("LISTING")
		if es, err := a.Mailbox("INBOX").Entries(bg); err != nil || len(es) != 1 {
			t.Fatalf("step %d: %v %v", i, es, err)
		}
		if got := f.count("LISTING") - before; got != step.listings {
			t.Errorf("step %d (dates %v): %d listings, want %d", i, step.dates, got, step.listings)
		}
		closeDisk(t, a, d)
	}
}
