package sample

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"strings"
)

// rng is a tiny splitmix64 generator: fully specified here so that the
// generated attachments never change between Go releases.
type rng struct{ state uint64 }

func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// makePNG returns a valid, uncompressed (stored deflate blocks) RGB PNG of
// the given size: a gradient with deterministic noise. Its size is roughly
// height*(1+3*width) bytes.
func makePNG(width, height int, seed uint64) []byte {
	r := rng{state: seed}
	raw := make([]byte, 0, height*(1+3*width))
	for y := 0; y < height; y++ {
		raw = append(raw, 0) // filter type None
		for x := 0; x < width; x++ {
			n := r.next()
			red := 40 + 150*y/height + int(n&0x1f)
			green := 90 + 100*x/width + int((n>>8)&0x1f)
			blue := 200 - 120*y/height + int((n>>16)&0x1f)
			raw = append(raw, byte(red), byte(green), byte(blue))
		}
	}

	// zlib stream made of stored blocks.
	var z bytes.Buffer
	z.Write([]byte{0x78, 0x01})
	for rest := raw; ; {
		n := len(rest)
		final := byte(1)
		if n > 0xffff {
			n = 0xffff
			final = 0
		}
		z.WriteByte(final)
		var lens [4]byte
		binary.LittleEndian.PutUint16(lens[0:], uint16(n))
		binary.LittleEndian.PutUint16(lens[2:], ^uint16(n))
		z.Write(lens[:])
		z.Write(rest[:n])
		rest = rest[n:]
		if final == 1 {
			break
		}
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], adler32.Checksum(raw))
	z.Write(sum[:])

	var out bytes.Buffer
	out.Write([]byte("\x89PNG\r\n\x1a\n"))
	chunk := func(typ string, data []byte) {
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(data)))
		out.Write(hdr[:])
		out.WriteString(typ)
		out.Write(data)
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		binary.BigEndian.PutUint32(hdr[:], crc.Sum32())
		out.Write(hdr[:])
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8] = 8 // bit depth
	ihdr[9] = 2 // colour type RGB
	chunk("IHDR", ihdr)
	chunk("tEXt", []byte("Software\x00mailfs sample generator"))
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// pdfEscape escapes a string for a PDF literal string.
func pdfEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	return r.Replace(s)
}

// makePDF returns a small but valid one-page PDF document showing the given
// ASCII lines of text.
func makePDF(title string, lines []string) []byte {
	var content strings.Builder
	content.WriteString("BT\n/F1 20 Tf\n72 770 Td\n(" + pdfEscape(title) + ") Tj\n/F1 11 Tf\n0 -30 Td\n")
	for _, l := range lines {
		content.WriteString("(" + pdfEscape(l) + ") Tj\n0 -15 Td\n")
	}
	content.WriteString("ET\n")

	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		fmt.Sprintf("<< /Title (%s) /Producer (mailfs sample generator) >>", pdfEscape(title)),
	}

	var out bytes.Buffer
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, obj := range objects {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, obj)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n",
		len(objects)+1, len(objects), xref)
	return out.Bytes()
}
