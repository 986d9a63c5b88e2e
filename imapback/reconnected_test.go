package imapback

import (
	"errors"
	"testing"
)

// TestReconnectedClosesWhenTheServerAnswersAgain: the channel closes at
// the transition from unreachable to answering, not at every success,
// and a new one waits for the next.
func TestReconnectedClosesWhenTheServerAnswersAgain(t *testing.T) {
	c := &Client{}
	c.health.result(nil) // connected
	back := c.Reconnected()
	c.health.result(nil)
	select {
	case <-back:
		t.Fatal("closed while the server answered all along")
	default:
	}
	c.health.result(errors.New("unreachable"))
	c.health.result(nil)
	select {
	case <-back:
	default:
		t.Fatal("not closed when the server answered again")
	}
	select {
	case <-c.Reconnected():
		t.Fatal("the next channel is closed already")
	default:
	}
}
