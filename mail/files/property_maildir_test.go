package files

import (
	"errors"
	"fmt"

	"pgregory.net/rapid"

	"mailfs/mail"
)

// The .maildir operations of the generated-sequence test: deliveries
// (tmp/, write, rename into new/ or cur/ with flags), flag changes and
// moves between new/ and cur/ (renames), refiles to another mailbox, and
// removals, by the names a client knows.

// delivered is a message a client put into a Maildir, as the reference
// knows it.
type delivered struct {
	box, sub, unique, letters string
	body                      string
}

func (d *delivered) name() string {
	if d.sub == MaildirNew && d.letters == "" {
		return d.unique
	}
	return d.unique + ":2," + d.letters
}

func (s *machine) mdDeliver(t *rapid.T) {
	box := rapid.SampledFrom(propBoxes).Draw(t, "deliver box")
	sub := rapid.SampledFrom([]string{MaildirNew, MaildirCur}).Draw(t, "deliver sub")
	letters := rapid.SampledFrom([]string{"", "S", "FS", "RS"}).Draw(t, "deliver flags")
	s.written++
	d := &delivered{box: box, sub: sub, unique: fmt.Sprintf("%d.M%dP1.test", 1700000000+s.written, s.written), letters: letters,
		body: msg(fmt.Sprintf("d%d", s.written), "delivered")}
	h, err := s.e.m.MaildirCreate(s.e.mb(box), MaildirTmp, d.unique)
	if err != nil {
		t.Fatalf("create in tmp/: %v", err)
	}
	if err := h.File().Write(bg, []byte(d.body), 0); err != nil {
		t.Fatalf("write in tmp/: %v", err)
	}
	h.Release()
	if _, err := s.e.m.MaildirRename(bg, s.e.mb(box), MaildirTmp, d.unique, s.e.mb(box), sub, d.name()); err != nil {
		if allowed(err) {
			s.e.m.MaildirUnlink(bg, s.e.mb(box), MaildirTmp, d.unique)
			return
		}
		t.Fatalf("deliver: %v", err)
	}
	s.delivered = append(s.delivered, d)
}

// mdPick picks a delivered message the client still knows by name.
func (s *machine) mdPick(t *rapid.T) (int, *delivered) {
	if len(s.delivered) == 0 {
		t.Skip("nothing delivered")
	}
	i := rapid.IntRange(0, len(s.delivered)-1).Draw(t, "delivered")
	if s.delivered[i].unique == "" {
		t.Skip("refiled: its name is the view's")
	}
	return i, s.delivered[i]
}

func (s *machine) mdFlag(t *rapid.T) {
	_, d := s.mdPick(t)
	letters := rapid.SampledFrom([]string{"", "S", "FS", "RS"}).Draw(t, "new flags")
	to := *d
	to.sub, to.letters = MaildirCur, letters
	_, err := s.e.m.MaildirRename(bg, s.e.mb(d.box), d.sub, d.name(), s.e.mb(d.box), MaildirCur, to.name())
	if err != nil {
		if allowed(err) || errors.Is(err, mail.ErrTryLater) {
			return
		}
		t.Fatalf("flag change %s -> %s: %v", d.name(), to.name(), err)
	}
	*d = to
}

func (s *machine) mdRefile(t *rapid.T) {
	_, d := s.mdPick(t)
	box := rapid.SampledFrom(propBoxes).Draw(t, "refile to")
	if box == d.box {
		t.Skip("same mailbox")
	}
	_, err := s.e.m.MaildirRename(bg, s.e.mb(d.box), d.sub, d.name(), s.e.mb(box), MaildirCur, d.unique+":2,"+d.letters)
	if err != nil {
		if allowed(err) || errors.Is(err, mail.ErrTryLater) {
			return
		}
		t.Fatalf("refile %s to %s: %v", d.name(), box, err)
	}
	d.box, d.sub = box, MaildirCur
	// A refiled message keeps no client name in its new mailbox: from
	// now on the reference finds it by body only.
	d.unique = ""
}

func (s *machine) mdUnlink(t *rapid.T) {
	i, d := s.mdPick(t)
	if d.unique == "" {
		t.Skip("refiled: its name is the view's")
	}
	if err := s.e.m.MaildirUnlink(bg, s.e.mb(d.box), d.sub, d.name()); err != nil {
		if allowed(err) {
			return
		}
		t.Fatalf("unlink %s/%s/%s: %v", d.box, d.sub, d.name(), err)
	}
	s.removed[d.body] = true
	s.delivered = append(s.delivered[:i:i], s.delivered[i+1:]...)
}

func (s *machine) mdRead(t *rapid.T) {
	_, d := s.mdPick(t)
	if d.unique == "" {
		t.Skip("refiled: its name is the view's")
	}
	it, ok, err := s.e.m.MaildirLookup(bg, s.e.mb(d.box), d.sub, d.name())
	if err != nil {
		if allowed(err) {
			return
		}
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("%s/%s/%s is not there", d.box, d.sub, d.name())
	}
	var got []byte
	if it.File != nil && it.File.Loaded() {
		got, err = it.File.Read(bg, make([]byte, 1<<20), 0)
	} else {
		got, _, err = s.e.mb(d.box).Body(bg, it.Entry.Ref())
	}
	if err != nil {
		if allowed(err) {
			return
		}
		t.Fatal(err)
	}
	if string(got) != d.body {
		t.Fatalf("%s/%s/%s reads %q, want %q", d.box, d.sub, d.name(), got, d.body)
	}
}
