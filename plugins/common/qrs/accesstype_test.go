package qrs_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// One concept, three spellings, each written once: the user pass is user_pass in
// configuration and plans, token_user in metrics (Butler's name), user on QRS's paths.
func TestAccessTypeSpellings(t *testing.T) {
	for _, tc := range []struct {
		t                         qrs.AccessType
		name, licenseType, onWire string
	}{
		{qrs.Professional, "professional", "professional", "/license/professionalaccesstype"},
		{qrs.Analyzer, "analyzer", "analyzer", "/license/analyzeraccesstype"},
		{qrs.UserPass, "user_pass", "token_user", "/license/useraccesstype"},
	} {
		require.Equal(t, tc.name, tc.t.Name())
		require.Equal(t, tc.name, tc.t.String())
		require.Equal(t, tc.licenseType, tc.t.LicenseType())
		require.Equal(t, tc.onWire, tc.t.Endpoint())
		for _, s := range []string{tc.name, tc.licenseType, string(tc.t)} {
			got, err := qrs.ParseAccessType(s)
			require.NoError(t, err, s)
			require.Equal(t, tc.t, got, s)
		}
	}
	_, err := qrs.ParseAccessType("login")
	require.EqualError(t, err, `unknown access type "login": expected "professional", "analyzer" or "user_pass"`)

	// JSON (audit lines, plans) writes the name and reads every spelling, so in-flight
	// notes written before the name existed ("user") still read.
	b, err := json.Marshal(map[string]qrs.AccessType{"type": qrs.UserPass})
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"user_pass"}`, string(b))
	for _, s := range []string{`"user"`, `"user_pass"`, `"token_user"`} {
		var got qrs.AccessType
		require.NoError(t, json.Unmarshal([]byte(s), &got))
		require.Equal(t, qrs.UserPass, got)
	}
	var bad qrs.AccessType
	require.Error(t, json.Unmarshal([]byte(`"seat"`), &bad))
}

func TestAllocationHolder(t *testing.T) {
	a := &qrs.Allocation{User: &qrs.UserCondensed{UserDirectory: "CORP", UserID: "ann"}}
	require.Equal(t, `CORP\ann`, a.HolderName())
	gone := &qrs.Allocation{DeletedUserDirectory: "CORP", DeletedUserID: "bob"}
	dir, id := gone.Holder()
	require.Equal(t, []string{"CORP", "bob"}, []string{dir, id})
	require.Equal(t, `CORP\bob`, gone.HolderName())
}
