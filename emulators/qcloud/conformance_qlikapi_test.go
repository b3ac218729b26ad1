//go:build qlikapi

package qcloudemu_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
)

// TestQlikAPIConformance runs Qlik's own client, @qlik/api (pinned in
// testdata/qlikapi/package-lock.json, installed there by `npm ci` when missing), against
// the emulator over TLS with the test CA: the overview, every page of the assignments
// through next(), consumption with an endTime filter, a users filter on a quoted subject,
// a delete answered 207 item by item, and an empty add refused 400. `make
// qlik-api-conformance` runs it (installing Node from Debian when it is missing).
func TestQlikAPIConformance(t *testing.T) {
	node, err := exec.LookPath("node")
	require.NoError(t, err, "node is needed: make qlik-api-conformance installs it (apt-get install nodejs npm)")
	dir, err := filepath.Abs(filepath.Join("testdata", "qlikapi"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@qlik", "api", "package.json")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "npm ci: %s", out)
	}

	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	tenant := qcloudemu.Generate(qcloudemu.Spec{Seed: 7, Users: 400, Now: now})
	// the known answers' awkward subjects, on top of the generated ones
	subject := `CORP\o"brien\x`
	tenant.AddUser(qcloudemu.User{ID: "ffffffffffffffffffffff01", Subject: subject, Name: "O'Brien", Status: "active", Created: now})
	tenant.AddUser(qcloudemu.User{ID: "ffffffffffffffffffffff02", Subject: `corp\O"BRIEN\X`, Name: "case twin", Status: "active", Created: now})
	tenant.AddAssignment(qcloudemu.Assignment{Type: qcloudemu.Analyzer, Subject: subject, Created: now.AddDate(0, 0, -40)})
	tenant.AddOAuthClient("m2m-client", "m2m-secret")
	certs := t.TempDir()
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: tenant, CertDir: certs})
	require.NoError(t, err)
	defer func() { _ = srv.Close() }()
	before := len(tenant.Assignments())
	since := now.AddDate(0, 0, -7)

	cmd := exec.Command(node, "conformance.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+srv.CAFile, "QCLOUD_URL="+srv.URL, "QCLOUD_API_KEY=emulator-api-key",
		"QCLOUD_SINCE="+since.Format("2006-01-02T15:04:05.000Z"), "QCLOUD_SUBJECT="+subject, "QCLOUD_TYPE=analyzer",
		"QCLOUD_CLIENT_ID=m2m-client", "QCLOUD_CLIENT_SECRET=m2m-secret")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node: %s", stderr.String())

	var got struct {
		Overview struct {
			Status     int `json:"status"`
			Allotments []struct {
				Name      string `json:"name"`
				Units     int    `json:"units"`
				UnitsUsed int    `json:"unitsUsed"`
			} `json:"allotments"`
		} `json:"overview"`
		AssignmentPages int `json:"assignmentPages"`
		Assignments     []struct {
			Subject, Type string
		} `json:"assignments"`
		Consumption []struct {
			EndTime string `json:"endTime"`
			UserID  string `json:"userId"`
		} `json:"consumption"`
		Users []struct {
			ID, Subject string
		} `json:"users"`
		Delete struct {
			Status int `json:"status"`
			Data   []struct {
				Status        int
				Code, Subject string
			} `json:"data"`
		} `json:"delete"`
		EmptyAdd struct {
			Status int
			Code   string
		} `json:"emptyAdd"`
		OAuthStatus struct {
			Status  int
			License string
		} `json:"oauthStatus"`
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)

	require.Equal(t, 200, got.Overview.Status)
	require.Len(t, got.Overview.Allotments, 3)
	require.Equal(t, "professional", got.Overview.Allotments[0].Name)
	require.Equal(t, 120, got.Overview.Allotments[0].UnitsUsed)

	require.Len(t, got.Assignments, before, "every assignment, through next()")
	require.Equal(t, (before+99)/100, got.AssignmentPages)
	require.Equal(t, subject, got.Assignments[len(got.Assignments)-1].Subject)

	var want int
	for _, e := range tenant.Events() {
		if !e.EndTime.Before(since) {
			want++
		}
	}
	require.Positive(t, want)
	require.Len(t, got.Consumption, want, "the endTime filter, every page")
	for _, e := range got.Consumption {
		end, err := time.Parse(time.RFC3339Nano, e.EndTime)
		require.NoError(t, err)
		require.False(t, end.Before(since))
	}

	require.Len(t, got.Users, 2, "the users filter compares case-insensitively, as Qlik's does")

	require.Equal(t, 207, got.Delete.Status)
	require.Len(t, got.Delete.Data, 2)
	require.Equal(t, 200, got.Delete.Data[0].Status)
	require.Equal(t, subject, got.Delete.Data[0].Subject)
	require.Equal(t, 404, got.Delete.Data[1].Status)
	require.Equal(t, "LICENSES-016", got.Delete.Data[1].Code)
	require.False(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: "analyzer", Subject: subject}))
	require.Len(t, tenant.Assignments(), before-1)

	require.Equal(t, 400, got.EmptyAdd.Status)
	require.Equal(t, "LICENSES-001", got.EmptyAdd.Code)

	require.Equal(t, 200, got.OAuthStatus.Status)
	require.Equal(t, "Ok", got.OAuthStatus.License)
	require.Equal(t, 1, srv.Log.Count("POST", "/oauth/token"), "Qlik's client took a token with its client credentials")

	require.Positive(t, srv.Log.Count("GET", "/resources/autogenerated/product-info.json"), "Qlik's client asks what the host is (a 404: not a client-managed site)")
}
