package qrs_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/qrsspec"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// The client's types use the specification's field names and JSON types: a misspelt tag
// would silently decode to zero, so every tag must name a property of the definition.
func TestClientTypesMatchSpecification(t *testing.T) {
	spec, err := qrsspec.Load()
	require.NoError(t, err)
	for _, tc := range []struct {
		v    any
		defs []string
		// fields the type has that a definition lacks (the user pass has no excess)
		absent map[string][]string
	}{
		{qrs.About{}, []string{"About"}, nil},
		{qrs.License{}, []string{"License"}, nil},
		{qrs.AccessTypeOverview{}, []string{"AccessTypeOverview"}, nil},
		{qrs.AccessDetails{}, []string{"AccessTypeOverviewDetailsCondensed"}, nil},
		{qrs.UserAccessDetails{}, []string{"AccessTypeOverviewUserAccessDetailsCondensed"}, nil},
		{qrs.LoginAccessDetails{}, []string{"AccessTypeOverviewLoginAccessDetailsCondensed"}, nil},
		{qrs.AnalyzerTimeAccessDetails{}, []string{"AccessTypeOverviewAnalyzerTimeAccessDetailsCondensed"}, nil},
		{qrs.Allocation{}, []string{"LicenseProfessionalAccessType", "LicenseAnalyzerAccessType", "LicenseUserAccessType"},
			map[string][]string{"LicenseUserAccessType": {"excess"}}},
		{qrs.UserCondensed{}, []string{"UserCondensed"}, nil},
		{qrs.User{}, []string{"User"}, nil},
		{qrs.TagCondensed{}, []string{"TagCondensed"}, nil},
		{qrs.CustomPropertyValue{}, []string{"CustomPropertyValue"}, nil},
		{qrs.CustomPropertyDefinitionCondensed{}, []string{"CustomPropertyDefinitionCondensed"}, nil},
	} {
		typ := reflect.TypeOf(tc.v)
		for _, def := range tc.defs {
			props, err := spec.Definition(def)
			require.NoError(t, err)
			for i := range typ.NumField() {
				f := typ.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if contains(tc.absent[def], name) {
					require.NotContains(t, props, name)
					continue
				}
				want, ok := props[name]
				require.True(t, ok, "%s.%s: %q is not a property of %s", typ.Name(), f.Name, name, def)
				require.Equal(t, want, jsonType(f.Type), "%s.%s (%s.%s)", typ.Name(), f.Name, def, name)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func jsonType(t reflect.Type) string {
	if t == reflect.TypeOf(qrs.Time{}) {
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array"
	case reflect.Struct, reflect.Pointer:
		return "object"
	}
	return t.Kind().String()
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := qrsspec.Sample(name)
	require.NoError(t, err)
	return b
}

// Real responses recorded on live sites decode into the client's types.
func TestDecodeRealSamples(t *testing.T) {
	var ov qrs.AccessTypeOverview
	require.NoError(t, json.Unmarshal(readSample(t, "accesstypeoverview.json"), &ov))
	require.Equal(t, qrs.AccessDetails{Enabled: true, Total: 25, Allocated: 5, Available: 20, SchemaPath: "AccessTypeOverview.Details"}, ov.ProfessionalAccess)
	require.Equal(t, int64(21), ov.AnalyzerAccess.Available)
	require.InDelta(t, 0.1, ov.LoginAccess.TokenCost, 1e-12)
	require.InDelta(t, 1.0, ov.UserAccess.TokenCost, 1e-12)
	require.Equal(t, int64(700), ov.AnalyzerTimeAccess.AllocatedMinutes)
	require.False(t, ov.TokensEnabled)

	var rows []qrs.Allocation
	require.NoError(t, json.Unmarshal(readSample(t, "analyzeraccesstype-full.json"), &rows))
	require.Len(t, rows, 1)
	a := rows[0]
	require.Equal(t, "41e8464e-87ed-4ea3-9fc7-e09d2dc6781a", a.ID)
	require.Equal(t, "2022-08-27T06:47:08.584Z", a.LastUsed.Format(qrs.WireLayout))
	require.False(t, a.QuarantineEnd.Valid(), "1753 is no date")
	require.Equal(t, "LAB", a.User.UserDirectory)
	require.Equal(t, "testuser_2", a.User.UserID)

	var about qrs.About
	require.NoError(t, json.Unmarshal(readSample(t, "about.json"), &about))
	require.Equal(t, "30.4.0.0", about.BuildVersion)
	require.Equal(t, 1, about.NodeType)
}

func TestDecodeTolerance(t *testing.T) {
	var a qrs.Allocation
	body := `{"id":"x","user":null,"lastUsed":null,"quarantineEnd":"1753-01-01T00:00:00Z","privileges":["read"],"someFutureField":{"a":1},"createdDate":"2000-01-23T04:56:07.000+00:00"}`
	require.NoError(t, json.Unmarshal([]byte(body), &a))
	require.Nil(t, a.User)
	require.False(t, a.LastUsed.Valid())
	require.False(t, a.QuarantineEnd.Valid())
	require.Equal(t, "2000-01-23T04:56:07.000Z", a.CreatedDate.Format(qrs.WireLayout))

	err := json.Unmarshal([]byte(`{"lastUsed":"yesterday"}`), &a)
	require.ErrorContains(t, err, `invalid date-time "yesterday"`)
	err = json.Unmarshal([]byte(`{"lastUsed":12}`), &a)
	require.ErrorContains(t, err, "expected a date-time string, got 12")

	var ov qrs.AccessTypeOverview
	err = json.Unmarshal([]byte(`{"professionalAccess":{"total":"25"}}`), &ov)
	require.ErrorContains(t, err, "professionalAccess.total")

	b, err := json.Marshal(qrs.Time{})
	require.NoError(t, err)
	require.Equal(t, `"`+qrs.NoDate+`"`, string(b))
}
