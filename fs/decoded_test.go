package fs_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"mailfs/imapback"
)

// decodedCorpus: messages whose planted word a reader sees but the wire
// bytes do not hold as such.
func decodedCorpus() (msgs map[string]string, attachment []byte) {
	attachment = append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 1, 2, 0xff, 'x'}, 3000)...)
	b64 := func(s []byte) string {
		e := base64.StdEncoding.EncodeToString(s)
		var b strings.Builder
		for len(e) > 76 {
			b.WriteString(e[:76] + "\r\n")
			e = e[76:]
		}
		return b.String() + e + "\r\n"
	}
	msgs = map[string]string{
		"café-qp71": "From: a@x\r\nSubject: qp\r\nMessage-ID: <qp@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" +
			"Content-Transfer-Encoding: quoted-printable\r\n\r\nmeet at the caf=C3=\r\n=A9-qp71 at noon\r\n",
		"Zwölf-b64": "From: a@x\r\nSubject: b64\r\nMessage-ID: <b64@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" +
			"Content-Transfer-Encoding: base64\r\n\r\n" + b64([]byte("Es ist Zwölf-b64 Uhr.\n")),
		"Straße-l1": "From: a@x\r\nSubject: latin1\r\nMessage-ID: <l1@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n" +
			"Content-Transfer-Encoding: 8bit\r\n\r\nIn der Stra\xdfe-l1 wohnt er.\r\n",
		// Its text is larger than its wire bytes (every byte of the body
		// becomes two in UTF-8): a reader must still get all of it.
		"Größer-l9": "From: a@x\r\nSubject: bigger\r\nMessage-ID: <big@x>\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nGr\xf6\xdfer-l9 " +
			strings.Repeat("\xe9", 6000) + "\r\n",
		"Fettdruck-h1": "From: a@x\r\nSubject: html\r\nMessage-ID: <h1@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
			"<html><body><p><b>Fett</b>druck-h1 und <a href=\"https://example.org/\">mehr</a></p></body></html>\r\n",
		"rechnung.pdf": "From: a@x\r\nSubject: invoice\r\nMessage-ID: <pdf@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n" +
			"--zz\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee the attachment\r\n" +
			"--zz\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"rechnung.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			b64(attachment) + "--zz--\r\n",
	}
	return msgs, attachment
}

// grepFiles is grep -rl word dir: the base names found.
func grepNames(t *testing.T, word, dir string) []string {
	t.Helper()
	out, err := exec.Command("grep", "-rl", word, dir).Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		return nil
	} else if err != nil {
		t.Fatalf("grep -rl %s %s: %v", word, dir, err)
	}
	var names []string
	for _, l := range strings.Fields(string(out)) {
		names = append(names, filepath.Base(l))
	}
	return names
}

// TestDecodedViews: on both servers, grep finds each planted word in
// .text (decoded from QP, base64, Latin-1, HTML) and not in the .eml
// files; an attachment in .parts is its original bytes; sizes are exact
// after open; everything is read-only; a search result has the views too.
func TestDecodedViews(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		p := s.peek(t)
		if err := p.c.Create("Decoded", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		msgs, attachment := decodedCorpus()
		for _, raw := range msgs {
			appendRaw(t, p, "Decoded", raw)
		}
		m := s.mount(t, imapback.Config{}, nil)
		raw := filepath.Join(m.dir, "Decoded")
		text := filepath.Join(m.dir, ".text", "Decoded")
		emls, err := os.ReadDir(raw)
		if err != nil || len(emls) != len(msgs) {
			t.Fatalf("Decoded holds %d files: %v", len(emls), err)
		}
		for word := range msgs {
			if word == "rechnung.pdf" {
				continue
			}
			if got := grepNames(t, word, raw); len(got) != 0 {
				t.Errorf("%s is in the wire bytes of %v: the case proves nothing", word, got)
			}
			got := grepNames(t, word, text)
			if len(got) != 1 || !strings.HasSuffix(got[0], ".txt") {
				t.Errorf("grep -rl %s .text/Decoded: %v", word, got)
			}
		}
		// Every .eml has its .txt, read whole by cat (read until EOF) after
		// ls -l showed the message's size; sizes are exact once read.
		if out, err := exec.Command("ls", "-l", text).CombinedOutput(); err != nil {
			t.Fatalf("ls -l .text: %v %s", err, out)
		}
		grew := false
		for _, e := range emls {
			txt := filepath.Join(text, strings.TrimSuffix(e.Name(), ".eml")+".txt")
			data, err := exec.Command("cat", txt).Output()
			if info, _ := e.Info(); info != nil && int64(len(data)) > info.Size() {
				grew = true
			}
			if err != nil {
				t.Fatalf("reading %s: %v", txt, err)
			}
			fi, err := os.Stat(txt)
			if err != nil || fi.Size() != int64(len(data)) {
				t.Errorf("%s: st_size %d after reading %d bytes (%v)", txt, fi.Size(), len(data), err)
			}
			if !bytes.HasPrefix(data, []byte("From: a@x\n")) || !bytes.HasSuffix(data, []byte("\n")) {
				t.Errorf("%s is not its whole text: %q … %q", txt, data[:min(len(data), 80)], data[max(0, len(data)-20):])
			}
			if again, _ := os.ReadFile(txt); !bytes.Equal(again, data) {
				t.Errorf("%s: a second read gives %d bytes, the first %d", txt, len(again), len(data))
			}
		}
		if !grew {
			t.Error("no text was larger than its message: the case proves nothing")
		}
		// The attachment, decoded, in .parts.
		var pdfMsg string
		for _, e := range emls {
			if strings.Contains(e.Name(), "invoice") {
				pdfMsg = strings.TrimSuffix(e.Name(), ".eml")
			}
		}
		partsDir := filepath.Join(m.dir, ".parts", "Decoded", pdfMsg)
		ents, err := os.ReadDir(partsDir)
		if err != nil || len(ents) != 2 || ents[0].Name() != "1-body.txt" || ents[1].Name() != "2-rechnung.pdf" {
			t.Fatalf("parts of %s: %v %v", pdfMsg, ents, err)
		}
		got, err := os.ReadFile(filepath.Join(partsDir, "2-rechnung.pdf"))
		if err != nil || !bytes.Equal(got, attachment) {
			t.Errorf("2-rechnung.pdf: %d bytes (%v), want the %d original bytes", len(got), err, len(attachment))
		}
		if fi, err := os.Stat(filepath.Join(partsDir, "2-rechnung.pdf")); err != nil || fi.Size() != int64(len(attachment)) {
			t.Errorf("2-rechnung.pdf st_size %v (%v)", fi, err)
		}
		if out, err := exec.Command("cp", filepath.Join(partsDir, "2-rechnung.pdf"), t.TempDir()).CombinedOutput(); err != nil {
			t.Errorf("cp of an attachment: %v %s", err, out)
		}
		txt, _ := os.ReadFile(filepath.Join(text, pdfMsg+".txt"))
		if !strings.Contains(string(txt), "[attachment: rechnung.pdf, application/pdf") {
			t.Errorf("the text does not list the attachment:\n%s", txt)
		}
		// Read-only.
		anyTxt := filepath.Join(text, pdfMsg+".txt")
		wantErrno(t, "write a .txt", os.WriteFile(anyTxt, []byte("x"), 0o600), syscall.EROFS)
		wantErrno(t, "rm a .txt", os.Remove(anyTxt), syscall.EROFS)
		wantErrno(t, "create in .text", os.WriteFile(filepath.Join(text, "new.txt"), []byte("x"), 0o600), syscall.EROFS)
		wantErrno(t, "mkdir in .parts", os.Mkdir(filepath.Join(m.dir, ".parts", "Decoded", "x"), 0o700), syscall.EROFS)
		wantErrno(t, "rm a part", os.Remove(filepath.Join(partsDir, "1-body.txt")), syscall.EROFS)
		// Hidden.
		if ls, _ := exec.Command("ls", "-a", m.dir).Output(); strings.Contains(string(ls), ".text") || strings.Contains(string(ls), ".parts") {
			t.Errorf("ls -a lists a decoded view: %s", ls)
		}
		// A search result has the views, holding only its hits.
		res := filepath.Join(m.dir, ".search", "subject:html", ".text", "Decoded")
		if got := grepNames(t, "Fettdruck-h1", res); len(got) != 1 {
			t.Errorf("grep in .search/subject:html/.text: %v", got)
		}
		if ents, err := os.ReadDir(res); err != nil || len(ents) != 1 {
			t.Errorf("the result's .text holds %v (%v), want its one hit", ents, err)
		}
	})
}
