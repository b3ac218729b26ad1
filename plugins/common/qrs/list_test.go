package qrs_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// nastyIDs are user ids that break naive filter building: quotes, backslashes, URL
// metacharacters, non-ASCII, and an injection attempt.
var nastyIDs = []string{
	"o'brien", "Åsa.Lindqvist", `back\slash`, `trail\`, "a&b=c", "x#y", "50%", "a+b", "semi;colon",
	"' or userId sw '", `\' or userId sw '`, "(paren)", "日本語", "two  spaces",
}

func TestFilterEscapingRoundTrips(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 3, Users: 20, Now: testkit.Now})
	for i, id := range nastyIDs {
		site.AddUser(emulator.User{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), UserID: id, UserDirectory: "TEST", Name: id})
	}
	srv := testkit.StartEmulator(t, site)
	c := certClient(t, srv)

	for _, id := range nastyIDs {
		var got []string
		filter := qrs.And(qrs.Eq("userDirectory", "test"), qrs.Eq("userId", strings.ToUpper(id)))
		err := c.Users(t.Context(), filter, func(u *qrs.User) error {
			got = append(got, u.UserID)
			return nil
		})
		require.NoError(t, err, "filter %s", filter)
		require.Equal(t, []string{id}, got, "filter %s must match exactly the user, case-insensitively", filter)
	}
}

func TestQuote(t *testing.T) {
	require.Equal(t, `'Q1\'25'`, qrs.Quote("Q1'25"))
	require.Equal(t, `'DIR\\user'`, qrs.Quote(`DIR\user`))
	require.Equal(t, `'Åsa'`, qrs.Quote("Åsa"))
	require.Equal(t, "id eq 9e403391-58a7-4442-ada7-c54dc8906016", qrs.Eq("id", "9e403391-58a7-4442-ada7-c54dc8906016"))
	require.Equal(t, "(a eq 'x') or (b eq 'y')", qrs.Or(qrs.Eq("a", "x"), "", qrs.Eq("b", "y")))
	require.Equal(t, "a eq 'x'", qrs.And("", qrs.Eq("a", "x")))
}

func TestBatchEqBoundsTheURL(t *testing.T) {
	var ids []string
	for i := range 500 {
		ids = append(ids, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	ids = append(ids, ids[0]) // a duplicate is looked up once
	batches := qrs.BatchEq("id", ids, 0)
	require.Greater(t, len(batches), 1)
	seen := 0
	for _, b := range batches {
		require.LessOrEqual(t, len(url(b)), qrs.DefaultMaxFilterBytes)
		seen += strings.Count(b, " eq ")
	}
	require.Equal(t, 500, seen)
	// Batches are as full as the bound allows: fewer than one id per 80 bytes would be waste.
	require.LessOrEqual(t, len(batches), 500*80/qrs.DefaultMaxFilterBytes+1)
}

func url(filter string) string {
	req, _ := http.NewRequest(http.MethodGet, "https://x/qrs/user/full", nil)
	q := req.URL.Query()
	q.Set("filter", filter)
	return q.Encode()[len("filter="):]
}

func TestUsersByIDBatchesRequests(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 4, Users: 1200})
	c := certClient(t, srv)
	var all []string
	require.NoError(t, c.Users(t.Context(), "", func(u *qrs.User) error {
		all = append(all, u.ID)
		return nil
	}))
	require.Len(t, all, 1200)
	want := all[100:1100]
	srv.Log.Reset()

	var got []string
	require.NoError(t, c.UsersByID(t.Context(), want, func(u *qrs.User) error {
		got = append(got, u.ID)
		return nil
	}))
	slices.Sort(got)
	slices.Sort(want)
	require.Equal(t, want, got)
	require.Equal(t, len(qrs.BatchEq("id", want, 0)), srv.Log.Count(http.MethodGet, "/qrs/user/full"))
	for _, e := range srv.Log.Entries() {
		require.Less(t, len(e.Query), 2048, "query string stays under IIS's default limit")
	}
}

func TestAllocationsAreDecoded(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 5, Users: 400})
	c := certClient(t, srv)
	var n, never, quarantined, deletedUser int
	err := c.Allocations(t.Context(), qrs.Analyzer, "", func(a *qrs.Allocation) error {
		n++
		require.True(t, qrs.IsGUID(a.ID))
		require.True(t, a.CreatedDate.Valid())
		if !a.LastUsed.Valid() {
			never++
		}
		if a.Quarantined {
			quarantined++
			require.True(t, a.QuarantineEnd.Valid())
		} else {
			require.False(t, a.QuarantineEnd.Valid(), "the 1753 sentinel decodes to no date")
		}
		if a.User == nil {
			deletedUser++
			require.NotEmpty(t, a.DeletedUserID)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, len(srv.Site.Allocations(emulator.KindAnalyzer)), n)
	require.Positive(t, never)
	require.Positive(t, quarantined)

	// The filter Butler sends, with its date format and others real clients use.
	cutoff := testkit.Now.Add(-30 * 24 * time.Hour)
	want := 0
	for _, a := range srv.Site.Allocations(emulator.KindAnalyzer) {
		if !a.LastUsed.After(cutoff) { // never-used rows carry 1753 and match too
			want++
		}
	}
	for _, lit := range []string{cutoff.Format("2006-01-02T15:04:05.000Z"), cutoff.Format("2006-01-02 15:04:05"), cutoff.Format("2006/01/02 15:04:05")} {
		got := 0
		require.NoError(t, c.Allocations(t.Context(), qrs.Analyzer, "lastUsed le "+qrs.Quote(lit), func(*qrs.Allocation) error {
			got++
			return nil
		}))
		require.Equal(t, want, got, lit)
	}
	count, err := c.Count(t.Context(), qrs.Analyzer.Endpoint(), "quarantined eq true")
	require.NoError(t, err)
	require.Equal(t, int64(quarantined), count)
}

func TestBadFilterIsA400WithQRSText(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 1, Users: 10})
	c := certClient(t, srv)
	err := c.Users(t.Context(), "name eq 'Q1''25'", func(*qrs.User) error { return nil })
	require.EqualError(t, err, "GET /qrs/user/full: 400 Bad Request: Cannot parse the expression: name eq 'Q1''25'")
	require.Equal(t, int64(1), c.Stats().Requests, "a 400 is not retried")
}

func TestStreamErrors(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 6, Users: 300})
	c := newClient(t, qrs.Config{Server: srv.URL, MaxRetries: -1}, testkit.ClientFiles(srv))

	srv.Faults.Inject(emulator.FaultTruncate, "GET", "/full", 1)
	err := c.Allocations(t.Context(), qrs.Professional, "", func(*qrs.Allocation) error { return nil })
	require.ErrorContains(t, err, "GET /qrs/license/professionalaccesstype/full: decoding element")
	require.ErrorContains(t, err, "unexpected EOF")

	srv.Faults.Inject(emulator.FaultMalformed, "GET", "/full", 1)
	err = c.Allocations(t.Context(), qrs.Professional, "", func(*qrs.Allocation) error { return nil })
	require.ErrorContains(t, err, "GET /qrs/license/professionalaccesstype/full: decoding response: invalid character '<'")

	srv.Faults.Inject(emulator.FaultMalformed, "GET", "overview", 1)
	_, err = c.AccessTypeOverview(t.Context())
	require.ErrorContains(t, err, "GET /qrs/license/accesstypeoverview: decoding response:")

	stop := fmt.Errorf("enough")
	n := 0
	err = c.Allocations(t.Context(), qrs.Professional, "", func(*qrs.Allocation) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
}

// A streamed list keeps memory to what the caller keeps: a 100k-row body (tens of MB) is
// decoded with a heap that stays a small fraction of it. The body is generated on the fly
// by a plain handler so that only the client's memory is in this process's heap.
func TestStream100kRowsWithBoundedMemory(t *testing.T) {
	const rows = 100_000
	row := `{"id":"%08d-58a7-4442-ada7-c54dc8906016","createdDate":"2021-11-19T12:23:58.850Z","modifiedDate":"2022-08-27T06:47:08.600Z","modifiedByUserName":"LAB\\testuser_%d","user":{"id":"9e403391-58a7-4442-ada7-c54dc8906016","userId":"testuser_%d","userDirectory":"LAB","userDirectoryConnectorName":"LAB","name":"Testuser","privileges":null},"lastUsed":"2022-08-27T06:47:08.584Z","excess":false,"quarantined":false,"quarantineEnd":"1753-01-01T00:00:00.000Z","deletedUserId":"","deletedUserDirectory":"","privileges":null,"schemaPath":"License.AnalyzerAccessType"}`
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "[")
		for i := range rows {
			if i > 0 {
				_, _ = io.WriteString(w, ",")
			}
			_, _ = fmt.Fprintf(w, row, i, i, i)
		}
		_, _ = io.WriteString(w, "]")
	}))
	defer ts.Close()
	c, err := qrs.New(qrs.Config{Server: ts.URL})
	require.NoError(t, err)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	n := 0
	err = c.Allocations(t.Context(), qrs.Analyzer, "", func(a *qrs.Allocation) error {
		n++
		if n%5000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, rows, n)
	body := c.Stats().BytesRead
	require.Greater(t, body, int64(50<<20))
	require.Less(t, peak-base, uint64(body/4), "heap grew by %d bytes for a %d-byte body", peak-base, body)
}

func TestUserEmailComesFromTheEmailAttribute(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 5, Users: 120, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	c := certClient(t, srv)

	with, without, capitalised := 0, 0, 0
	err := c.Users(t.Context(), "", func(u *qrs.User) error {
		want := ""
		rec, _ := site.User(u.ID)
		for _, a := range rec.Attributes {
			if strings.EqualFold(a.Type, "email") {
				want = a.Value
				if a.Type == "Email" {
					capitalised++
				}
			}
		}
		require.Equal(t, want, u.Email(), "user %s", u.UserID)
		if want == "" {
			without++
		} else {
			with++
		}
		return nil
	})
	require.NoError(t, err)
	require.Positive(t, with)
	require.Positive(t, without, "some users have no address (service accounts at least)")
	require.Positive(t, capitalised, "the type is matched case-insensitively")

	u := qrs.User{Attributes: []qrs.UserAttribute{{AttributeType: "phone", AttributeValue: "1"}, {AttributeType: "EMAIL", AttributeValue: " a@b.example "}}}
	require.Equal(t, "a@b.example", u.Email())
	require.Empty(t, (&qrs.User{Attributes: []qrs.UserAttribute{{AttributeType: "email", AttributeValue: " "}}}).Email())
}

// FirstBatch says how many values the first filter of BatchEq holds, without building it.
func TestFirstBatchMatchesBatchEq(t *testing.T) {
	var ids []string
	for i := range 300 {
		ids = append(ids, fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i))
	}
	for _, n := range []int{1, 5, 39, 40, 41, 120, 300} {
		for _, maxBytes := range []int{0, 200, 5000} {
			first := qrs.BatchEq("id", ids[:n], maxBytes)[0]
			require.Equal(t, strings.Count(first, " eq "), qrs.FirstBatch("id", ids[:n], maxBytes), "n=%d max=%d", n, maxBytes)
		}
	}
	require.Zero(t, qrs.FirstBatch("id", nil, 0))
}
