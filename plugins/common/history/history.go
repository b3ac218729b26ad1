// Package history reads the license history the forecast needs from InfluxDB, in one
// InfluxQL query per site and refresh: the daily peak of seats held (allocated plus
// quarantined) and the pool of each seat type, computed by the database (GROUP BY
// time(1d)), never raw points pulled into memory. It speaks the v1 /query endpoint, which
// InfluxDB 1.8 serves, and InfluxDB 2.x and 3.x serve for compatibility; the measurement and
// fields are the plugin's, which are Butler's too, so a Butler user's history counts.
//
// No maintained Go client speaks InfluxQL to all three: influxdb-client-go is Flux only
// (which 1.8 serves only when enabled and 3.x not at all), and the 1.x client is no
// longer developed. The endpoint is one GET with a JSON answer; this is that GET.
package history

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/redact"
	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
)

// Client reads a site's history from one InfluxDB.
type Client struct {
	URL             string // http(s)://host:port
	Database        string
	RetentionPolicy string // empty: the database's default
	// Username and Password (HTTP basic authentication: InfluxDB 1.8 and, with any name
	// and the token as password, 2.x), or Token (sent as "Authorization: Token …": 2.x
	// and 3.x). Read from Telegraf secrets by the caller; never logged.
	Username, Password, Token string
	TLS                       *tls.Config
	Timeout                   time.Duration
}

// Query selects a site's history.
type Query struct {
	Measurement string            // default qlik_sense_license
	SiteTag     string            // the tag that names the site ("" for Butler's points, which have none)
	Site        string            // its value
	Tags        map[string]string // more tag filters (e.g. butler_instance)
	Days        int               // the lookback
	Now         time.Time
}

// Types are the license types whose seats are forecast, by their license_type tag.
var Types = []string{"professional", "analyzer"}

// Series is one license type's history: its daily peaks and its pool (the latest total).
type Series struct {
	Days []forecast.Day
	Pool float64
}

// Answer is what one read cost.
type Answer struct {
	Series map[string]*Series // by license_type
	Bytes  int64              // of the response body
}

// Statement is the InfluxQL of a query: the database computes the daily peak of
// allocated + quarantined and the last total, per license type.
func (q Query) Statement(rp string) string {
	m := q.Measurement
	if m == "" {
		m = "qlik_sense_license"
	}
	from := ident(m)
	if rp != "" {
		from = ident(rp) + "." + from
	}
	var types []string
	for _, t := range Types {
		types = append(types, `"license_type" = `+literal(t))
	}
	conds := []string{"(" + strings.Join(types, " OR ") + ")"}
	if q.SiteTag != "" {
		conds = append(conds, ident(q.SiteTag)+" = "+literal(q.Site))
	}
	for _, k := range slices.Sorted(maps.Keys(q.Tags)) {
		conds = append(conds, ident(k)+" = "+literal(q.Tags[k]))
	}
	now := q.Now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour) // through the end of today
	since := now.AddDate(0, 0, -q.Days)
	span := fmt.Sprintf("time >= '%s' AND time < '%s'", since.Format(time.RFC3339), now.Format(time.RFC3339))
	return fmt.Sprintf(`SELECT max("held") AS "held", last("pool") AS "pool" FROM (SELECT "allocated" + "quarantined" AS "held", "total" AS "pool" FROM %s WHERE %s AND %s GROUP BY "license_type") WHERE %s GROUP BY time(1d), "license_type" fill(none)`,
		from, strings.Join(conds, " AND "), span, span)
}

// ident quotes an InfluxQL identifier.
func ident(s string) string { return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"` }

// literal quotes an InfluxQL string.
func literal(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + `'`
}

// Read runs the one query.
func (c *Client) Read(ctx context.Context, q Query) (*Answer, error) {
	at := redact.URL(c.URL) // c.URL as printed: never a secret
	if redact.HasCredentials(c.URL) {
		return nil, fmt.Errorf("history URL %q: a user name or password in the URL would reach logs and errors: give them as Username and Password, or Token", at)
	}
	u, err := url.Parse(strings.TrimSuffix(c.URL, "/") + "/query")
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Errorf("history URL %q: expected http(s)://HOST:PORT, without a query string", at)
	}
	v := url.Values{"db": {c.Database}, "q": {q.Statement(c.RetentionPolicy)}, "epoch": {"s"}}
	if c.RetentionPolicy != "" {
		v.Set("rp", c.RetentionPolicy)
	}
	u.RawQuery = v.Encode()
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "Token "+c.Token)
	case c.Username != "" || c.Password != "":
		req.SetBasicAuth(c.Username, c.Password)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: c.TLS, Proxy: http.ProxyFromEnvironment}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("querying the history at %s: %w", at, redact.Error(err))
	}
	defer resp.Body.Close()
	counted := &countingReader{r: io.LimitReader(resp.Body, 64<<20)}
	var body struct {
		Error   string `json:"error"`
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Tags    map[string]string `json:"tags"`
				Columns []string          `json:"columns"`
				Values  [][]any           `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	derr := json.NewDecoder(counted).Decode(&body)
	switch {
	case resp.StatusCode != http.StatusOK && body.Error != "":
		return nil, fmt.Errorf("querying the history at %s: %s: %s", at, resp.Status, body.Error)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("querying the history at %s: %s", at, resp.Status)
	case derr != nil:
		return nil, fmt.Errorf("querying the history at %s: decoding the answer: %w", at, derr)
	case len(body.Results) == 0:
		return nil, fmt.Errorf("querying the history at %s: no result", at)
	case body.Results[0].Error != "":
		return nil, fmt.Errorf("querying the history at %s: %s", at, body.Results[0].Error)
	}
	a := &Answer{Series: map[string]*Series{}, Bytes: counted.n}
	for _, s := range body.Results[0].Series {
		t := s.Tags["license_type"]
		if !slices.Contains(Types, t) {
			continue
		}
		ti, hi, pi := slices.Index(s.Columns, "time"), slices.Index(s.Columns, "held"), slices.Index(s.Columns, "pool")
		if ti < 0 || hi < 0 || pi < 0 {
			return nil, fmt.Errorf("querying the history at %s: columns %v: expected time, held and pool", at, s.Columns)
		}
		out := &Series{}
		for _, row := range s.Values {
			ts, ok1 := number(row, ti)
			held, ok2 := number(row, hi)
			if !ok1 || !ok2 {
				continue
			}
			out.Days = append(out.Days, forecast.Day{Date: time.Unix(int64(ts), 0).UTC(), Held: held})
			if pool, ok := number(row, pi); ok {
				out.Pool = pool
			}
		}
		a.Series[t] = out
	}
	return a, nil
}

func number(row []any, i int) (float64, bool) {
	if i >= len(row) {
		return 0, false
	}
	switch v := row[i].(type) {
	case float64:
		return v, true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Forecasts makes the forecast of each seat type the history holds, at now, with the
// allocations the release policy would reclaim now (by license_type). The plugin's point
// and the sidecar's report both come from here.
func (a *Answer) Forecasts(p forecast.Params, reclaimable map[string]int, now time.Time) map[string]forecast.Result {
	out := map[string]forecast.Result{}
	for t, s := range a.Series {
		out[t] = forecast.Make(forecast.Input{Days: s.Days, Pool: s.Pool, Reclaimable: reclaimable[t], Now: now}, p)
	}
	return out
}
