package emulator_test

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

func TestXrfkeyRule(t *testing.T) {
	srv := start(t, emulator.Generate(emulator.SiteSpec{Seed: 1, Users: 10, Now: testkit.Now}))
	c := rawClient(t, srv)
	do := func(query string, header string) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/qrs/about"+query, nil)
		require.NoError(t, err)
		if header != "" {
			req.Header.Set("x-qlik-xrfkey", header)
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
	}
	const xsrf = "XSRF prevention check failed. Possible XSRF discovered."
	for _, tc := range []struct {
		query, header string
		status        int
	}{
		{"?xrfkey=abcdefghij123456", "abcdefghij123456", 200},
		{"?Xrfkey=abcdefghij123456", "abcdefghij123456", 200}, // parameter name is case-insensitive
		{"?XRFKEY=0123456789abcdef", "0123456789abcdef", 200},
		{"", "abcdefghij123456", 403},                         // query parameter lost (e.g. cut by an unescaped #)
		{"?xrfkey=abcdefghij123456", "", 403},                 // header missing
		{"?xrfkey=abcdefghij123456", "ABCDEFGHIJ123456", 403}, // values differ in case
		{"?xrfkey=abcdefghij123456", "bbcdefghij123456", 403}, // values differ
		// An unescaped # ends the query string: QRS never sees the key (butler-sheet-icons' finding).
		{"?filter=name%20eq%20'a#'&xrfkey=abcdefghij123456", "abcdefghij123456", 403},
	} {
		status, body := do(tc.query, tc.header)
		require.Equal(t, tc.status, status, "%s / %s", tc.query, tc.header)
		if status == 403 {
			require.Equal(t, xsrf, body)
		}
	}
}

func TestMissingParameterValue(t *testing.T) {
	srv := start(t, emulator.Generate(emulator.SiteSpec{Seed: 1, Users: 10, Now: testkit.Now}))
	c := rawClient(t, srv)
	// An unencoded & splits the filter: QRS sees a parameter without a value.
	status, body := get(t, c, srv.URL+"/qrs/user/full?filter=name%20eq%20'a&b'")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "Missing parameter value(s)", body)
}

func TestQlikUserHeader(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 1, Users: 10, Now: testkit.Now})
	srv := start(t, site)
	c := rawClient(t, srv)
	for header, want := range map[string]string{
		"UserDirectory=INTERNAL; UserId=sa_repository":    `INTERNAL\sa_repository`,
		"UserDirectory= Internal; UserId= sa_repository ": `Internal\sa_repository`,
		"userdirectory=internal;userid=sa_api":            `internal\sa_api`,
		"UserDirectory=CORP; UserId=%C3%A5sa.lindqvist":   `CORP\åsa.lindqvist`,
		"": `INTERNAL\sa_repository`,
	} {
		srv.Log.Reset()
		h := []string{}
		if header != "" {
			h = []string{"X-Qlik-User", header}
		}
		status, _ := get(t, c, srv.URL+"/qrs/about", h...)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, want, srv.Log.Entries()[0].User, header)
	}

	strict := emulator.Generate(emulator.SiteSpec{Seed: 1, Users: 10, Now: testkit.Now, Behaviour: emulator.Behaviour{StrictUser: true}})
	srv = start(t, strict)
	c = rawClient(t, srv)
	status, body := get(t, c, srv.URL+"/qrs/about")
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, "Forbidden", body)
}

func TestPathsAreCaseInsensitive(t *testing.T) {
	srv := start(t, emulator.Generate(emulator.SiteSpec{Seed: 1, Users: 10, Now: testkit.Now}))
	c := rawClient(t, srv)
	for _, p := range []string{"/QRS/About", "/qrs/License/AccessTypeOverview", "/qrs/license/professionalAccessType/full", "/qrs/User/Count"} {
		status, _ := get(t, c, srv.URL+p)
		require.Equal(t, http.StatusOK, status, p)
	}
	status, _ := get(t, c, srv.URL+"/qrs/license/professionalaccesstype/not-a-guid")
	require.Equal(t, http.StatusBadRequest, status)
	status, _ = get(t, c, srv.URL+"/qrs/nothing")
	require.Equal(t, http.StatusNotFound, status)
	status, _ = send(t, c, http.MethodDelete, srv.URL+"/qrs/user/"+"9e403391-58a7-4442-ada7-c54dc8906016")
	require.Equal(t, http.StatusNotFound, status)
}

type overview struct {
	ProfessionalAccess struct{ Total, Allocated, Used, Quarantined, Excess, Available int } `json:"professionalAccess"`
}

// DELETE quarantines an allocation used within seven days and removes any other; the
// overview follows; quarantine ends with the clock.
func TestReleaseAndQuarantine(t *testing.T) {
	now := testkit.Now
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	site := emulator.NewSite(func() time.Time { return *clock.Load() }, emulator.Behaviour{})
	site.ProfessionalTotal = 10
	u := site.AddUser(emulator.User{ID: "9e403391-58a7-4442-ada7-c54dc8906016", UserID: "anna", UserDirectory: "CORP"})
	recent := emulator.Allocation{ID: "aaaaaaaa-0000-4000-8000-000000000001", Kind: emulator.KindProfessional, UserRef: u.ID,
		Created: now.Add(-100 * 24 * time.Hour), LastUsed: now.Add(-6*24*time.Hour - 23*time.Hour)}
	old := emulator.Allocation{ID: "aaaaaaaa-0000-4000-8000-000000000002", Kind: emulator.KindProfessional, UserRef: u.ID,
		Created: now.Add(-100 * 24 * time.Hour), LastUsed: now.Add(-7 * 24 * time.Hour)}
	never := emulator.Allocation{ID: "aaaaaaaa-0000-4000-8000-000000000003", Kind: emulator.KindProfessional, UserRef: u.ID,
		Created: now.Add(-time.Hour)}
	for _, a := range []emulator.Allocation{recent, old, never} {
		site.AddAllocation(a)
	}
	srv := start(t, site)
	c := rawClient(t, srv)
	readOverview := func() overview {
		status, body := get(t, c, srv.URL+"/qrs/license/accesstypeoverview")
		require.Equal(t, http.StatusOK, status)
		var o overview
		require.NoError(t, json.Unmarshal([]byte(body), &o))
		return o
	}
	require.Equal(t, 3, readOverview().ProfessionalAccess.Allocated)
	require.Equal(t, 7, readOverview().ProfessionalAccess.Available)

	base := srv.URL + "/qrs/license/professionalaccesstype/"
	status, body := send(t, c, http.MethodDelete, base+recent.ID)
	require.Equal(t, http.StatusNoContent, status)
	require.Empty(t, body)
	a, ok := site.Allocation(emulator.KindProfessional, recent.ID)
	require.True(t, ok, "used within 7 days: quarantined, still listed")
	require.True(t, a.Quarantined)
	require.Equal(t, recent.LastUsed.Add(7*24*time.Hour), a.QuarantineEnd)

	status, _ = send(t, c, http.MethodDelete, base+old.ID)
	require.Equal(t, http.StatusNoContent, status)
	_, ok = site.Allocation(emulator.KindProfessional, old.ID)
	require.False(t, ok, "used exactly 7 days ago: removed")
	status, _ = send(t, c, http.MethodDelete, base+never.ID)
	require.Equal(t, http.StatusNoContent, status)
	_, ok = site.Allocation(emulator.KindProfessional, never.ID)
	require.False(t, ok, "never used: removed")

	o := readOverview().ProfessionalAccess
	require.Equal(t, 0, o.Allocated)
	require.Equal(t, 1, o.Quarantined)
	require.Equal(t, 9, o.Available)

	status, _ = send(t, c, http.MethodDelete, base+recent.ID)
	require.Equal(t, http.StatusNoContent, status, "a quarantined allocation: 204, no change")
	status, _ = send(t, c, http.MethodDelete, base+old.ID)
	require.Equal(t, http.StatusNotFound, status)

	later := now.Add(25 * time.Hour)
	clock.Store(&later)
	_, ok = site.Allocation(emulator.KindProfessional, recent.ID)
	require.False(t, ok, "quarantine over: the row is gone")
	require.Equal(t, 10, readOverview().ProfessionalAccess.Available)
}

func TestTouchUpdatesLastUsed(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 2, Users: 30, Now: testkit.Now})
	a := site.Allocations(emulator.KindAnalyzer)[0]
	require.NoError(t, site.Touch(emulator.KindAnalyzer, a.ID, testkit.Now))
	b, _ := site.Allocation(emulator.KindAnalyzer, a.ID)
	require.Equal(t, testkit.Now, b.LastUsed)
	require.Equal(t, testkit.Now, b.Modified)
	require.Error(t, site.Touch(emulator.KindProfessional, a.ID, testkit.Now), "wrong kind")
}

func TestGeneratorIsDeterministicAndRealistic(t *testing.T) {
	spec := emulator.SiteSpec{Seed: 42, Users: 5000, CapacityMinutes: 6000, Now: testkit.Now}
	a, b := emulator.Generate(spec), emulator.Generate(spec)
	require.Equal(t, a.UserIDs(), b.UserIDs())
	require.Equal(t, a.Allocations(emulator.KindProfessional), b.Allocations(emulator.KindProfessional))
	require.NotEqual(t, a.UserIDs(), emulator.Generate(emulator.SiteSpec{Seed: 43, Users: 5000, Now: testkit.Now}).UserIDs())

	var never, week, year, older, quarantined, excess, deleted int
	for _, k := range []emulator.Kind{emulator.KindProfessional, emulator.KindAnalyzer} {
		for _, al := range a.Allocations(k) {
			age := testkit.Now.Sub(al.LastUsed)
			switch {
			case al.LastUsed.IsZero():
				never++
			case age < 7*24*time.Hour:
				week++
			case age < 365*24*time.Hour:
				year++
			default:
				older++
			}
			if al.Quarantined {
				quarantined++
			}
			if al.Excess {
				excess++
			}
			if al.UserRef == "" {
				deleted++
			}
		}
	}
	for name, n := range map[string]int{"never": never, "week": week, "year": year, "older": older, "quarantined": quarantined, "excess": excess, "deleted": deleted} {
		require.Positive(t, n, name)
	}
	dirs := map[string]bool{}
	var inactive, blocked, removed, tagged, cp int
	for _, id := range a.UserIDs() {
		u, _ := a.User(id)
		dirs[u.UserDirectory] = true
		if u.Inactive {
			inactive++
		}
		if u.Blacklisted {
			blocked++
		}
		if u.RemovedExternally {
			removed++
		}
		if len(u.Tags) > 0 {
			tagged++
		}
		if len(u.CustomProperties) > 0 {
			cp++
		}
	}
	require.True(t, dirs["CORP"] && dirs["corp"] && dirs["INTERNAL"], "directories with case variants")
	for name, n := range map[string]int{"inactive": inactive, "blocked": blocked, "removed": removed, "tagged": tagged, "custom property": cp} {
		require.Positive(t, n, name)
	}
}

func TestGenerate100kSite(t *testing.T) {
	if testing.Short() {
		t.Skip("large site")
	}
	site := emulator.Generate(emulator.SiteSpec{Seed: 7, Users: 100_000, Professional: 50_000, Analyzer: 50_000, Now: testkit.Now})
	require.Len(t, site.UserIDs(), 100_000)
	require.Len(t, site.Allocations(emulator.KindProfessional), 50_000)
	require.Len(t, site.Allocations(emulator.KindAnalyzer), 50_000)
}

func BenchmarkGenerate100k(b *testing.B) {
	for b.Loop() {
		emulator.Generate(emulator.SiteSpec{Seed: 7, Users: 100_000, Professional: 50_000, Analyzer: 50_000, Now: testkit.Now})
	}
}

// Latency and slow bodies delay an answer by at least what was asked (lower bounds only:
// the machine may be slower, never faster).
func TestLatencyAndSlowBody(t *testing.T) {
	srv := start(t, emulator.Generate(emulator.SiteSpec{Seed: 1, Users: 100, Now: testkit.Now}))
	c := rawClient(t, srv)
	srv.Faults.Configure(emulator.FaultConfig{Latency: 30 * time.Millisecond, SlowBody: 10 * time.Millisecond, PathContains: "/user/full"})
	began := time.Now()
	status, body := get(t, c, srv.URL+"/qrs/user/full")
	require.Equal(t, http.StatusOK, status)
	chunks := len(body) / 4096
	require.GreaterOrEqual(t, chunks, 3)
	require.GreaterOrEqual(t, time.Since(began), 30*time.Millisecond+time.Duration(chunks)*10*time.Millisecond)
	var users []json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(body), &users), "a slow body is still whole")
	require.Len(t, users, 100)
}

// A keep-alive connection left idle longer than IdleTimeout is closed by the server, as
// http.sys does in front of QRS: the client's next request opens a new one, which resumes
// the TLS session.
func TestIdleConnectionsAreClosed(t *testing.T) {
	srv := testkit.StartEmulator(t, emulator.Generate(emulator.SiteSpec{Seed: 1, Users: 3, Now: testkit.Now}),
		func(o *emulator.Options) { o.IdleTimeout = 200 * time.Millisecond })
	c := rawClient(t, srv)
	c.Transport.(*http.Transport).TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(0)
	var reused, resumed []bool
	for _, wait := range []time.Duration{0, 0, time.Second} {
		time.Sleep(wait)
		ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }})
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/qrs/about?xrfkey="+key, nil)
		require.NoError(t, err)
		req.Header.Set("X-Qlik-Xrfkey", key)
		resp, err := c.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		resumed = append(resumed, resp.TLS.DidResume)
	}
	require.Equal(t, []bool{false, true, false}, reused)
	require.Equal(t, []bool{false, false, true}, resumed, "the new connection resumes the TLS session")
}

// A filter of ids only is answered from the index: the same rows a scan finds (of the
// collection's own kind, unknown ids left out), in id order.
func TestIDFilterUsesTheIndex(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 14, Users: 200, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	pro, ana := site.Allocations(emulator.KindProfessional), site.Allocations(emulator.KindAnalyzer)
	ids := []string{strings.ToUpper(pro[3].ID), pro[0].ID, ana[0].ID, "00000000-0000-4000-8000-000000000000"}
	var terms []string
	for _, id := range ids {
		terms = append(terms, "id eq "+id)
	}
	body := testkit.QRSGet(t, srv, "/license/professionalaccesstype/full?filter="+url.QueryEscape(strings.Join(terms, " or ")))
	var rows []struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &rows))
	want := []string{strings.ToLower(pro[0].ID), strings.ToLower(pro[3].ID)}
	slices.Sort(want)
	var got []string
	for _, r := range rows {
		got = append(got, strings.ToLower(r.ID))
	}
	require.Equal(t, want, got)
	count := testkit.QRSGet(t, srv, "/license/professionalaccesstype/count?filter="+url.QueryEscape(strings.Join(terms, " or ")))
	require.JSONEq(t, `{"value":2}`, string(count))
}
