package qrs_test

import (
	"encoding/json"
	"testing"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Decoding QRS bodies never panics, whatever QRS (or something in front of it) answers.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"professionalAccess":{"enabled":true,"total":25},"userAccess":{"tokenCost":0.1}}`,
		`[{"id":"x","user":null,"lastUsed":"1753-01-01T00:00:00.000Z","quarantineEnd":null}]`,
		`{"userId":"a","tags":[{"name":"b"}],"customProperties":[{"value":"v","definition":{"name":"n"}}]}`,
		`{"keyDetails":"Valid To: 2024-03-16  12:00:00 AM","isExpired":false}`,
		`{"lastUsed":"2022-08-27T06:47:08.584+02:00"}`, `{"lastUsed":12}`, `<html>`, `[`, `{"value": 3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ov qrs.AccessTypeOverview
		_ = json.Unmarshal(b, &ov)
		var list []qrs.Allocation
		_ = json.Unmarshal(b, &list)
		var a qrs.Allocation
		if json.Unmarshal(b, &a) == nil && a.LastUsed.Valid() && a.LastUsed.Year() < 1754 {
			t.Fatalf("a pre-1754 date must read as no date: %v", a.LastUsed)
		}
		var u qrs.User
		_ = json.Unmarshal(b, &u)
		var l qrs.License
		_ = json.Unmarshal(b, &l)
		var about qrs.About
		_ = json.Unmarshal(b, &about)
	})
}
