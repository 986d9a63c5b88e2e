package mail

import "mailfs/cache"

// KeepState keeps a small piece of state of kind for the mailbox in the
// disk cache, replacing what was kept (nothing without a disk cache):
// what a view must remember across remounts.
func (m *Mailbox) KeepState(kind string, data []byte) {
	d := m.acct.disk
	if d == nil {
		return
	}
	if err := d.SaveListing(m.stateKey(kind), data); err != nil {
		m.acct.log.Debug("could not keep state in the disk cache", "mailbox", m.Name(), "kind", kind, "err", err)
	}
}

// KeptState returns what KeepState kept.
func (m *Mailbox) KeptState(kind string) ([]byte, bool) {
	d := m.acct.disk
	if d == nil {
		return nil, false
	}
	return d.LoadListing(m.stateKey(kind))
}

func (m *Mailbox) stateKey(kind string) string {
	return cache.BoxKey(m.acct.id, m.Name()) + "." + kind
}
