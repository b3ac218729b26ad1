package qrsspec_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/qrsspec"
)

const miniSpec = `{"swagger":"2.0","info":{"version":"1"},"basePath":"/qrs","host":"h",
 "paths":{
  "/A":{"get":{"parameters":[{"name":"filter","in":"query","type":"string"}],
               "responses":{"200":{"schema":{"$ref":"#/definitions/A"}},"404":{"schema":{"$ref":"#/definitions/Err"}}}},
        "delete":{"responses":{"204":{"description":"NoContent"}}}},
  "/b":{"get":{"responses":{"200":{"schema":{"$ref":"#/definitions/B"}}}}}},
 "definitions":{
  "A":{"properties":{"b":{"$ref":"#/definitions/B"},"n":{"type":"integer","maximum":2147483647}}},
  "B":{"properties":{"c":{"type":"array","items":{"$ref":"#/definitions/C"}}}},
  "C":{"properties":{"a":{"$ref":"#/definitions/A"}}},
  "Err":{"properties":{}},
  "Unused":{"properties":{}}}}`

func TestSubsetKeepsOperationsAndReferencedDefinitions(t *testing.T) {
	out, err := qrsspec.Subset([]byte(miniSpec), []qrsspec.Operation{{Method: "GET", Path: "/a"}})
	require.NoError(t, err)
	var doc struct {
		Paths       map[string]map[string]map[string]any
		Definitions map[string]any
		Host        string
	}
	require.NoError(t, json.Unmarshal(out, &doc))
	require.Equal(t, []string{"get"}, keys(doc.Paths["/A"]), "the path keeps its spelling and only the asked method")
	require.NotContains(t, doc.Paths, "/b")
	require.Equal(t, []string{"200"}, keys(doc.Paths["/A"]["get"]["responses"].(map[string]any)), "only success statuses")
	require.NotNil(t, doc.Paths["/A"]["get"]["parameters"], "parameters are kept")
	require.ElementsMatch(t, []string{"A", "B", "C"}, keys(doc.Definitions), "followed transitively, cycles included; Err and Unused left out")
	require.Contains(t, string(out), `"maximum": 2147483647`, "numbers are kept exactly")

	again, err := qrsspec.Subset([]byte(miniSpec), []qrsspec.Operation{{Method: "GET", Path: "/a"}})
	require.NoError(t, err)
	require.Equal(t, string(out), string(again), "deterministic")
}

func TestSubsetErrors(t *testing.T) {
	for _, tc := range []struct {
		spec string
		op   qrsspec.Operation
		want string
	}{
		{miniSpec, qrsspec.Operation{Method: "GET", Path: "/nope"}, "GET /nope: the path is not in the full specification"},
		{miniSpec, qrsspec.Operation{Method: "PUT", Path: "/b"}, "PUT /b: the method is not in the full specification"},
		{`{"swagger":"3.0"}`, qrsspec.Operation{Method: "GET", Path: "/a"}, "not a Swagger 2.0 document"},
		{`{"swagger":"2.0","paths":{"/a":{"get":{"responses":{"200":{"schema":{"$ref":"#/definitions/Gone"}}}}}}}`,
			qrsspec.Operation{Method: "GET", Path: "/a"}, `reference "#/definitions/Gone": no such definition`},
	} {
		_, err := qrsspec.Subset([]byte(tc.spec), []qrsspec.Operation{tc.op})
		require.ErrorContains(t, err, tc.want)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
