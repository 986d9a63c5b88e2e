package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeHint is a message's pointer into README: "see README: Config
// file" names the heading "Config file", or one that adds a note in
// parentheses ("Config file (many accounts)").
var readmeHint = regexp.MustCompile(`README: ([A-Za-z.][^;:)"\n]*)`)

// TestREADMEHints: every README section named by an error, the usage
// text or a script is a heading of README.md.
func TestREADMEHints(t *testing.T) {
	root := filepath.Join("..", "..")
	headings := readmeHeadings(t, filepath.Join(root, "README.md"))
	found := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			// bench's hints would name bench/README.md.
			if rel == ".git" || rel == "bench" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") && !strings.HasPrefix(rel, ".ci"+string(filepath.Separator)) || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range readmeHint.FindAllStringSubmatch(string(b), -1) {
			found++
			name := strings.TrimSpace(m[1])
			ok := false
			for _, h := range headings {
				ok = ok || h == name || strings.HasPrefix(h, name+" (")
			}
			if !ok {
				t.Errorf("%s: %q names no heading of README.md", rel, m[0])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("no README hint found: the pattern is out of date")
	}
}

// readmeHeadings are the titles of README's headings, outside code blocks.
func readmeHeadings(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var titles []string
	fenced := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```"):
			fenced = !fenced
		case !fenced && strings.HasPrefix(line, "#"):
			titles = append(titles, strings.TrimSpace(strings.TrimLeft(line, "#")))
		}
	}
	return titles
}
