package files

import (
	"log/slog"
	"testing"
	"time"

	"mailfs/cache"
	"mailfs/mail"
	"mailfs/mail/mailtest"
)

// TestMaildirStateAcrossRemounts: with a disk cache, a message a client
// delivered into new/ under its own unique part is there under that
// part after a remount, and one a client moved to cur/ stays in cur/.
func TestMaildirStateAcrossRemounts(t *testing.T) {
	fake := mailtest.New("Trash", "INBOX")
	dir := t.TempDir()
	mount := func() (*Model, *mail.Mailbox, func()) {
		disk, err := cache.OpenDisk(dir, 1<<30, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		acct := mail.NewAccount(mail.Options{ID: "test", Backend: fake, TTL: time.Hour, Disk: disk, Logger: slog.New(slog.DiscardHandler)})
		m := New(Options{Account: acct, Name: testName, ParseUID: testUID, Budget: NewBudget(1 << 20),
			RetryMin: time.Millisecond, RetryMax: 4 * time.Millisecond})
		m.SetNotify(func(*mail.Mailbox, ...string) {})
		return m, acct.Mailbox("INBOX"), func() {
			if err := m.Close(bg); err != nil {
				t.Fatal(err)
			}
			acct.Close()
			disk.Close()
		}
	}
	in := func(m *Model, mb *mail.Mailbox, sub string) []string {
		items, err := m.MaildirList(bg, mb, sub)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, it := range items {
			names = append(names, it.Name)
		}
		return names
	}
	m, mb, unmount := mount()
	h, err := m.MaildirCreate(mb, MaildirTmp, "1700000000.client.host")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.File().Write(bg, []byte("Subject: delivered\r\n\r\nhi\r\n"), 0); err != nil {
		t.Fatal(err)
	}
	h.Release()
	if _, err := m.MaildirRename(bg, mb, MaildirTmp, "1700000000.client.host", mb, MaildirNew, "1700000000.client.host"); err != nil {
		t.Fatal(err)
	}
	fake.Add("INBOX", []byte("Subject: other\r\n\r\nthere before\r\n"))
	unmount()

	m, mb, unmount = mount()
	if got := in(m, mb, MaildirNew); len(got) != 1 || got[0] != "1700000000.client.host" {
		t.Fatalf("new/ after a remount: %v", got)
	}
	cur := in(m, mb, MaildirCur)
	if len(cur) != 1 {
		t.Fatalf("cur/ after a remount: %v", cur)
	}
	if _, err := m.MaildirRename(bg, mb, MaildirNew, "1700000000.client.host", mb, MaildirCur, "1700000000.client.host:2,"); err != nil {
		t.Fatal(err)
	}
	unmount()

	m, mb, unmount = mount()
	defer unmount()
	if got := in(m, mb, MaildirNew); len(got) != 0 {
		t.Fatalf("new/ after the client moved its message to cur/ and a remount: %v", got)
	}
	if got := in(m, mb, MaildirCur); len(got) != 2 {
		t.Fatalf("cur/ after a remount: %v", got)
	}
}
