package emulator_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/qrsspec"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

func loadSpec(t *testing.T) *qrsspec.Spec {
	t.Helper()
	spec, err := qrsspec.Load()
	require.NoError(t, err, "loading the committed specification subset")
	return spec
}

// Every method and path the emulator serves is in the real specification, with the same
// success status.
func TestRoutesExistInSpecification(t *testing.T) {
	spec := loadSpec(t)
	for _, r := range emulator.Routes() {
		status, ok := spec.HasOperation(r.Method, r.Path)
		require.True(t, ok, "%s is not in the specification", r)
		want := map[string]string{http.MethodGet: "200", http.MethodDelete: "204", http.MethodPost: "201"}[r.Method]
		require.Equal(t, want, status, r.String())
	}
}

// Every JSON body the emulator serves validates against the response schema the
// specification declares for its path: names and types, nothing invented.
func TestBodiesConformToSpecification(t *testing.T) {
	spec := loadSpec(t)
	for _, model := range []struct {
		name string
		spec emulator.SiteSpec
	}{
		{"user model", emulator.SiteSpec{Seed: 11, Users: 300, CapacityMinutes: 1200, Now: testkit.Now, Apps: 40, AppObjects: 300}},
		{"token model", emulator.SiteSpec{Seed: 12, Users: 300, TokenModel: true, Now: testkit.Now}},
	} {
		t.Run(model.name, func(t *testing.T) {
			site := emulator.Generate(model.spec)
			srv := start(t, site)
			c := rawClient(t, srv)
			ids := map[string]string{"/user/{id}": site.UserIDs()[0]}
			for _, k := range emulator.Kinds {
				if list := site.Allocations(k); len(list) > 0 {
					ids["/license/"+string(k)+"accesstype/{id}"] = list[len(list)-1].ID
				}
			}
			for _, g := range []string{"loginaccesstype", "analyzertimeaccesstype"} {
				if gids := site.GroupIDs(g); len(gids) > 0 {
					ids["/license/"+g+"/{id}"] = gids[0]
				}
			}
			validated := 0
			for _, r := range emulator.Routes() {
				if r.Method != http.MethodGet {
					continue
				}
				path := r.Path
				if id, ok := ids[path]; ok {
					path = strings.Replace(path, "{id}", id, 1)
				} else if strings.Contains(path, "{id}") {
					continue // nothing of that kind on this site
				}
				for _, q := range []string{"", "?privileges=true"} {
					status, body := get(t, c, srv.URL+"/qrs"+path+q)
					require.Equal(t, http.StatusOK, status, "%s%s: %s", path, q, body)
					require.NoError(t, spec.Validate(r.Path, []byte(body)), "%s%s", path, q)
					validated++
				}
			}
			require.GreaterOrEqual(t, validated, 40)
		})
	}
}

// POST /qrs/license/analyzeraccesstype: its body is the specification's
// LicenseAnalyzerAccessType, answered 201 with the new allocation; a user who holds one
// already, or a site without a free analyzer seat, is refused.
func TestAddAnalyzerAccessConforms(t *testing.T) {
	spec := loadSpec(t)
	site := emulator.Generate(emulator.SiteSpec{Seed: 14, Users: 60, AnalyzerTotal: 100, Now: testkit.Now})
	srv := start(t, site)
	c := rawClient(t, srv)
	var pro string
	held := map[string]bool{}
	for _, a := range site.Allocations(emulator.KindAnalyzer) {
		held[a.UserRef] = true
	}
	for _, a := range site.Allocations(emulator.KindProfessional) {
		if !held[a.UserRef] {
			pro = a.UserRef
			break
		}
	}
	require.NotEmpty(t, pro)
	status, body := post(t, c, srv.URL+"/qrs/license/analyzeraccesstype", `{"user":{"id":"`+pro+`"}}`)
	require.Equal(t, http.StatusCreated, status, body)
	require.NoError(t, spec.ValidateAs("#/definitions/LicenseAnalyzerAccessType", []byte(body)))
	require.Contains(t, body, `"user":{"id":"`+pro+`"`)
	status, body = post(t, c, srv.URL+"/qrs/license/analyzeraccesstype", `{"user":{"id":"`+pro+`"}}`)
	require.Equal(t, http.StatusConflict, status, body)

	full := emulator.Generate(emulator.SiteSpec{Seed: 14, Users: 60, Now: testkit.Now}) // 1% fewer seats than allocations
	srv = start(t, full)
	c = rawClient(t, srv)
	status, body = post(t, c, srv.URL+"/qrs/license/analyzeraccesstype", `{"user":{"id":"`+pro+`"}}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Contains(t, body, "no analyzer access types available")
}

// The validator is strict enough to catch an invented field or a wrong type.
func TestValidatorCatchesWrongBodies(t *testing.T) {
	spec := loadSpec(t)
	for _, tc := range []struct{ path, body string }{
		{"/license/accesstypeoverview", `{"professionalAccess":{"enabled":true,"totl":3}}`},
		{"/license/accesstypeoverview", `{"professionalAccess":{"enabled":"yes"}}`},
		{"/license/accesstypeoverview", `{"userAccess":{"tokenCost":"1"}}`},
		{"/license/useraccesstype/full", `[{"id":"9e403391-58a7-4442-ada7-c54dc8906016","excess":false}]`},
		{"/license/professionalaccesstype/full", `[{"lastUsed":"2024-05-01 00:00:00"}]`},
		{"/user/full", `[{"userId":"a","userDirectory":"B","removedExternally":false}]`}, // blacklisted is required
		{"/user/count", `5`},
	} {
		require.Error(t, spec.Validate(tc.path, []byte(tc.body)), "%s %s", tc.path, tc.body)
	}
}

// The real responses recorded on live sites validate too: the relaxations in qrsspec are
// what real sites do, not what the emulator happens to do.
func TestRealSamplesConformToSpecification(t *testing.T) {
	spec := loadSpec(t)
	for file, path := range map[string]string{
		"about.json":                   "/about",
		"accesstypeoverview.json":      "/license/accesstypeoverview",
		"analyzeraccesstype-full.json": "/license/analyzeraccesstype/full",
	} {
		body, err := qrsspec.Sample(file)
		require.NoError(t, err)
		require.NoError(t, spec.Validate(path, body), file)
	}
}

// The committed subset is what the generator cuts from the full specification for the
// emulator's routes today: a new route, or a hand edit of the subset, fails here until
// `make qrs-spec` is run. Needs the full specification (QRS_SPEC or shared/qrs beside the
// repository); without it the test skips and says so.
func TestCommittedSubsetIsCurrent(t *testing.T) {
	path, err := qrsspec.LocateFull()
	if errors.Is(err, qrsspec.ErrNoFullSpec) {
		t.Skipf("drift check skipped: %v", err)
	}
	require.NoError(t, err)
	full, err := os.ReadFile(path)
	require.NoError(t, err)
	var ops []qrsspec.Operation
	for _, r := range emulator.Routes() {
		ops = append(ops, qrsspec.Operation(r))
	}
	fresh, err := qrsspec.Subset(full, ops)
	require.NoError(t, err)
	require.Equal(t, string(fresh), string(qrsspec.CommittedSubset()),
		"%s differs from a fresh cut of %s: run make qrs-spec and review the change", qrsspec.SubsetFile, path)
}

// The wire conventions of a real QRS: privileges then schemaPath last, millisecond UTC
// timestamps, the 1753 sentinel for no date, null privileges.
func TestWireConventions(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 13, Users: 100, Now: testkit.Now})
	srv := start(t, site)
	c := rawClient(t, srv)

	_, body := get(t, c, srv.URL+"/qrs/license/accesstypeoverview")
	require.Equal(t, []string{"totalTokens", "availableTokens", "tokensEnabled", "userAccess", "loginAccess",
		"professionalAccess", "analyzerAccess", "analyzerTimeAccess", "schemaPath"}, keys(t, body))

	_, body = get(t, c, srv.URL+"/qrs/license/professionalaccesstype/full")
	var rows []json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(body), &rows))
	require.NotEmpty(t, rows)
	k := keys(t, string(rows[0]))
	require.Equal(t, []string{"id", "createdDate", "modifiedDate", "modifiedByUserName"}, k[:4])
	require.Equal(t, []string{"privileges", "schemaPath"}, k[len(k)-2:])
	require.Contains(t, body, `"quarantineEnd":"1753-01-01T00:00:00.000Z"`)
	require.Contains(t, body, `"privileges":null`)
	require.Regexp(t, `"lastUsed":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"`, body)

	_, body = get(t, c, srv.URL+"/qrs/license/useraccesstype/full")
	require.Equal(t, "[]", body, "a user-model site has no user passes")
}

func keys(t *testing.T, object string) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(object)))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		out = append(out, tok.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return out
}
