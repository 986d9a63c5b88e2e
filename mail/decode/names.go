package decode

import (
	"fmt"
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// maxName is the longest file name (bytes) Linux allows.
const maxName = 255

// wordDecoder decodes RFC 2047 words in any charset go-message knows.
var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeWords decodes RFC 2047 encoded words (Outlook writes them in
// file names too); undecodable text is kept as it came.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// extensions for parts without a file name (the system's mime.types is
// not consulted: names must not depend on the machine).
var extensions = map[string]string{
	"text/plain": "txt", "text/html": "html", "text/calendar": "ics", "text/csv": "csv",
	"text/markdown": "md", "text/xml": "xml", "text/vcard": "vcf", "text/x-vcard": "vcf",
	"text/enriched": "txt", "text/rfc822-headers": "txt",
	"message/rfc822": "eml", "message/delivery-status": "txt", "message/disposition-notification": "txt",
	"application/pdf": "pdf", "application/zip": "zip", "application/json": "json",
	"application/pgp-signature": "asc", "application/pgp-encrypted": "asc", "application/pkcs7-signature": "p7s",
	"application/x-pkcs7-signature": "p7s", "application/ics": "ics", "application/gzip": "gz",
	"application/msword": "doc", "application/vnd.ms-excel": "xls",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   "docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         "xlsx",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
	"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp", "image/svg+xml": "svg",
	"image/heic": "heic", "image/tiff": "tif", "image/bmp": "bmp",
	"audio/mpeg": "mp3", "audio/ogg": "ogg", "video/mp4": "mp4",
}

// PartName is the file name of part index in .parts: "N-" and the part's
// own file name made safe (its last path element; no control bytes, no
// "/", valid UTF-8, within 255 bytes keeping the extension), or
// "N-body.EXT" by media type when it has none. The number makes it
// unique and keeps message order under ls.
func PartName(index int, fileName, mediaType string) string {
	prefix := fmt.Sprintf("%d-", index)
	base := safeBase(fileName)
	if base == "" {
		ext, ok := extensions[strings.ToLower(mediaType)]
		if !ok {
			ext = "bin"
		}
		base = "body." + ext
	}
	return prefix + truncateName(base, maxName-len(prefix))
}

// safeBase is the last path element of name with everything a file name
// cannot or should not hold replaced by "_".
func safeBase(name string) string {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r == 0 || unicode.IsControl(r) || r == utf8.RuneError || r == '/' {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if strings.Trim(name, ".") == "" {
		return ""
	}
	return name
}

// truncateName shortens name to max bytes at a rune boundary, keeping a
// short extension.
func truncateName(name string, max int) string {
	if len(name) <= max {
		return name
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
		ext = name[i:]
		name = name[:i]
	}
	cut := max - len(ext)
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + ext
}
