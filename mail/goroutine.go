package mail

import "runtime/debug"

// goSafe runs f in a goroutine that cannot take the mount down: a panic is
// logged with its stack and the goroutine ends. It is registered with the
// account's WaitGroup before it starts, so Close waits for it; once Close
// has begun waiting, nothing new starts.
func (a *Account) goSafe(what string, f func()) bool {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return false
	}
	a.bg.Add(1)
	a.mu.Unlock()
	go func() {
		defer a.bg.Done()
		defer func() {
			if v := recover(); v != nil {
				a.log.Error("background job panicked; carrying on without it", "job", what, "panic", v, "stack", string(debug.Stack()))
			}
		}()
		f()
	}()
	return true
}
