package testenv

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// OAuthServer is an OAuth2 token introspection endpoint (RFC 7662) for
// Dovecot's oauth2 passdb: a token is active for the user it was issued
// to until it is revoked.
type OAuthServer struct {
	URL string // give to DovecotOptions.OAuthIntrospection

	mu     sync.Mutex
	tokens map[string]string // token -> user
	asked  int
	seen   map[string]bool // tokens asked about
}

// StartOAuthServer serves introspection on 127.0.0.1 until Cleanup.
func StartOAuthServer(t testing.TB) *OAuthServer {
	o := &OAuthServer{tokens: map[string]string{}, seen: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(o.introspect))
	t.Cleanup(srv.Close)
	o.URL = srv.URL + "/introspect"
	return o
}

// Issue makes token valid for user; Revoke makes it invalid (expired).
func (o *OAuthServer) Issue(token, user string) {
	o.mu.Lock()
	o.tokens[token] = user
	o.mu.Unlock()
}

func (o *OAuthServer) Revoke(token string) {
	o.mu.Lock()
	delete(o.tokens, token)
	o.mu.Unlock()
}

// Asked counts the introspection requests.
func (o *OAuthServer) Asked() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.asked
}

// Seen reports whether the server was asked about token.
func (o *OAuthServer) Seen(token string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen[token]
}

func (o *OAuthServer) introspect(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	token := r.PostForm.Get("token")
	if token == "" {
		token = r.Form.Get("token")
	}
	o.mu.Lock()
	o.asked++
	o.seen[token] = true
	user, ok := o.tokens[token]
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		json.NewEncoder(w).Encode(map[string]any{"active": false})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"active": true, "username": user})
}
