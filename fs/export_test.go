package fs

// MessageNodes is how many message nodes the kernel holds on the mount.
func (m *Mounted) MessageNodes() int { return m.views[0].nodes.count() }
