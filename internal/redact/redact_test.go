package redact_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/redact"
)

// Every place a secret can sit in a URL is masked, also in text that does not parse;
// the rest stays readable.
func TestURL(t *testing.T) {
	for _, c := range []struct {
		raw, want string
		creds     bool
	}{
		{"https://qlik.example.com:4242", "https://qlik.example.com:4242", false},
		{"http://admin:pw@influx:8086", "http://xxxxx@influx:8086", true},
		{"http://pwtoken@influx:8086/", "http://xxxxx@influx:8086/", true},
		{"http://a:p@pw@influx:8086", "http://xxxxx@influx:8086", true},
		{"http://admin:p/pw@influx:8086", "http://xxxxx@influx:8086", true}, // not escaped: still hidden
		{"http://admin:p?pw@influx:8086/q", "http://xxxxx@influx:8086/q", true},
		{"http://admin:p#pw@influx:8086", "http://xxxxx@influx:8086", true},
		{"http://influx:8086/x@y", "http://xxxxx@y", true}, // too much rather than too little
		{"mailer:pw@smtp.example.com", "xxxxx@smtp.example.com", true},
		{"admin:pw@influx:8086", "xxxxx@influx:8086", true},
		{"admin:pw://x@influx:8086", "xxxxx@influx:8086", true}, // no scheme: "admin:pw" is not one
		{"a/b://pw@influx:8086", "xxxxx@influx:8086", true},
		{"git+ssh://u:pw@h", "git+ssh://xxxxx@h", true},
		{"http://influx:8086/query?u=admin&p=pw&db=x", "http://influx:8086/query?u=xxxxx&p=xxxxx&db=xxxxx", false},
		{"http://influx:8086?pw", "http://influx:8086?xxxxx", false},
		{"https://h/#access_token=pw", "https://h/#xxxxx", false},
		{"http://adm%zz:pw@influx:8086", "http://xxxxx@influx:8086", true}, // does not parse
		{"ftp://u:pw@h", "ftp://xxxxx@h", true},
		{"smtp.example.com", "smtp.example.com", false},
		{"https://qlik:4242/qrs/user?xrfkey=abc&filter=x", "https://qlik:4242/qrs/user?xrfkey=xxxxx&filter=xxxxx", false},
	} {
		require.Equal(t, c.want, redact.URL(c.raw), c.raw)
		require.Equal(t, c.creds, redact.HasCredentials(c.raw), c.raw)
		require.NotContains(t, redact.URL(c.raw), "pw", c.raw)
	}
}

// The error of an HTTP client quotes the request's URL: net/http masks the password but
// not the user name nor the query; Error masks them all and keeps the chain.
func TestError(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://tokenuser:pw@127.0.0.1:1/query?db=x&p=s3cret", nil)
	require.NoError(t, err)
	_, err = http.DefaultClient.Do(req)
	require.Error(t, err)
	require.Contains(t, err.Error(), "s3cret", "net/http leaves the query in its error")
	require.Contains(t, err.Error(), "tokenuser")

	wrapped := redact.Error(errors.Join(errors.New("querying"), err))
	require.NotContains(t, wrapped.Error(), "s3cret")
	require.NotContains(t, wrapped.Error(), "tokenuser")
	require.Contains(t, wrapped.Error(), `"http://xxxxx@127.0.0.1:1/query?db=xxxxx&p=xxxxx"`)
	require.ErrorIs(t, wrapped, context.Canceled)

	plain := errors.New("no URL here")
	require.Equal(t, plain, redact.Error(plain))
}
