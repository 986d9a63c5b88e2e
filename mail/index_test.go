package mail

import (
	"fmt"
	"testing"
)

// TestFindByUIDInAnyOrder: a listing in UID order is searched by halves,
// any other order through a map; either way every listed UID is found at
// its index and no other is, also after messages are appended in order
// and out of it.
func TestFindByUIDInAnyOrder(t *testing.T) {
	for _, uids := range [][]uint32{{}, {7}, {1, 2, 5, 9}, {9, 5, 2, 1}, {1, 5, 2, 9}} {
		m := &Mailbox{listing: &Listing{}}
		for _, u := range uids {
			m.listing.Messages = append(m.listing.Messages, Message{UID: u})
		}
		m._index()
		check := func(when string) {
			t.Helper()
			for i, msg := range m.listing.Messages {
				if at, ok := m._at(msg.UID); !ok || at != i {
					t.Fatalf("%v %s: UID %d found at %d, %v; want %d", uids, when, msg.UID, at, ok, i)
				}
			}
			for _, u := range []uint32{0, 3, 6, 8, 50, 1000} {
				if at, ok := m._at(u); ok {
					t.Fatalf("%v %s: UID %d not listed but found at %d", uids, when, u, at)
				}
			}
		}
		check("listed")
		for _, u := range []uint32{100, 4, 200} {
			m.listing.Messages = append(m.listing.Messages, Message{UID: u})
			m._indexAdded()
			check(fmt.Sprint("after appending ", u))
		}
	}
}
