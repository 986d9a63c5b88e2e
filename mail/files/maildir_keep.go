package files

import (
	"bytes"
	"encoding/gob"

	"mailfs/mail"
)

// The .maildir view's memory (which messages a client left in new/ or
// moved to cur/, the unique parts clients delivered under) is kept in
// the disk cache, when there is one, so that it holds across remounts:
// a client that moved a message to cur/ does not see it come back to
// new/, and one that delivered under a unique part finds it there.
const maildirStateKind = "maildir"

// keptMaildir is maildirState as kept on disk.
type keptMaildir struct {
	New, Moved, Info []mail.Ref
	Alias            map[string]mail.Ref
}

// _loadMaildir fills a fresh maildirState from the disk cache; m.mu held.
func (d *Dir) _loadMaildir(md *maildirState) {
	data, ok := d.mb.KeptState(maildirStateKind)
	if !ok {
		return
	}
	var k keptMaildir
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&k); err != nil {
		return // damaged: start afresh, as without a disk cache
	}
	for _, r := range k.New {
		md.new[r] = true
	}
	for _, r := range k.Moved {
		md.moved[r] = true
	}
	for _, r := range k.Info {
		md.info[r] = true
	}
	for u, r := range k.Alias {
		md.alias[u], md.aliasOf[r] = r, u
	}
}

// _keepMaildir writes the view's memory of d to the disk cache (nothing
// without one); m.mu held, so writes keep their order.
func (d *Dir) _keepMaildir() {
	md := d.md
	if md == nil {
		return
	}
	k := keptMaildir{Alias: md.alias}
	for r, ok := range md.new {
		if ok {
			k.New = append(k.New, r)
		}
	}
	for r, ok := range md.moved {
		if ok {
			k.Moved = append(k.Moved, r)
		}
	}
	for r, ok := range md.info {
		if ok {
			k.Info = append(k.Info, r)
		}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(k); err != nil {
		return
	}
	d.mb.KeepState(maildirStateKind, buf.Bytes())
}
