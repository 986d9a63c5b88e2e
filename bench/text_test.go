package main

import (
	"testing"

	"mailfs/mail/decode"
)

// BenchmarkTextView is the CPU the .text view costs for the whole corpus
// (one op: decode.Text of all 5,000 messages):
//
//	go test -run '^$' -bench TextView ./bench
func BenchmarkTextView(b *testing.B) {
	c := generateCorpus(5000, 1)
	b.SetBytes(c.Total)
	b.ResetTimer()
	for range b.N {
		for _, m := range c.Msgs {
			decode.Text(m.Raw)
		}
	}
}
