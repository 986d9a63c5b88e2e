package imapback

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailfs/internal/demoserver"
	"mailfs/internal/testenv"
)

// OAuth2 logins with both mechanisms against a server that checks tokens:
// the token is asked for at every login, so when the old one expires and
// the connections drop, the reconnect logs in with a fresh one; a refused
// token is ErrAuth.
func TestOAuthLogins(t *testing.T) {
	for _, mech := range []string{"xoauth2", "oauthbearer"} {
		t.Run(mech, func(t *testing.T) {
			var mu sync.Mutex
			valid := "token-1"
			srv, err := demoserver.Start(demoserver.Options{User: "alice", Password: "pw", Seed: true,
				OAuth: func(user, token string) bool {
					mu.Lock()
					defer mu.Unlock()
					return user == "alice" && token == valid
				}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			proxy := testenv.StartProxy(t, srv.Addr)
			ep, err := ParseURL("imap+insecure://alice@" + proxy.Addr)
			if err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int32
			current := "token-1"
			token := func(ctx context.Context) (string, error) {
				calls.Add(1)
				mu.Lock()
				defer mu.Unlock()
				return current, nil
			}
			c, err := Dial(context.Background(), Config{Endpoint: ep, Auth: mech, Token: token, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatalf("dial with %s: %v", mech, err)
			}
			defer c.Close()
			if _, err := c.Mailboxes(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The token expires; the helper has a new one.
			mu.Lock()
			valid, current = "token-2", "token-2"
			mu.Unlock()
			before := calls.Load()
			proxy.DropAll()
			deadline := time.Now().Add(20 * time.Second)
			for {
				_, err := c.Messages(context.Background(), "INBOX")
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no recovery with a fresh token: %v", err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if calls.Load() == before {
				t.Error("the reconnect did not ask for a fresh token")
			}
			// A token the server refuses.
			mu.Lock()
			current = "stale"
			mu.Unlock()
			_, err = Dial(context.Background(), Config{Endpoint: ep, Auth: mech, Token: token, Timeout: 5 * time.Second})
			if !errors.Is(err, ErrAuth) {
				t.Errorf("a refused token: %v, want ErrAuth", err)
			}
		})
	}
}

func TestXOAUTH2InitialResponse(t *testing.T) {
	mech, ir, err := (&xoauth2Client{user: "bob@example.com", token: "ya29.x"}).Start()
	if err != nil || mech != "XOAUTH2" || string(ir) != "user=bob@example.com\x01auth=Bearer ya29.x\x01\x01" {
		t.Fatalf("Start = %q %q %v", mech, ir, err)
	}
}

// Against Dovecot's own oauth2 passdb, which asks an introspection
// endpoint about every token: both mechanisms log in, an expired token is
// replaced at the next login, a refused one is ErrAuth.
func TestOAuthDovecot(t *testing.T) {
	o := testenv.StartOAuthServer(t)
	d := testenv.StartDovecotWith(t, testenv.DovecotOptions{OAuthIntrospection: o.URL})
	ep, err := ParseURL("imap+insecure://" + d.User + "@" + d.Addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, mech := range []string{"xoauth2", "oauthbearer"} {
		t.Run(mech, func(t *testing.T) {
			var mu sync.Mutex
			current := "at-1-" + mech
			o.Issue(current, d.User)
			token := func(ctx context.Context) (string, error) {
				mu.Lock()
				defer mu.Unlock()
				return current, nil
			}
			c, err := Dial(context.Background(), Config{Endpoint: ep, Auth: mech, Token: token, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatalf("%s against Dovecot: %v\n%s", mech, err, d.LogTail(20))
			}
			defer c.Close()
			if _, err := c.Mailboxes(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The token expires; the helper now prints a new one.
			o.Revoke(current)
			mu.Lock()
			current = "at-2-" + mech
			mu.Unlock()
			o.Issue(current, d.User)
			c2, err := Dial(context.Background(), Config{Endpoint: ep, Auth: mech, Token: token, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatalf("login with the new token: %v", err)
			}
			c2.Close()
			o.Revoke(current)
			if _, err := Dial(context.Background(), Config{Endpoint: ep, Auth: mech, Token: token, Timeout: 10 * time.Second}); !errors.Is(err, ErrAuth) {
				t.Errorf("a revoked token: %v, want ErrAuth", err)
			}
		})
	}
	if o.Asked() == 0 {
		t.Error("Dovecot never asked the introspection endpoint")
	}
}
