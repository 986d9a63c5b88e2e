package demoserver

import (
	"bytes"
	"errors"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"
)

// OAuth2 logins for tests: with Options.OAuth set, the server offers
// AUTH=XOAUTH2 and AUTH=OAUTHBEARER besides PLAIN, and asks OAuth whether
// a token is good for the user.

var _ imapserver.SessionSASL = (*session)(nil)

func (s *session) AuthenticateMechanisms() []string {
	if s.srv.oauth == nil {
		return []string{sasl.Plain}
	}
	return []string{sasl.Plain, "XOAUTH2", sasl.OAuthBearer}
}

func (s *session) Authenticate(mech string) (sasl.Server, error) {
	switch {
	case mech == sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthorizationFailed, Text: "SASL identity not supported"}
			}
			return s.Login(username, password)
		}), nil
	case s.srv.oauth != nil && mech == sasl.OAuthBearer:
		return sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
			if !s.srv.oauth(o.Username, o.Token) {
				return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
			}
			if err := s.Login(o.Username, s.srv.Password); err != nil {
				return &sasl.OAuthBearerError{Status: "invalid_request"}
			}
			return nil
		}), nil
	case s.srv.oauth != nil && mech == "XOAUTH2":
		return &xoauth2Server{s: s}, nil
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
}

// xoauth2Server checks "user=U^Aauth=Bearer T^A^A"; a bad token gets the
// JSON challenge real servers send, then NO.
type xoauth2Server struct {
	s      *session
	failed bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "Invalid credentials (token rejected)"}
	}
	if resp == nil {
		return []byte{}, false, nil // no initial response: ask for it
	}
	var user, token string
	for _, field := range bytes.Split(resp, []byte{1}) {
		switch {
		case bytes.HasPrefix(field, []byte("user=")):
			user = string(field[len("user="):])
		case bytes.HasPrefix(field, []byte("auth=Bearer ")):
			token = string(field[len("auth=Bearer "):])
		}
	}
	if user == "" || token == "" {
		return nil, true, errors.New("malformed XOAUTH2 response")
	}
	if !x.s.srv.oauth(user, token) {
		x.failed = true
		return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	if err := x.s.Login(user, x.s.srv.Password); err != nil {
		return nil, true, err
	}
	return nil, true, nil
}
