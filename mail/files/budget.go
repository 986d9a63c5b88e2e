package files

import (
	"fmt"
	"sync"

	"mailfs/mail"
)

// Budget bounds the memory of every file being written, together (one per
// mount, shared by its accounts).
type Budget struct {
	mu   sync.Mutex // protects used
	used int64
	max  int64
}

// NewBudget makes a budget of max bytes.
func NewBudget(max int64) *Budget { return &Budget{max: max} }

func (b *Budget) grow(n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > 0 && b.used+n > b.max {
		return fmt.Errorf("%w (%d bytes in files being written; the bound is %d)", mail.ErrNoSpace, b.used, b.max)
	}
	b.used += n
	return nil
}

// Used is the memory held by files being written now.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
