package imapback

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailfs/internal/demoserver"
	"mailfs/internal/testenv"
)

// TestSlowUploadIsNotATimeout: an APPEND written into the socket at once
// drains over a slow uplink for longer than the timeout; the server
// answers only when it has it all. Bytes leaving the send buffer are the
// command's progress, so it succeeds, once (a timeout here made the file
// model look for the message before it had arrived and send it again).
func TestSlowUploadIsNotATimeout(t *testing.T) {
	srv, err := demoserver.Start(demoserver.Options{User: "alice", Password: "pw", Seed: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	// 256 KiB/s with a 64 KiB window: 1 MiB takes about 4 s, four times
	// the timeout.
	proxy, err := testenv.NewProxy(srv.Addr, testenv.ProxyOptions{BytesPerSec: 256 << 10, Window: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	ep, err := ParseURL("imap+insecure://alice@" + proxy.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := Dial(ctx, Config{Endpoint: ep, Password: "pw", Timeout: time.Second, Connections: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := []byte("From: a@example.com\r\nSubject: slow-upload\r\n\r\n" + strings.Repeat("a line of a large attachment, base64 or not\r\n", 23000))
	placed, err := c.Append(ctx, "Drafts", body, nil, time.Now())
	if err != nil {
		t.Fatalf("APPEND of %d bytes over a slow uplink: %v", len(body), err)
	}
	msgs, err := c.Messages(ctx, "Drafts")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs.Messages {
		if m.Subject == "slow-upload" {
			n++
			if m.Size != int64(len(body)) {
				t.Errorf("stored %d bytes, wrote %d", m.Size, len(body))
			}
		}
	}
	if n != 1 || placed.UID == 0 {
		t.Errorf("%d copies on the server (UID %d), want 1", n, placed.UID)
	}
}
