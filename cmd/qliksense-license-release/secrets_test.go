package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A password in a configurable URL never reaches the commands' output: every command
// that reads the key refuses the file, naming the key and where the credential belongs.
func TestPasswordsInURLsNeverReachTheOutput(t *testing.T) {
	srv := startEmulator(t)
	for _, tc := range []struct{ key, keys string }{
		{"forecast.url", "  [inputs.qliksense_license.forecast]\n    url = \"http://reader:pa55-history@127.0.0.1:8086\"\n    database = \"q\""},
		{"forecast.url", "  [inputs.qliksense_license.forecast]\n    url = \"http://127.0.0.1:8086?u=reader&p=pa55-history\"\n    database = \"q\""},
		{"release.output.url", "[inputs.qliksense_license.release.output]\n      url = \"http://writer:pa55-output@127.0.0.1:8086\"\n      bucket = \"q/autogen\""},
		{"release.mail.host", "[inputs.qliksense_license.release.notice]\n      digest_to = [\"a@example.com\"]\n" +
			"    [inputs.qliksense_license.release.mail]\n      host = \"mailer:pa55-smtp@smtp.example.com\"\n      from = \"q@example.com\""},
	} {
		path, _ := writeSite(t, srv, tc.keys)
		for _, cmd := range []string{"check-config", "forecast", "plan", "once"} {
			var out, errOut bytes.Buffer
			require.Equal(t, 1, run(t.Context(), []string{cmd, "-config", path}, &out, &errOut), "%s %s", cmd, tc.key)
			if cmd != "forecast" || tc.key == "forecast.url" { // forecast reads no release table
				require.Contains(t, errOut.String(), tc.key+" = ", cmd)
			}
			require.NotContains(t, out.String()+errOut.String(), "pa55", "%s %s", cmd, tc.key)
		}
	}
	// The QRS server.
	path, _ := writeSite(t, srv, "")
	conf, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(conf), `server = "https://`, `server = "https://qrsadmin:pa55-qrs@`, 1)), 0o600))
	var out, errOut bytes.Buffer
	require.Equal(t, 1, run(t.Context(), []string{"check-config", "-config", path}, &out, &errOut))
	require.Contains(t, errOut.String(), `server = \"https://xxxxx@127.0.0.1:`)
	require.NotContains(t, out.String()+errOut.String(), "pa55")
}

// The forecast command's error when InfluxDB refuses the history's credentials (given as
// the secret keys, where they belong) shows neither them nor the query.
func TestForecastErrorHoldsNoSecret(t *testing.T) {
	srv := startEmulator(t)
	influx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"authorization failed"}`))
	}))
	defer influx.Close()
	path, _ := writeSite(t, srv, "  [inputs.qliksense_license.forecast]\n    url = \""+influx.URL+"\"\n    database = \"q\"\n"+
		"    username = \"reader\"\n    password = \"pa55-history\"")
	var out, errOut bytes.Buffer
	require.Equal(t, 1, run(t.Context(), []string{"forecast", "-config", path}, &out, &errOut))
	require.Contains(t, errOut.String(), "querying the history at "+influx.URL+": 401 Unauthorized: authorization failed")
	influx.Close() // now a transport error, which quotes the request
	errOut.Reset()
	require.Equal(t, 1, run(t.Context(), []string{"forecast", "-config", path}, &out, &errOut))
	require.Contains(t, errOut.String(), "querying the history at "+influx.URL+": Get ")
	require.NotContains(t, out.String()+errOut.String(), "pa55")
}
