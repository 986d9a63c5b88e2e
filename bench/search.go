package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// The search run: the corpus INBOX plus searchBoxes small mailboxes, the
// planted word in the INBOX message that has it and in searchPlanted of
// the small mailboxes. ls -lR of .search/WORD on a fresh mount beside a
// raw pipelined EXAMINE + UID SEARCH TEXT over the same mailboxes, and
// beside cold grep -rl of the word over the whole mount.

const (
	searchBoxes    = 20
	searchPerBox   = 25
	searchPlanted  = 4 // small mailboxes holding the word once each
	searchMailbox0 = "Small"
)

type searchBench struct {
	Mailboxes int   `json:"mailboxes"`
	Hits      int   `json:"hits"`
	Raw       phase `json:"raw_uid_search"`
	Query     phase `json:"mailfs_ls_search"`
	Grep      phase `json:"mailfs_cold_grep_all"`
}

func searchBoxName(i int) string { return fmt.Sprintf("%s%02d", searchMailbox0, i+1) }

// searchRun adds the small mailboxes and measures.
func (b *bench) searchRun(ctx context.Context) error {
	sb := &searchBench{Mailboxes: searchBoxes + 1, Hits: 1 + searchPlanted}
	b.res.Search = sb
	boxes := []string{"INBOX"}
	for i := range searchBoxes {
		name := searchBoxName(i)
		boxes = append(boxes, name)
		msgs := generateTiny(searchPerBox, b.cfg.Seed+uint64(i)+1)
		if i%(searchBoxes/searchPlanted) == 0 {
			m := &msgs[searchPerBox/2]
			m.Raw = append(bytes.TrimRight(m.Raw, "\r\n"), []byte("\r\nsee "+b.c.Word+" here\r\n")...)
		}
		if err := b.d.WriteMaildirMessages(name, maildirMessages(msgs)); err != nil {
			return err
		}
		if err := b.warmUp(ctx, name, false); err != nil {
			return err
		}
	}
	ic, _, err := dialIMAP(ctx, b.p.Addr, b.d.User, b.d.Password, "INBOX")
	if err != nil {
		return err
	}
	var hits int
	search := func() (err error) {
		hits, err = pipelinedSearch(ic.c, boxes, b.c.Word)
		return err
	}
	if err := search(); err != nil { // Dovecot's caches, unmeasured
		ic.close()
		return err
	}
	sb.Raw, err = b.bestOf(3, fmt.Sprintf("raw pipelined UID SEARCH in %d mailboxes", len(boxes)), search)
	ic.close()
	if err != nil {
		return err
	}
	b.res.check("raw search finds every planted message", hits == sb.Hits, "%d hits, want %d", hits, sb.Hits)

	if _, err := b.startMount(ctx, "mnt-search"); err != nil {
		return err
	}
	query := filepath.Join(b.mount.dir, ".search", b.c.Word)
	var ls shellResult
	sb.Query, err = b.measure("mailfs ls -lR .search/WORD (fresh mount)", func() (err error) {
		pctx, cancel := b.phaseCtx(ctx)
		defer cancel()
		ls, err = shell(pctx, 1<<20, "ls", "-lR", query)
		return err
	})
	if err != nil {
		return err
	}
	found := emlNames(ls.Stdout)
	b.res.check("ls -lR of the query shows every hit", ls.ExitCode == 0 && len(found) == sb.Hits,
		"exit %d, %d .eml files, want %d %s", ls.ExitCode, len(found), sb.Hits, firstLine(ls.Stderr))
	var gr shellResult
	sb.Grep, err = b.measure("mailfs cold grep -rl over every mailbox", func() (err error) {
		pctx, cancel := b.phaseCtx(ctx)
		defer cancel()
		gr, err = shell(pctx, 1<<20, "grep", "-rl", b.c.Word, b.mount.dir)
		return err
	})
	if err != nil {
		return err
	}
	var grepped []string
	for _, l := range strings.Split(strings.TrimSpace(string(gr.Stdout)), "\n") {
		if l != "" {
			grepped = append(grepped, filepath.Base(l))
		}
	}
	sort.Strings(grepped)
	b.res.check("grep -rl finds the files the query shows", gr.ExitCode == 0 && strings.Join(grepped, " ") == strings.Join(found, " "),
		"grep %v, query %v", grepped, found)
	b.res.PeakRSS = max(b.res.PeakRSS, b.stopMount("search"))
	return nil
}

// pipelinedSearch sends EXAMINE + UID SEARCH TEXT word for every mailbox
// at once, then reads the answers: the least a client can do.
func pipelinedSearch(c *imapclient.Client, boxes []string, word string) (int, error) {
	type pair struct {
		sel    *imapclient.SelectCommand
		search *imapclient.SearchCommand
	}
	criteria := &imap.SearchCriteria{Text: []string{word}}
	pairs := make([]pair, len(boxes))
	for i, mb := range boxes {
		pairs[i] = pair{c.Select(mb, &imap.SelectOptions{ReadOnly: true}), c.UIDSearch(criteria, nil)}
	}
	hits := 0
	for i, p := range pairs {
		if _, err := p.sel.Wait(); err != nil {
			return 0, fmt.Errorf("EXAMINE %s: %w", boxes[i], err)
		}
		data, err := p.search.Wait()
		if err != nil {
			return 0, fmt.Errorf("UID SEARCH in %s: %w", boxes[i], err)
		}
		hits += len(data.AllUIDs())
	}
	return hits, nil
}

// emlNames are the .eml file names in ls -lR output, sorted.
func emlNames(out []byte) []string {
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasSuffix(f[len(f)-1], ".eml") && strings.HasPrefix(line, "-") {
			names = append(names, f[len(f)-1])
		}
	}
	sort.Strings(names)
	return names
}
