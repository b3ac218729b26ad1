package qcloud_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
)

var now = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// start serves tenant over TLS with a test CA and returns a client trusting it.
func start(t *testing.T, tenant *qcloudemu.Tenant, cfg qcloud.Config) (*qcloudemu.Server, *qcloud.Client) {
	t.Helper()
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: tenant})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(srv.CAPEM))
	cfg.Tenant = srv.URL
	cfg.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cfg.APIKey == "" && cfg.OAuthClientID == "" {
		cfg.APIKey = qcloudemu.KnownAnswerAPIKey
	}
	cfg.ReadsPerMinute, cfg.ActionsPerMinute = -1, -1
	cfg.RetryWait = time.Millisecond
	cfg.MaxRetryAfter = 5 * time.Millisecond
	c, err := qcloud.New(cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return srv, c
}

func TestNewChecksConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  qcloud.Config
		want string
	}{
		{qcloud.Config{APIKey: "k"}, "no tenant URL"},
		{qcloud.Config{Tenant: "http://t.eu.qlikcloud.com", APIKey: "k"}, "expected an https URL"},
		{qcloud.Config{Tenant: "https://t.eu.qlikcloud.com/api", APIKey: "k"}, "expected https://NAME.REGION.qlikcloud.com"},
		{qcloud.Config{Tenant: "https://user:pw@t.eu.qlikcloud.com", APIKey: "k"}, "expected https://NAME"},
		{qcloud.Config{Tenant: "https://t.eu.qlikcloud.com"}, "no credentials"},
		{qcloud.Config{Tenant: "https://t.eu.qlikcloud.com", APIKey: "k", OAuthClientID: "c", OAuthClientSecret: "s"}, "both set"},
		{qcloud.Config{Tenant: "https://t.eu.qlikcloud.com", OAuthClientID: "c"}, "no secret"},
		{qcloud.Config{Tenant: "https://t.eu.qlikcloud.com", OAuthClientSecret: "s"}, "secret without a client id"},
	} {
		_, err := qcloud.New(tc.cfg)
		require.ErrorContains(t, err, tc.want)
		require.NotContains(t, err.Error(), "pw@", "user information never printed")
	}
	c, err := qcloud.New(qcloud.Config{Tenant: "https://t.eu.qlikcloud.com/", APIKey: "k"})
	require.NoError(t, err)
	require.Equal(t, "https://t.eu.qlikcloud.com", c.Tenant())
}

func TestOverviewStatusSettings(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(now)
	tenant.AutoAssignAn = true
	_, c := start(t, tenant, qcloud.Config{})
	o, err := c.Overview(t.Context())
	require.NoError(t, err)
	pro, ok := o.Allotment(qcloud.Professional)
	require.True(t, ok)
	require.Equal(t, qcloud.Allotment{Name: "professional", UsageClass: "assigned", Units: 10, UnitsUsed: 7}, pro)
	at, ok := o.Allotment(qcloud.AnalyzerTime)
	require.True(t, ok)
	require.Equal(t, int64(100), at.Overage)
	require.Equal(t, "9999000000001234", o.LicenseNumber)
	require.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), o.ValidFrom)
	require.Equal(t, time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), o.ValidTo, "valid through 2027-12-31")
	require.NotContains(t, fmt.Sprintf("%+v", o), tenant.LicenseKey, "the license key is never kept")

	s, err := c.Status(t.Context())
	require.NoError(t, err)
	require.Equal(t, "Ok", s.Status)
	set, err := c.Settings(t.Context())
	require.NoError(t, err)
	require.Equal(t, qcloud.Settings{AutoAssignAnalyzer: true}, *set)
	require.Equal(t, int64(3), c.Requests())
}

func TestAssignmentsEveryPageAtTheLargestLimit(t *testing.T) {
	tenant := qcloudemu.Generate(qcloudemu.Spec{Seed: 1, Users: 1000, Now: now})
	srv, c := start(t, tenant, qcloud.Config{APIKey: "emulator-api-key"})
	all, err := c.AllAssignments(t.Context())
	require.NoError(t, err)
	want := tenant.Assignments()
	require.Len(t, all, len(want))
	for i, a := range all {
		require.Equal(t, want[i].Subject, a.Subject)
		require.Equal(t, want[i].Type, a.Type)
		require.True(t, want[i].Created.Equal(a.Created))
	}
	pages := (len(want) + qcloud.PageLimit - 1) / qcloud.PageLimit
	require.Equal(t, pages, srv.Log.Count("GET", "/api/v1/licenses/assignments"), "one request a page")
	require.Equal(t, int64(pages), c.Requests())
	for _, e := range srv.Log.Entries() {
		require.Contains(t, e.Query, "limit=100")
	}

	var orphans []qcloud.Assignment
	require.NoError(t, c.Assignments(t.Context(), qcloud.AssignmentQuery{Orphans: true}, func(a qcloud.Assignment) error {
		orphans = append(orphans, a)
		return nil
	}))
	require.Len(t, orphans, 5)
	require.Equal(t, `CORP\left0000`, orphans[0].Subject)
}

func TestUsersBySubjectExactAndQuoted(t *testing.T) {
	srv, c := start(t, qcloudemu.KnownAnswer(now), qcloud.Config{})
	subjects := []string{`CORP\anna`, `CORP\o"brien\x`, "CORP\\jürgen.ñ 東京", `CORP\gone`, `CORP\group-admin`}
	users, err := c.UsersBySubject(t.Context(), subjects)
	require.NoError(t, err)
	var got []string
	for _, u := range users {
		got = append(got, u.Subject)
	}
	slices.Sort(got)
	require.Equal(t, []string{`CORP\anna`, `CORP\group-admin`, "CORP\\jürgen.ñ 東京", `CORP\o"brien\x`}, got,
		"exact subjects only: CORP\\Anna, which the API's case-insensitive eq also returns, is left out")
	require.Equal(t, 1, srv.Log.Count("GET", "/api/v1/users"), "one batch")
	for _, u := range users {
		if u.Subject == `CORP\group-admin` {
			require.True(t, u.HasRole("tenantadmin"), "a role through a group counts")
			require.Equal(t, []string{"Consumer"}, u.Roles)
		}
	}

	var n int
	require.NoError(t, c.Users(t.Context(), func(qcloud.User) error { n++; return nil }))
	require.Equal(t, 14, n)
}

func TestSubjectFiltersQuoteAndBatch(t *testing.T) {
	require.Equal(t, `"CORP\\o\"brien"`, qcloud.Quote(`CORP\o"brien`))
	require.Equal(t, `"jürgen 東京"`, qcloud.Quote("jürgen 東京"))
	require.Equal(t, `"a\u0001b<&>"`, qcloud.Quote("a\x01b<&>"))
	var subjects []string
	for i := range 120 {
		subjects = append(subjects, fmt.Sprintf("s%d", i))
	}
	fs := qcloud.SubjectFilters(subjects)
	require.Len(t, fs, 3)
	require.Equal(t, `subject eq "s0" or subject eq "s1"`, qcloud.SubjectFilters(subjects[:2])[0])
}

func TestUsersInBatchesOnAGeneratedTenant(t *testing.T) {
	tenant := qcloudemu.Generate(qcloudemu.Spec{Seed: 2, Users: 300, Now: now})
	srv, c := start(t, tenant, qcloud.Config{APIKey: "emulator-api-key"})
	var subjects []string
	for _, a := range tenant.Assignments() {
		subjects = append(subjects, a.Subject)
	}
	users, err := c.UsersBySubject(t.Context(), subjects)
	require.NoError(t, err)
	require.Len(t, users, 240, "every holder but the orphan")
	require.Equal(t, (len(subjects)+qcloud.SubjectBatch-1)/qcloud.SubjectBatch, srv.Log.Count("GET", "/api/v1/users"))
}

func TestConsumptionIncremental(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(now)
	srv, c := start(t, tenant, qcloud.Config{})
	u, err := c.LastUse(t.Context(), now.AddDate(0, 0, -31))
	require.NoError(t, err)
	require.Equal(t, 6, u.Events, "the events of the last 31 days only")
	users, err := c.UsersBySubject(t.Context(), []string{`CORP\used-29.9`, `CORP\used-30.1`, `CORP\capacity-only`})
	require.NoError(t, err)
	for _, usr := range users {
		switch usr.Subject {
		case `CORP\used-29.9`:
			require.Equal(t, now.Add(-time.Duration(29.9*24*float64(time.Hour))), u.LastUse[usr.ID])
		case `CORP\used-30.1`:
			require.Equal(t, now.Add(-time.Duration(30.1*24*float64(time.Hour))), u.LastUse[usr.ID])
		case `CORP\capacity-only`:
			require.False(t, u.LastUse[usr.ID].IsZero(), "a capacity session is use")
		}
	}
	require.Equal(t, now.Add(-24*time.Hour), u.Watermark)
	require.Equal(t, float64(6), u.CapacityMinutes)

	tenant.AddEvent(qcloudemu.Event{ID: "late", UserID: users[0].ID, EndTime: now.Add(-time.Hour), LicenseUsage: "assignment"})
	srv.Log.Reset()
	u2, err := c.LastUse(t.Context(), u.Watermark)
	require.NoError(t, err)
	require.Equal(t, 3, u2.Events, "only events at or after the watermark")
	require.Equal(t, now.Add(-time.Hour), u2.Watermark)
	require.Contains(t, srv.Log.Entries()[0].Query, "filter=endTime+ge+%22")
}

func TestDeleteAddUpdateItems(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(now)
	srv, c := start(t, tenant, qcloud.Config{})
	res, err := c.DeleteAssignments(t.Context(), []qcloud.Key{
		{Type: "analyzer", Subject: `CORP\anna`},
		{Type: "professional", Subject: `CORP\anna`},
		{Type: "analyzer", Subject: `CORP\o"brien\x`},
	})
	require.NoError(t, err)
	require.Equal(t, []qcloud.Outcome{qcloud.Done, qcloud.NotFound, qcloud.Done}, outcomes(res))
	require.Equal(t, "LICENSES-016", res[1].Code)
	require.False(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: "analyzer", Subject: `CORP\anna`}))
	require.True(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: "professional", Subject: `CORP\Anna`}), "the other case untouched")
	require.Equal(t, 1, srv.Log.Count("POST", "/actions/delete"))

	tenant.Units["analyzer"] = 5 // 5 analyzer assignments now
	res, err = c.AddAssignments(t.Context(), []qcloud.Key{{Type: "analyzer", Subject: `CORP\no-seat`}, {Type: "bogus", Subject: `CORP\no-seat`}})
	require.NoError(t, err)
	require.Equal(t, []qcloud.Outcome{qcloud.NoAllotment, qcloud.Refused}, outcomes(res))

	res, err = c.UpdateAssignments(t.Context(), []qcloud.Update{{Subject: `CORP\used-30.1`, Type: "analyzer", SourceType: "professional"}})
	require.NoError(t, err)
	require.Equal(t, []qcloud.Outcome{qcloud.NoAllotment}, outcomes(res))
	tenant.Units["analyzer"] = 10
	res, err = c.UpdateAssignments(t.Context(), []qcloud.Update{{Subject: `CORP\used-30.1`, Type: "analyzer", SourceType: "professional"}})
	require.NoError(t, err)
	require.Equal(t, []qcloud.Outcome{qcloud.Done}, outcomes(res))
	require.True(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: "analyzer", Subject: `CORP\used-30.1`}))
}

func outcomes(rs []qcloud.ItemResult) []qcloud.Outcome {
	var out []qcloud.Outcome
	for _, r := range rs {
		out = append(out, r.Outcome)
	}
	return out
}

func TestDeleteInBatches(t *testing.T) {
	tenant := qcloudemu.Generate(qcloudemu.Spec{Seed: 3, Users: 300, Now: now})
	srv, c := start(t, tenant, qcloud.Config{APIKey: "emulator-api-key"})
	var keys []qcloud.Key
	for _, a := range tenant.Assignments() {
		keys = append(keys, qcloud.Key{Type: a.Type, Subject: a.Subject})
	}
	res, err := c.DeleteAssignments(t.Context(), keys)
	require.NoError(t, err)
	require.Len(t, res, len(keys))
	require.Equal(t, 3, srv.Log.Count("POST", "/actions/delete"), "241 items in calls of 100")
	require.Empty(t, tenant.Assignments())
}

func TestAmbiguousActionsAreReadBack(t *testing.T) {
	for _, kind := range []qcloudemu.FaultKind{qcloudemu.FaultGatewayTimeoutAfter, qcloudemu.FaultBadGatewayAfter, qcloudemu.FaultLoseAnswer, qcloudemu.FaultServerError, qcloudemu.FaultReset} {
		t.Run(string(kind), func(t *testing.T) {
			tenant := qcloudemu.KnownAnswer(now)
			srv, c := start(t, tenant, qcloud.Config{})
			key := qcloud.Key{Type: "analyzer", Subject: `CORP\anna`}
			srv.Faults.Inject(kind, "POST", "/actions/delete", 1)
			res, err := c.DeleteAssignments(t.Context(), []qcloud.Key{key})
			require.Empty(t, res)
			var ae *qcloud.AmbiguousError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, []qcloud.Key{key}, ae.Keys)
			require.Equal(t, 1, srv.Log.Count("POST", "/actions/delete"), "an action is never repeated blindly")
			back, err := c.AssignmentsOf(t.Context(), []qcloud.Key{key})
			require.NoError(t, err)
			effect := kind != qcloudemu.FaultServerError && kind != qcloudemu.FaultReset
			require.Equal(t, !effect, len(back) == 1, "the read-back tells what happened")
		})
	}
}

func TestLateEffect(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(now)
	srv, c := start(t, tenant, qcloud.Config{})
	key := qcloud.Key{Type: "analyzer", Subject: `CORP\anna`}
	srv.Faults.Inject(qcloudemu.FaultLateEffect, "POST", "", 1)
	_, err := c.DeleteAssignments(t.Context(), []qcloud.Key{key})
	require.True(t, qcloud.IsAmbiguous(err))
	back, err := c.AssignmentsOf(t.Context(), []qcloud.Key{key})
	require.NoError(t, err)
	require.Len(t, back, 1, "right after the 504 the assignment is still there: it proves nothing")
	back, err = c.AssignmentsOf(t.Context(), []qcloud.Key{key})
	require.NoError(t, err)
	require.Empty(t, back, "a later read sees the effect")
}

func TestReadsRetryAndThrottle(t *testing.T) {
	srv, c := start(t, qcloudemu.KnownAnswer(now), qcloud.Config{})
	srv.Faults.Inject(qcloudemu.FaultServerError, "GET", "overview", 1)
	srv.Faults.Inject(qcloudemu.FaultReset, "GET", "overview", 1)
	srv.Faults.Inject(qcloudemu.FaultTooMany, "GET", "overview", 1)
	_, err := c.Overview(t.Context())
	require.NoError(t, err)
	st := c.Stats()
	require.Equal(t, 4, srv.Log.Count("GET", "overview"))
	// Go's transport itself repeats a GET once when a reused connection is closed unanswered.
	require.GreaterOrEqual(t, st.Requests, int64(3))
	require.Equal(t, int64(1), st.Throttled)

	srv.Faults.Inject(qcloudemu.FaultServerError, "GET", "overview", 10)
	_, err = c.Overview(t.Context())
	require.ErrorContains(t, err, "reading the license overview (GET /api/v1/licenses/overview): 500")
	srv.Faults.Clear()

	srv.SetLimits(qcloudemu.RateLimits{Tier1PerMinute: 1})
	_, err = c.Status(t.Context())
	require.NoError(t, err)
	_, err = c.Status(t.Context())
	require.Equal(t, http.StatusTooManyRequests, qcloud.StatusCode(err), "the tenant's clock stands still: the limit never clears")
}

func TestOAuthTokenCachedAndRenewed(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(now)
	tenant.AddOAuthClient("client-1", "s3cret-value")
	var mu sync.Mutex
	clock := now
	tenant.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
	srv, c := start(t, tenant, qcloud.Config{OAuthClientID: "client-1", OAuthClientSecret: "s3cret-value"})
	for range 3 {
		_, err := c.Status(t.Context())
		require.NoError(t, err)
	}
	require.Equal(t, 1, srv.Log.Count("POST", "/oauth/token"), "the token is cached")
	mu.Lock()
	clock = clock.Add(7 * time.Hour) // the tenant's token expired; the client's clock does not know
	mu.Unlock()
	_, err := c.Status(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, srv.Log.Count("POST", "/oauth/token"), "renewed once after the 401")

	require.Equal(t, 1, countStatus(srv, 401), "the expired token was refused once")

	// Renewed before it expires, by the client's own clock: no 401 on the way.
	var cmu sync.Mutex
	cclock := now
	srv2, c2 := start(t, tenant, qcloud.Config{OAuthClientID: "client-1", OAuthClientSecret: "s3cret-value",
		Now: func() time.Time { cmu.Lock(); defer cmu.Unlock(); return cclock }})
	_, err = c2.Status(t.Context())
	require.NoError(t, err)
	cmu.Lock()
	cclock = cclock.Add(6*time.Hour - 30*time.Second)
	cmu.Unlock()
	_, err = c2.Status(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, srv2.Log.Count("POST", "/oauth/token"), "renewed within the last minute of its life")
	require.Zero(t, countStatus(srv2, 401))

	_, bad := start(t, tenant, qcloud.Config{OAuthClientID: "client-1", OAuthClientSecret: "wrong-secret"})
	_, err = bad.Status(t.Context())
	require.ErrorContains(t, err, "401")
	require.ErrorContains(t, err, "oauth_client_secret")
	require.NotContains(t, err.Error(), "wrong-secret")
}

func countStatus(srv *qcloudemu.Server, status int) int {
	n := 0
	for _, e := range srv.Log.Entries() {
		if e.Status == status {
			n++
		}
	}
	return n
}

func TestSecretsNeverInErrors(t *testing.T) {
	_, c := start(t, qcloudemu.KnownAnswer(now), qcloud.Config{APIKey: "not-the-key-123"})
	_, err := c.Overview(t.Context())
	require.Equal(t, http.StatusUnauthorized, qcloud.StatusCode(err))
	require.NotContains(t, err.Error(), "not-the-key-123")
}

// The cursor is taken from links.next.href; its host (here a foreign one, as in the
// reference's own example) is never contacted.
func TestNextHrefOfAnotherHostIsNotFollowed(t *testing.T) {
	var mu sync.Mutex
	var pages []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pages = append(pages, r.URL.Query().Get("page"))
		mu.Unlock()
		if r.URL.Query().Get("page") == "" {
			_, _ = fmt.Fprint(w, `{"data":[{"type":"analyzer","subject":"a","created":"2026-01-01T00:00:00.000Z"}],"links":{"next":{"href":"http://license/v1/licenses/assignments?limit=100&page=CUR2"}}}`)
			return
		}
		_, _ = fmt.Fprint(w, `{"data":[{"type":"analyzer","subject":"b","created":"2026-01-01T00:00:00Z"}],"links":{}}`)
	}))
	defer ts.Close()
	c, err := qcloud.New(qcloud.Config{Tenant: ts.URL, APIKey: "k", ReadsPerMinute: -1})
	require.NoError(t, err)
	all, err := c.AllAssignments(t.Context())
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, []string{"", "CUR2"}, pages)
}

func TestUndecodableAnswerNamesTheCall(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprint(w, `<html>`)
	}))
	defer ts.Close()
	c, err := qcloud.New(qcloud.Config{Tenant: ts.URL, APIKey: "k", ReadsPerMinute: -1})
	require.NoError(t, err)
	_, err = c.Overview(t.Context())
	require.ErrorContains(t, err, "reading the license overview")
	_, err = c.DeleteAssignments(t.Context(), []qcloud.Key{{Type: "analyzer", Subject: "x"}})
	require.True(t, qcloud.IsAmbiguous(err), "a 200 instead of the 207 says nothing per item")
	require.False(t, errors.Is(err, http.ErrAbortHandler))
}

// A whole call refused with 403 is definitive (nothing changed) and names the missing
// permission.
func TestForbiddenActionIsDefinitive(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(now)
	tenant.AddAPIKey("read-only")
	tenant.Deny("read-only", "/api/v1/licenses/assignments/actions/")
	_, c := start(t, tenant, qcloud.Config{APIKey: "read-only"})
	_, err := c.DeleteAssignments(t.Context(), []qcloud.Key{{Type: "analyzer", Subject: `CORP\anna`}})
	require.False(t, qcloud.IsAmbiguous(err))
	require.Equal(t, http.StatusForbidden, qcloud.StatusCode(err))
	require.ErrorContains(t, err, "deleting license assignments (POST /api/v1/licenses/assignments/actions/delete, 1 item(s)): 403 Forbidden")
	require.ErrorContains(t, err, "lacks the permission")
	require.True(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: "analyzer", Subject: `CORP\anna`}))
}
