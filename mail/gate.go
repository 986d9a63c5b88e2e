package mail

import "context"

// gate is a mutex whose Lock gives up when the caller's context ends, for
// locks held across network calls: a request queued behind another's
// listing can still be interrupted (Ctrl-C gives EINTR at once).
type gate chan struct{}

func newGate() gate { return make(gate, 1) }

func (g gate) lock(ctx context.Context) error {
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g gate) unlock() { <-g }
