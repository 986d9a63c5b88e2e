package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/sys/unix"

	"mailfs/internal/private"
)

// Disk keeps message bodies and mailbox listings in files, bounded in
// bytes, least recently used out first, across mounts.
//
// Layout under the directory (0700; files 0600):
//
//	lock                               held (flock) by the mount using it
//	verified                           the entries checked by the last run (verified.go)
//	bodies/BOX/UIDVALIDITY-UID-SIZE-SUM   one body, exactly its bytes
//	listings/BOX                       a mailbox's listing, as its owner encoded it
//
// BOX is a hash of (account, mailbox), so any mailbox name is safe. SIZE
// and SUM (the first 16 bytes of the body's SHA-256, hex) are in the
// name, so a body file holds nothing but the body (the kernel can read
// it directly: FUSE passthrough) and is checked against its name before
// it is served: the length always, the checksum once per entry written
// by an earlier run. A file is written as a temporary, fsynced, then
// renamed into place, so a crash, kill or full disk leaves either the
// whole entry or none (temporaries are removed at the next start).
type Disk struct {
	dir     string
	max     int64
	minFree int64
	log     *slog.Logger
	lock    *os.File
	queue   chan diskWrite
	done    chan struct{}
	wg      sync.WaitGroup

	mu       sync.Mutex // protects the following
	idle     *sync.Cond // signalled when writing empties
	lru      *simplelru.LRU[string, *diskEntry]
	bytes    int64
	writing  map[string]bool // keys queued or being written
	queued   int64           // their bytes
	closed   bool
	hits     int64
	misses   int64
	written  int64
	rejected int64 // corrupt or truncated entries found and removed
	skipped  int64 // writes dropped: queue full, low disk space

	listingsSaved int64
	hashed        int64
}

// diskEntry is one body file.
type diskEntry struct {
	path     string
	size     int64
	sum      string // hex, from the name
	verified bool   // checksum checked (or written by this run)
}

type diskWrite struct {
	key, box string
	name     string // UIDVALIDITY-UID
	body     []byte
}

// ErrLocked: another mount uses the cache directory.
var ErrLocked = errors.New("cache directory in use by another mailfs mount")

// DefaultDiskDir is $XDG_CACHE_HOME/mailfs, else ~/.cache/mailfs.
func DefaultDiskDir() string {
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "mailfs")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "mailfs")
}

// diskMinFree is the free space every write leaves on the file system.
const diskMinFree = 256 << 20

// diskQueue and diskQueueBytes bound the bodies waiting to be written
// (they are the memory cache's own slices, not copies).
const (
	diskQueue      = 8192
	diskQueueBytes = 128 << 20
)

// OpenDisk opens (creating) the cache at dir, bounded by maxBytes. It
// refuses with ErrLocked when another mount holds dir; it removes
// temporaries an interrupted run left and entries past the bound.
func OpenDisk(dir string, maxBytes int64, log *slog.Logger) (*Disk, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The cache is the user's alone: real directories owned by them
	// that nobody else can write to (else another user could plant
	// entries served as mail, or point the lock file elsewhere).
	for _, sub := range []string{"", "bodies", "listings"} {
		if err := private.Dir(filepath.Join(dir, sub)); err != nil {
			return nil, err // names the directory
		}
	}
	lock, err := private.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, fmt.Errorf("disk cache %s: %w", dir, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w (one cache directory per mount: give this one --cache-dir)", dir, ErrLocked)
		}
		return nil, fmt.Errorf("disk cache %s: lock: %w", dir, err)
	}
	lock.Truncate(0)
	fmt.Fprintf(lock, "%d\n", os.Getpid())
	d := &Disk{dir: dir, max: maxBytes, minFree: diskMinFree, log: log, lock: lock,
		queue: make(chan diskWrite, diskQueue), done: make(chan struct{}), writing: map[string]bool{}}
	d.idle = sync.NewCond(&d.mu)
	d.lru, _ = simplelru.NewLRU[string, *diskEntry](1<<31-1, func(_ string, e *diskEntry) {
		d.bytes -= e.size
		os.Remove(e.path)
	})
	if err := d.scan(); err != nil {
		d.Close()
		return nil, err
	}
	d.wg.Add(1)
	go d.writer()
	return d, nil
}

// scan indexes the body files, oldest use first, removing temporaries
// and files whose names are not entries.
func (d *Disk) scan() error {
	type found struct {
		key string
		e   *diskEntry
		at  time.Time
	}
	var all []found
	root := filepath.Join(d.dir, "bodies")
	checked := d.loadVerified()
	// The record is for this run's start only: an entry checked now is
	// recorded again at Close; one the run never closes cleanly is not.
	os.Remove(filepath.Join(d.dir, verifiedFile))
	err := filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			if path != root {
				if err := private.Check(path); err != nil {
					return err
				}
			}
			return nil
		}
		if !de.Type().IsRegular() {
			os.Remove(path) // a symlink or other file nobody should have put here
			return nil
		}
		box := filepath.Base(filepath.Dir(path))
		name := de.Name()
		size, sum, key, ok := parseBodyName(box, name)
		fi, ferr := de.Info()
		if !ok || ferr != nil || fi.Size() != size {
			os.Remove(path) // a temporary, or a truncated entry
			if ok {
				d.rejected++
			}
			return nil
		}
		e := &diskEntry{path: path, size: size, sum: sum}
		if rel, err := filepath.Rel(d.dir, path); err == nil {
			if id, ok := idOf(fi); ok && checked[rel] == id {
				e.verified = true
			}
		}
		all = append(all, found{key, e, fi.ModTime()})
		return nil
	})
	if err != nil {
		return fmt.Errorf("disk cache %s: %w", d.dir, err)
	}
	for _, name := range listDir(filepath.Join(d.dir, "listings")) {
		if strings.HasPrefix(name, ".tmp") {
			os.Remove(filepath.Join(d.dir, "listings", name))
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	for _, f := range all {
		d.lru.Add(f.key, f.e)
		d.bytes += f.e.size
	}
	d.trim(0)
	return nil
}

func listDir(dir string) []string {
	ents, _ := os.ReadDir(dir)
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// parseBodyName reads UIDVALIDITY-UID-SIZE-SUM.
func parseBodyName(box, name string) (size int64, sum, key string, ok bool) {
	f := strings.Split(name, "-")
	if len(f) != 4 || len(f[3]) != 32 {
		return 0, "", "", false
	}
	for _, n := range f[:2] {
		if _, err := strconv.ParseUint(n, 10, 32); err != nil {
			return 0, "", "", false
		}
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || size < 0 {
		return 0, "", "", false
	}
	if _, err := hex.DecodeString(f[3]); err != nil {
		return 0, "", "", false
	}
	return size, f[3], box + "/" + f[0] + "-" + f[1], true
}

// BoxKey names a mailbox's entries: a hash of the account and mailbox.
func BoxKey(account, mailbox string) string {
	h := sha256.Sum256([]byte(account + "\x00" + mailbox))
	return hex.EncodeToString(h[:12])
}

func bodyKey(box string, uidValidity, uid uint32) (key, name string) {
	name = strconv.FormatUint(uint64(uidValidity), 10) + "-" + strconv.FormatUint(uint64(uid), 10)
	return box + "/" + name, name
}

func checksum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// Get returns a body from disk, checked against its name; an entry that
// fails the check is removed (and the caller fetches the body again).
func (d *Disk) Get(box string, uidValidity, uid uint32) ([]byte, bool) {
	return d.load(box, uidValidity, uid)
}

// Verify checks an entry as Get does, without keeping its bytes: once
// checked, its file can be handed to the kernel (Path) with nothing held
// in memory. It returns the body's size.
func (d *Disk) Verify(box string, uidValidity, uid uint32) (int64, bool) {
	key, _ := bodyKey(box, uidValidity, uid)
	d.mu.Lock()
	e, ok := d.lru.Peek(key)
	verified := ok && e.verified
	d.mu.Unlock()
	if verified {
		d.mu.Lock()
		d.lru.Get(key) // recently used
		d.hits++
		d.mu.Unlock()
		return e.size, true
	}
	body, ok := d.load(box, uidValidity, uid)
	return int64(len(body)), ok
}

func (d *Disk) load(box string, uidValidity, uid uint32) ([]byte, bool) {
	key, _ := bodyKey(box, uidValidity, uid)
	d.mu.Lock()
	e, ok := d.lru.Get(key)
	if !ok {
		d.misses++
		d.mu.Unlock()
		return nil, false
	}
	d.mu.Unlock()
	body, err := private.ReadFile(e.path)
	good := err == nil && int64(len(body)) == e.size
	if good && !e.verified {
		good = checksum(body) == e.sum
		d.mu.Lock()
		d.hashed++
		d.mu.Unlock()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !good {
		d.rejected++
		d.misses++
		d.log.Warn("disk cache: an entry failed its check; removed, the body will be fetched again", "file", e.path, "err", err)
		if cur, ok := d.lru.Peek(key); ok && cur == e {
			d.lru.Remove(key)
		}
		return nil, false
	}
	e.verified = true
	d.hits++
	now := time.Now()
	os.Chtimes(e.path, now, now) // the recency the next run orders by
	return body, true
}

// Path returns the file holding a body whose checksum has been checked
// (by Get, or because this run wrote it), for the kernel to read
// directly; ok false otherwise.
func (d *Disk) Path(box string, uidValidity, uid uint32) (string, int64, bool) {
	key, _ := bodyKey(box, uidValidity, uid)
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.lru.Get(key)
	if !ok || !e.verified {
		return "", 0, false
	}
	return e.path, e.size, true
}

// Has reports whether a body is on disk (unchecked).
func (d *Disk) Has(box string, uidValidity, uid uint32) bool {
	key, _ := bodyKey(box, uidValidity, uid)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lru.Contains(key)
}

// Put writes a body in the background; when the queue is full or the
// disk nearly so, it is not kept (a cache may forget).
func (d *Disk) Put(box string, uidValidity, uid uint32, body []byte) {
	if int64(len(body)) > d.max {
		return
	}
	key, name := bodyKey(box, uidValidity, uid)
	d.mu.Lock()
	if d.closed || d.writing[key] || d.lru.Contains(key) {
		d.mu.Unlock()
		return
	}
	if d.queued+int64(len(body)) > diskQueueBytes {
		d.skipped++
		d.mu.Unlock()
		return
	}
	d.writing[key] = true
	d.queued += int64(len(body))
	d.mu.Unlock()
	select {
	case d.queue <- diskWrite{key: key, box: box, name: name, body: body}:
	default:
		d.mu.Lock()
		delete(d.writing, key)
		d.queued -= int64(len(body))
		d.skipped++
		if len(d.writing) == 0 {
			d.idle.Broadcast()
		}
		d.mu.Unlock()
	}
}

func (d *Disk) writer() {
	defer d.wg.Done()
	for {
		var batch []diskWrite
		var n int64
		select {
		case w := <-d.queue:
			batch, n = append(batch, w), int64(len(w.body))
		case <-d.done:
			for {
				select {
				case w := <-d.queue:
					batch = append(batch, w)
				default:
					d.writeBatch(batch)
					return
				}
			}
		}
		for more := true; more && n < diskBatchBytes && len(batch) < diskBatchCount; {
			select {
			case w := <-d.queue:
				batch, n = append(batch, w), n+int64(len(w.body))
			default:
				more = false
			}
		}
		d.writeBatch(batch)
	}
}

// Writes are batched: each body goes to a temporary file, then one
// syncfs makes all of them durable, then each is renamed into place. A
// crash before the rename leaves only temporaries, removed at the next
// start; one fsync per body would bound a scan's caching by the disk's
// flush rate.
const (
	diskBatchBytes = 32 << 20
	diskBatchCount = 512
)

type pendingFile struct {
	w         diskWrite
	tmp, path string
	sum       string
	size      int64
}

// writeBatch stores bodies: room is made first for each (the bound holds
// also while a burst arrives, temporaries counted), then temporaries,
// one syncfs, renames.
func (d *Disk) writeBatch(batch []diskWrite) {
	if len(batch) == 0 {
		return
	}
	defer func() {
		d.mu.Lock()
		for _, w := range batch {
			delete(d.writing, w.key)
			d.queued -= int64(len(w.body))
		}
		if len(d.writing) == 0 {
			d.idle.Broadcast()
		}
		d.mu.Unlock()
	}()
	var files []pendingFile
	for _, w := range batch {
		size := int64(len(w.body))
		if !d.roomOnDisk(size) {
			d.mu.Lock()
			d.skipped++
			d.mu.Unlock()
			continue
		}
		d.mu.Lock()
		d.trim(size)
		if d.bytes+size > d.max {
			// The room is reserved by this batch's own bodies: this one
			// waits for the next time it is read.
			d.skipped++
			d.mu.Unlock()
			continue
		}
		d.bytes += size // reserved
		d.mu.Unlock()
		sum := checksum(w.body)
		dir := filepath.Join(d.dir, "bodies", w.box)
		path := filepath.Join(dir, w.name+"-"+strconv.FormatInt(size, 10)+"-"+sum)
		tmp, err := writeTemp(dir, w.body, false)
		if err != nil {
			d.mu.Lock()
			d.bytes -= size
			d.skipped++
			d.mu.Unlock()
			d.log.Debug("disk cache: write failed", "file", path, "err", err)
			continue
		}
		files = append(files, pendingFile{w: w, tmp: tmp, path: path, sum: sum, size: size})
	}
	if len(files) == 0 {
		return
	}
	err := unix.Syncfs(int(d.lock.Fd()))
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, f := range files {
		d.bytes -= f.size
		if err == nil {
			err = os.Rename(f.tmp, f.path)
		}
		if err != nil {
			os.Remove(f.tmp)
			d.skipped++
			d.log.Debug("disk cache: write failed", "file", f.path, "err", err)
			continue
		}
		d.lru.Add(f.w.key, &diskEntry{path: f.path, size: f.size, sum: f.sum, verified: true})
		d.bytes += f.size
		d.written++
	}
	d.trim(0)
}

// writeTemp writes data to a new 0600 temporary in dir, fsynced when
// sync (a batch is synced at once instead).
func writeTemp(dir string, data []byte, sync bool) (string, error) {
	if err := private.Dir(dir); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o600)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// trim evicts least recently used entries until extra more bytes fit.
func (d *Disk) trim(extra int64) {
	for d.bytes+extra > d.max && d.lru.Len() > 0 {
		d.lru.RemoveOldest()
	}
}

// roomOnDisk: writing n bytes leaves the minimum free space.
func (d *Disk) roomOnDisk(n int64) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.dir, &st); err != nil {
		return false
	}
	return int64(st.Bavail)*int64(st.Bsize)-n > d.minFree
}

// writeFileAtomic writes data to path through a fsynced temporary in dir.
func writeFileAtomic(dir, path string, data []byte) error {
	tmp, err := writeTemp(dir, data, true)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Validity drops a mailbox's entries of any UIDVALIDITY but uidValidity
// (the mailbox was recreated: those UIDs mean nothing now), and its
// listing when that was of another UIDVALIDITY.
func (d *Disk) Validity(box string, uidValidity uint32) {
	prefix := box + "/"
	keep := prefix + strconv.FormatUint(uint64(uidValidity), 10) + "-"
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range d.lru.Keys() {
		if strings.HasPrefix(k, prefix) && !strings.HasPrefix(k, keep) {
			d.lru.Remove(k)
		}
	}
}

// SaveListing keeps a mailbox's encoded listing (atomically replaced).
func (d *Disk) SaveListing(box string, data []byte) error {
	dir := filepath.Join(d.dir, "listings")
	d.mu.Lock()
	d.listingsSaved++
	d.mu.Unlock()
	return writeFileAtomic(dir, filepath.Join(dir, box), data)
}

// LoadListing returns what SaveListing kept.
func (d *Disk) LoadListing(box string) ([]byte, bool) {
	b, err := private.ReadFile(filepath.Join(d.dir, "listings", box))
	return b, err == nil
}

// HasListing reports whether SaveListing kept one for box.
func (d *Disk) HasListing(box string) bool {
	_, err := os.Stat(filepath.Join(d.dir, "listings", box))
	return err == nil
}

// DropListing forgets a mailbox's listing.
func (d *Disk) DropListing(box string) { os.Remove(filepath.Join(d.dir, "listings", box)) }

// DiskStats is a snapshot of the disk cache.
type DiskStats struct {
	Dir                       string
	Bytes, MaxBytes           int64
	Entries                   int
	Hits, Misses, Written     int64
	Rejected, Skipped, Queued int64
	ListingsSaved             int64 // listings and trees written
	Hashed                    int64 // entries of earlier runs read and hashed before use
}

func (d *Disk) Stats() DiskStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return DiskStats{Dir: d.dir, Bytes: d.bytes, MaxBytes: d.max, Entries: d.lru.Len(), Hits: d.hits, Misses: d.misses,
		Written: d.written, Rejected: d.rejected, Skipped: d.skipped, Queued: int64(len(d.writing)), ListingsSaved: d.listingsSaved,
		Hashed: d.hashed}
}

// Flush waits until every queued body is on disk (tests, unmount).
func (d *Disk) Flush() {
	d.mu.Lock()
	for len(d.writing) > 0 {
		d.idle.Wait()
	}
	d.mu.Unlock()
}

// Close writes what is queued and releases the directory.
func (d *Disk) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true // no more Puts
	d.mu.Unlock()
	if d.done != nil {
		close(d.done)
		d.wg.Wait()
	}
	d.mu.Lock()
	d._saveVerified()
	d.mu.Unlock()
	syscall.Flock(int(d.lock.Fd()), syscall.LOCK_UN)
	return d.lock.Close()
}
