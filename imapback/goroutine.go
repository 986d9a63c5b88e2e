package imapback

import (
	"log/slog"
	"runtime/debug"
)

// recovered logs a panic of a background goroutine instead of letting it
// end the process (and leave a dead mount behind). Use as
// `defer recovered(log, "what")`.
func recovered(log *slog.Logger, what string) {
	if v := recover(); v != nil {
		log.Error("background job panicked; carrying on without it", "job", what, "panic", v, "stack", string(debug.Stack()))
	}
}
