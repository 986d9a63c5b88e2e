package fs

import "runtime/debug"

// goSafe runs f in a goroutine that cannot take the mount down: a panic is
// logged with its stack and the goroutine ends. It is registered with the
// view's WaitGroup before it starts; once the mount is gone, nothing
// starts.
func (v *view) goSafe(what string, f func()) {
	v.mu.Lock()
	if v.unmounted {
		v.mu.Unlock()
		return
	}
	v.bg.Add(1)
	v.mu.Unlock()
	go func() {
		defer v.bg.Done()
		defer func() {
			if r := recover(); r != nil {
				v.log.Error("background job panicked; carrying on without it", "job", what, "panic", r, "stack", string(debug.Stack()))
			}
		}()
		f()
	}()
}
