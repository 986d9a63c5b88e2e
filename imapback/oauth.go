package imapback

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
)

// OAuth2 logins. The access token comes from Config.Token at every login
// (every new connection, so every reconnect), never from a cache here:
// token helpers (oama, mutt_oauth2.py) cache and refresh it themselves.

// xoauth2Client is Google's and Microsoft's SASL XOAUTH2 (go-sasl dropped
// it): one initial response "user=U^Aauth=Bearer T^A^A". On failure the
// server sends a JSON error as a challenge, which the protocol answers
// with an empty line before the server's NO; go-imap cannot send an empty
// line ("=" is its empty response, which Dovecot refuses), so the
// exchange ends here, as go-sasl's OAUTHBEARER client ends it, and the
// connection is dropped.
type xoauth2Client struct{ user, token string }

func (c *xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	var e struct {
		Status string `json:"status"`
	}
	json.Unmarshal(challenge, &e)
	return nil, fmt.Errorf("%w: token refused (status %s)", ErrAuth, e.Status)
}

// oauthClient returns the SASL client of cfg.Auth with a fresh token.
func (cn *conn) oauthClient(ctx context.Context, cfg *Config, caps imap.CapSet) (sasl.Client, error) {
	mech := map[string]string{"xoauth2": "XOAUTH2", "oauthbearer": "OAUTHBEARER"}[cfg.Auth]
	if mech == "" {
		return nil, fmt.Errorf("%w: auth %q (want plain, xoauth2 or oauthbearer)", ErrInvalid, cfg.Auth)
	}
	if !caps.Has(imap.Cap("AUTH=" + mech)) {
		return nil, fmt.Errorf("%w: the server does not offer AUTH=%s", ErrUnsupported, mech)
	}
	if cfg.Token == nil {
		return nil, fmt.Errorf("%w: auth %s needs a token source", ErrInvalid, cfg.Auth)
	}
	token, err := cfg.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: getting an access token: %v", ErrAuth, err)
	}
	ep := cfg.Endpoint
	if mech == "XOAUTH2" {
		return &xoauth2Client{user: ep.User, token: token}, nil
	}
	port := 0
	fmt.Sscan(ep.Port, &port)
	return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: ep.User, Token: token, Host: ep.Host, Port: port}), nil
}
