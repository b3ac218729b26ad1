package history_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
	"github.com/qliksense-license/qliksense-license/plugins/common/history"
)

var now = time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)

// The one statement: the database computes the daily peak of allocated + quarantined and
// the last total, per license type; identifiers and strings are quoted.
func TestStatement(t *testing.T) {
	q := history.Query{SiteTag: "site", Site: "Prod 'EU'", Tags: map[string]string{"butler_instance": "a\\b"}, Days: 180, Now: now}
	require.Equal(t, `SELECT max("held") AS "held", last("pool") AS "pool" FROM (SELECT "allocated" + "quarantined" AS "held", "total" AS "pool" FROM "autogen"."qlik_sense_license" `+
		`WHERE ("license_type" = 'professional' OR "license_type" = 'analyzer') AND "site" = 'Prod \'EU\'' AND "butler_instance" = 'a\\b' `+
		`AND time >= '2026-06-10T00:00:00Z' AND time < '2026-12-07T00:00:00Z' GROUP BY "license_type") `+
		`WHERE time >= '2026-06-10T00:00:00Z' AND time < '2026-12-07T00:00:00Z' GROUP BY time(1d), "license_type" fill(none)`, q.Statement("autogen"))
	// Butler's points carry no site tag.
	require.NotContains(t, history.Query{Days: 30, Now: now}.Statement(""), `"site"`)
}

// One GET: the answer's series become daily peaks and the pool; credentials go as basic
// authentication or a token, never in the URL; InfluxDB's own errors are returned.
func TestRead(t *testing.T) {
	var got atomic.Pointer[http.Request]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r)
		if r.URL.Query().Get("db") == "missing" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"database not found: missing"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"results": []any{map[string]any{"statement_id": 0, "series": []any{
			map[string]any{"name": "qlik_sense_license", "tags": map[string]string{"license_type": "professional"}, "columns": []string{"time", "held", "pool"},
				"values": [][]any{{now.AddDate(0, 0, -1).Unix(), 102, 300}, {now.Unix(), 110, 320}}},
			map[string]any{"name": "qlik_sense_license", "tags": map[string]string{"license_type": "token_user"}, "columns": []string{"time", "held", "pool"},
				"values": [][]any{{now.Unix(), 1, 1}}},
		}}}})
	}))
	defer srv.Close()
	c := &history.Client{URL: srv.URL, Database: "qliksense", Username: "reader", Password: "s3cret"}
	a, err := c.Read(t.Context(), history.Query{SiteTag: "site", Site: "prod", Days: 180, Now: now})
	require.NoError(t, err)
	require.Len(t, a.Series, 1, "only seat types")
	p := a.Series["professional"]
	require.Equal(t, []forecast.Day{{Date: time.Unix(now.AddDate(0, 0, -1).Unix(), 0).UTC(), Held: 102}, {Date: time.Unix(now.Unix(), 0).UTC(), Held: 110}}, p.Days)
	require.Equal(t, 320.0, p.Pool, "the latest total")
	require.Positive(t, a.Bytes)
	r := got.Load()
	user, pass, ok := r.BasicAuth()
	require.True(t, ok)
	require.Equal(t, "reader", user)
	require.Equal(t, "s3cret", pass)
	require.Equal(t, "s", r.URL.Query().Get("epoch"))
	require.NotContains(t, r.URL.RawQuery, "s3cret")

	c = &history.Client{URL: srv.URL, Database: "qliksense", Token: "tok"}
	_, err = c.Read(t.Context(), history.Query{Days: 30, Now: now})
	require.NoError(t, err)
	require.Equal(t, "Token tok", got.Load().Header.Get("Authorization"))

	c.Database = "missing"
	_, err = c.Read(t.Context(), history.Query{Days: 30, Now: now})
	require.EqualError(t, err, "querying the history at "+srv.URL+": 404 Not Found: database not found: missing")

	_, err = (&history.Client{URL: "influx:8086"}).Read(t.Context(), history.Query{})
	require.EqualError(t, err, `history URL "influx:8086": expected http(s)://HOST:PORT, without a query string`)
}

// No secret of the URL reaches an error: a user name and password in it are refused
// (never sent as basic authentication), so is a query string (InfluxDB reads u and p
// there); what a failed request prints is masked, the query of the request included.
func TestNoSecretInErrors(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"authorization failed"}`))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, u := range []string{"http://admin:s3cret@" + host, "http://s3cret@" + host + "/", "admin:s3cret@" + host,
		srv.URL + "?u=admin&p=s3cret", srv.URL + "/#s3cret"} {
		_, err := (&history.Client{URL: u, Database: "qliksense"}).Read(t.Context(), history.Query{Days: 30, Now: now})
		require.Error(t, err, u)
		require.NotContains(t, err.Error(), "s3cret", u)
		require.Contains(t, err.Error(), "history URL", u)
	}
	require.Zero(t, requests.Load(), "a URL with a secret is refused before any request")

	// A transport failure: the error quotes the request, whose query is masked.
	srv.Close()
	c := &history.Client{URL: srv.URL, Database: "s3cret-db", Password: "s3cret"}
	_, err := c.Read(t.Context(), history.Query{SiteTag: "site", Site: "s3cret-site", Days: 30, Now: now})
	require.ErrorContains(t, err, "querying the history at "+srv.URL+": Get ")
	require.NotContains(t, err.Error(), "s3cret")
}
