package qcloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A Retry-After too large for a time.Duration waits the cap, not a wrapped (negative)
// duration that would retry at once.
func TestRetryAfterHugeIsCapped(t *testing.T) {
	c := &Client{cfg: Config{MaxRetryAfter: time.Minute}}
	for _, v := range []string{"9223372036854775807", "99999999999999", "9223372036"} {
		require.Equal(t, time.Minute, c.retryAfter(v), v)
	}
}

// A 207 with one item per key whose subjects agree by position but whose types do not
// is matched by type and subject: the professional seat's 404 is not taken for the
// analyzer seat's 200.
func TestMatchItemsByPositionChecksTheType(t *testing.T) {
	keys := []Key{{Type: Professional, Subject: "A"}, {Type: Analyzer, Subject: "A"}}
	data := []wireItemStatus{
		{Status: 200, Subject: "A", Type: Analyzer},
		{Status: 404, Code: "LICENSES-016", Subject: "A", Type: Professional},
	}
	res, err := matchItems("deleting", keys, data)
	require.NoError(t, err)
	require.Len(t, res, 2)
	got := map[Key]Outcome{}
	for _, r := range res {
		got[r.Key] = r.Outcome
	}
	require.Equal(t, map[Key]Outcome{keys[0]: NotFound, keys[1]: Done}, got)
}

// A tenant URL the configuration got wrong never echoes a query or fragment (where a key
// may have been pasted) into the error.
func TestParseTenantErrorHidesQuery(t *testing.T) {
	for _, s := range []string{
		"https://t.eu.qlikcloud.com/?api_key=SECRET123",
		"https://t.eu.qlikcloud.com/api?token=SECRET123",
		"https://t.eu.qlikcloud.com/#SECRET123",
		"http://t.eu.qlikcloud.com/?k=SECRET123",
		"https://user:SECRET123@t.eu.qlikcloud.com",
	} {
		_, err := ParseTenant(s)
		require.Error(t, err, s)
		require.NotContains(t, err.Error(), "SECRET123", s)
	}
}

// A reservation given up (its context ended) frees its token: the next caller does not
// wait for requests that were never sent.
func TestPacerCancelledWaitGivesBack(t *testing.T) {
	p := newPacer(60)
	for range 10 {
		require.NoError(t, p.wait(context.Background()))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 100 {
		require.ErrorIs(t, p.wait(ctx), context.Canceled)
	}
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		require.ErrorIs(t, p.wait(ctx), context.DeadlineExceeded, "ended while waiting")
		cancel()
	}
	p.mu.Lock()
	debt := -p.tokens
	p.mu.Unlock()
	require.Less(t, debt, 2.0, "120 abandoned waits hold no tokens")
}

var _ = errors.New
var _ = http.StatusOK
var _ = strings.Contains

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func answer(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body))}
}

// Two reads share a token the tenant revokes. The first gets its 401, renews and succeeds;
// the second's 401 (for the old token) arrives after that: it must not throw the fresh
// token away and fetch a third.
func TestOAuthLate401KeepsTheFreshToken(t *testing.T) {
	var mu sync.Mutex
	issued := 0
	first401 := false
	freshUsed, secondSent := make(chan struct{}), make(chan struct{})
	var freshOnce sync.Once
	rt := rtFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/oauth/token" {
			mu.Lock()
			issued++
			tok := fmt.Sprintf("t%d", issued)
			mu.Unlock()
			return answer(200, `{"access_token":"`+tok+`","token_type":"bearer","expires_in":3600}`), nil
		}
		switch r.Header.Get("Authorization") {
		case "Bearer t1":
			mu.Lock()
			late := first401
			first401 = true
			mu.Unlock()
			if late {
				close(secondSent)
				<-freshUsed // the other read has renewed and succeeded meanwhile
			} else {
				<-secondSent // both reads went out with t1
			}
			return answer(401, `{"errors":[{"code":"HTTP-401","title":"Unauthorized"}]}`), nil
		default:
			freshOnce.Do(func() { close(freshUsed) })
			return answer(200, `{"type":"Signed","status":"Ok"}`), nil
		}
	})
	c, err := New(Config{Tenant: "https://t.eu.qlikcloud.com", OAuthClientID: "id", OAuthClientSecret: "secret",
		Transport: rt, ReadsPerMinute: -1})
	require.NoError(t, err)
	_, err = c.auth.token(context.Background()) // both reads start with t1
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = c.Status(context.Background()) }()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.Equal(t, 2, issued, "one renewal for one revoked token")
}

// A read waiting for another's token request gives up when its own context ends, and a
// 429 of the token endpoint is waited out even when its Retry-After exceeds one request's
// timeout.
func TestOAuthTokenWaitsHonourContextAndRetryAfter(t *testing.T) {
	hang := make(chan struct{})
	rt := rtFunc(func(r *http.Request) (*http.Response, error) {
		select {
		case <-hang:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
		return answer(200, `{"access_token":"t1","expires_in":3600}`), nil
	})
	c, err := New(Config{Tenant: "https://t.eu.qlikcloud.com", OAuthClientID: "id", OAuthClientSecret: "secret",
		Transport: rt, ReadsPerMinute: -1, Timeout: time.Hour})
	require.NoError(t, err)
	go func() { _, _ = c.auth.token(context.Background()) }() // hangs in the token request
	for c.Requests() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = c.auth.token(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the second caller is not held by the first's request")
	close(hang)

	calls := 0
	rt2 := rtFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		if calls == 1 {
			a := answer(429, `{}`)
			a.Header.Set("Retry-After", "1")
			return a, nil
		}
		return answer(200, `{"access_token":"t1","expires_in":3600}`), nil
	})
	c2, err := New(Config{Tenant: "https://t.eu.qlikcloud.com", OAuthClientID: "id", OAuthClientSecret: "secret",
		Transport: rt2, Timeout: 100 * time.Millisecond})
	require.NoError(t, err)
	tok, err := c2.auth.token(context.Background())
	require.NoError(t, err, "the 429's one second is waited out though a request may take 100ms")
	require.Equal(t, "t1", tok)
}

// A 429 is the tenant's own refusal before it does anything (its rate limiter): an action
// answered 429 is neither waited out nor sent again by the client (retries or not); it is
// a definitive refusal at once (nothing changed), not an outcome in doubt that no
// read-back can settle, and carries the Retry-After for the caller.
func TestActionThrottledIsDefinitiveAtOnce(t *testing.T) {
	sent := 0
	rt := rtFunc(func(r *http.Request) (*http.Response, error) {
		sent++
		a := answer(429, `{"errors":[{"code":"HTTP-429","title":"Too Many Requests"}]}`)
		a.Header.Set("Retry-After", "7")
		return a, nil
	})
	c, err := New(Config{Tenant: "https://t.eu.qlikcloud.com", APIKey: "k", Transport: rt, Retries: 2, ActionsPerMinute: -1})
	require.NoError(t, err)
	res, err := c.DeleteAssignments(context.Background(), []Key{{Type: Analyzer, Subject: "a"}})
	require.Empty(t, res)
	require.Error(t, err)
	require.False(t, IsAmbiguous(err), "%v", err)
	require.Equal(t, http.StatusTooManyRequests, StatusCode(err))
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 7*time.Second, ae.RetryAfter, "the Retry-After is the caller's to honour")
	require.Equal(t, 1, sent, "an action is never sent again by the client, nor waited for")
}

// The allotments' units are numbers in Qlik's types: analyzer capacity minutes with a
// fraction do not make the whole overview unreadable.
func TestOverviewFractionalUnits(t *testing.T) {
	rt := rtFunc(func(r *http.Request) (*http.Response, error) {
		return answer(200, `{"allotments":[{"name":"analyzer_time","usageClass":"time","units":300,"unitsUsed":242.6,"overage":-1},`+
			`{"name":"professional","usageClass":"assigned","units":200,"unitsUsed":15}],"licenseKey":"SECRETKEY","licenseNumber":"9999","valid":"2026-01-01/2026-12-31"}`), nil
	})
	c, err := New(Config{Tenant: "https://t.eu.qlikcloud.com", APIKey: "k", Transport: rt, ReadsPerMinute: -1})
	require.NoError(t, err)
	o, err := c.Overview(context.Background())
	require.NoError(t, err)
	a, ok := o.Allotment(AnalyzerTime)
	require.True(t, ok)
	require.Equal(t, Allotment{Name: AnalyzerTime, UsageClass: "time", Units: 300, UnitsUsed: 243, Overage: -1}, a)
}

// A 207 that leaves an item out, or gives it a 5xx or no status, answers the others and
// names exactly those in doubt.
func TestA207LeavingItemsOutNamesExactlyThem(t *testing.T) {
	body := `{"data":[{"status":200,"subject":"a","type":"analyzer"},{"status":404,"code":"LICENSES-016","subject":"c","type":"analyzer"},` +
		`{"status":503,"subject":"d","type":"analyzer"},{"status":403,"code":"LICENSES-011","subject":"e","type":"professional"},{"subject":"f","type":"analyzer"}]}`
	rt := rtFunc(func(r *http.Request) (*http.Response, error) { return answer(207, body), nil })
	c, err := New(Config{Tenant: "https://t.eu.qlikcloud.com", APIKey: "k", Transport: rt, ActionsPerMinute: -1})
	require.NoError(t, err)
	keys := []Key{{Analyzer, "a"}, {Analyzer, "b"}, {Analyzer, "c"}, {Analyzer, "d"}, {Professional, "e"}, {Analyzer, "f"}}
	res, err := c.DeleteAssignments(context.Background(), keys)
	var ae *AmbiguousError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, []Key{keys[1], keys[3], keys[5]}, ae.Keys)
	got := map[Key]Outcome{}
	for _, r := range res {
		got[r.Key] = r.Outcome
	}
	require.Equal(t, map[Key]Outcome{keys[0]: Done, keys[2]: NotFound, keys[4]: NoAllotment}, got)
}

// The reference's example of the delete answer lists the items under "delete", its type
// under "data": both are read (otherwise every item of such an answer is in doubt).
func TestA207UnderTheVerb(t *testing.T) {
	rt := rtFunc(func(r *http.Request) (*http.Response, error) {
		return answer(207, `{"delete":[{"status":200,"subject":"a","type":"analyzer"},{"code":"LICENSES-016","status":404,"subject":"b","type":"analyzer"}]}`), nil
	})
	c, err := New(Config{Tenant: "https://t.eu.qlikcloud.com", APIKey: "k", Transport: rt, ActionsPerMinute: -1})
	require.NoError(t, err)
	res, err := c.DeleteAssignments(context.Background(), []Key{{Analyzer, "a"}, {Analyzer, "b"}})
	require.NoError(t, err)
	require.Len(t, res, 2)
	require.Equal(t, Done, res[0].Outcome)
	require.Equal(t, NotFound, res[1].Outcome)
}

// A 207 that names one item twice with different statuses (a refusal, then a 200) does not
// say which holds: the item is in doubt (read back), never recorded refused while the
// tenant may have deleted it. An item naming another type than the key's is not taken
// for it by subject alone.
func TestMatchItemsConflictingDuplicateIsInDoubt(t *testing.T) {
	keys := []Key{{Type: Professional, Subject: "A"}, {Type: Analyzer, Subject: "B"}}
	data := []wireItemStatus{
		{Status: 400, Code: "LICENSES-001", Subject: "A", Type: Professional},
		{Status: 200, Subject: "A", Type: Professional},
		{Status: 200, Subject: "B", Type: Analyzer},
	}
	res, err := matchItems("deleting", keys, data)
	var amb *AmbiguousError
	require.ErrorAs(t, err, &amb)
	require.Equal(t, []Key{keys[0]}, amb.Keys)
	require.Equal(t, []ItemResult{{Key: keys[1], Outcome: Done, Status: 200}}, res)

	// the same status twice agrees: definitive
	data = []wireItemStatus{{Status: 200, Subject: "A", Type: Professional}, {Status: 200, Subject: "A", Type: Professional}, {Status: 200, Subject: "B"}}
	res, err = matchItems("deleting", keys, data)
	require.NoError(t, err)
	require.Len(t, res, 2)

	// "analyzer A not found" says nothing of professional A
	data = []wireItemStatus{{Status: 404, Code: "LICENSES-016", Subject: "A", Type: Analyzer}, {Status: 200, Subject: "B", Type: Analyzer}, {Status: 200, Subject: "C"}}
	res, err = matchItems("deleting", keys, data)
	require.ErrorAs(t, err, &amb)
	require.Equal(t, []Key{keys[0]}, amb.Keys)
	require.Equal(t, []ItemResult{{Key: keys[1], Outcome: Done, Status: 200}}, res)
}
