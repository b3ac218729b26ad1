package qcloudemu

import (
	"encoding/json"
	"testing"
)

// The filter parser never panics, and whatever it accepts it can evaluate.
func FuzzFilterParser(f *testing.F) {
	for _, s := range []string{`subject eq "a"`, `(status eq "active" or status eq "disabled") and subject co "x"`,
		`endTime ge "2026-01-01T00:00:00Z"`, `not (id eq "1")`, `subject eq "\"\\\u00e9"`, `((`, `subject eq`, `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseFilter(s, []string{"subject", "status", "id", "endTime"}, []string{"eq", "co", "ge", "gt", "le", "lt"})
		if err == nil {
			n.eval(func(string) []string { return []string{"x"} })
		}
	})
}

// A JSON string is a SCIM string: any valid UTF-8 value, quoted so, is parsed back exactly.
func FuzzStringRoundTrip(f *testing.F) {
	for _, s := range []string{`CORP\o"brien`, "jürgen 東京", "tab\there", `\\`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, _ := json.Marshal(s)
		p := &filterParser{s: string(q)}
		v, err := p.value()
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var want string
		_ = json.Unmarshal(q, &want)
		if v != want {
			t.Fatalf("%s parsed as %q, want %q", q, v, want)
		}
	})
}
