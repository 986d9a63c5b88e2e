package fs

import (
	"log/slog"
	"runtime/debug"
)

// goSafe runs f in a goroutine that cannot take the mount down: a panic is
// logged with its stack and the goroutine ends. (A crashed mailfs leaves a
// dead mount point behind; a failed background job costs only itself.)
func goSafe(log *slog.Logger, what string, f func()) {
	go func() {
		defer func() {
			if v := recover(); v != nil {
				log.Error("background job panicked; carrying on without it", "job", what, "panic", v, "stack", string(debug.Stack()))
			}
		}()
		f()
	}()
}
