package mail

import (
	"context"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"mailfs/mail/decode"
)

// The decoded views (.text, .parts) are made from a message's body as
// the cache holds it. A decoded text is cached beside the body, in the
// same byte-bounded cache (a share of --cache-size); a part is never
// kept decoded: it is streamed from the body. What is kept apart are
// sizes and part lists, small and bounded in entries.

// decodedKept bounds the text sizes and part lists remembered.
const decodedKept = 100_000

type decodedState struct {
	textSizes *lru.Cache[string, int64]
	parts     *lru.Cache[string, []decode.Part]
}

func newDecodedState() decodedState {
	sizes, _ := lru.New[string, int64](decodedKept)
	parts, _ := lru.New[string, []decode.Part](decodedKept / 10)
	return decodedState{textSizes: sizes, parts: parts}
}

// Text is the message's text as a reader sees it (decode.Text), from the
// cached body; the first call fetches the body like a read of the
// message would.
func (m *Mailbox) Text(ctx context.Context, r Ref) ([]byte, error) {
	m.textAt.Store(time.Now().UnixNano())
	key := m.bodyKey(r) + "\x00text"
	return m.acct.bodies.GetOrLoad(ctx, key, func(ctx context.Context) ([]byte, error) {
		body, _, err := m.Body(ctx, r)
		if err != nil {
			return nil, err
		}
		text := decode.Text(body)
		m.acct.decoded.textSizes.Add(key, int64(len(text)))
		return text, nil
	})
}

// textWanted reports whether the mailbox's text view was read in the
// last few seconds (read-ahead then makes texts too).
func (m *Mailbox) textWanted() bool {
	return time.Since(time.Unix(0, m.textAt.Load())) < 5*time.Second
}

// TextSize is the length of the message's text when it has been made
// before (ok false: not yet known).
func (m *Mailbox) TextSize(r Ref) (int64, bool) {
	return m.acct.decoded.textSizes.Get(m.bodyKey(r) + "\x00text")
}

// Parts lists the message's MIME parts (decode.Parts); the body is
// fetched only when the list is not remembered. Read a part with
// decode.Open on the body (Body).
func (m *Mailbox) Parts(ctx context.Context, r Ref) ([]decode.Part, error) {
	key := m.bodyKey(r)
	if p, ok := m.acct.decoded.parts.Get(key); ok {
		return p, nil
	}
	body, _, err := m.Body(ctx, r)
	if err != nil {
		return nil, err
	}
	p := decode.Parts(body)
	m.acct.decoded.parts.Add(key, p)
	return p, nil
}
