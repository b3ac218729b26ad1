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

// What the plugin prints goes to Telegraf's log: a password in a configurable URL is
// refused at start without being shown, and a failed history read (credentials given as
// the secret keys, where they belong) shows neither them nor the request's query; no
// metric holds one either.
func TestNoPasswordInThePluginsOutput(t *testing.T) {
	srv := startEmulator(t)
	forecast := func(url, creds string) string {
		return "  [inputs.qliksense_license.forecast]\n    enabled = true\n    url = \"" + url + "\"\n    database = \"q\"\n" + creds
	}
	check := func(path, key string) {
		t.Helper()
		var out, errOut bytes.Buffer
		require.Equal(t, 1, run([]string{"-config", path, "-once"}, &out, &errOut))
		require.Contains(t, errOut.String(), key+" = ")
		require.NotContains(t, out.String()+errOut.String(), "pa55")
	}
	check(writeConfig(t, srv, forecast("http://reader:pa55-history@127.0.0.1:8086", "")), "forecast.url")
	check(writeConfig(t, srv, forecast("http://127.0.0.1:8086/?p=pa55-history", "")), "forecast.url")
	path := writeConfig(t, srv, "")
	conf, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(conf), `server = "https://`, `server = "https://qrsadmin:pa55-qrs@`, 1)), 0o600))
	check(path, "server")

	influx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"authorization failed"}`))
	}))
	defer influx.Close()
	path = writeConfig(t, srv, forecast(influx.URL, "    username = \"reader\"\n    password = \"pa55-history\"\n"))
	var out, errOut bytes.Buffer
	require.Equal(t, 1, run([]string{"-config", path, "-once"}, &out, &errOut))
	require.Contains(t, errOut.String(), "E! forecast: querying the history at "+influx.URL+": 401 Unauthorized")
	influx.Close() // a transport error quotes the request
	require.Equal(t, 1, run([]string{"-config", path, "-once"}, &out, &errOut))
	require.Contains(t, errOut.String(), "E! forecast: querying the history at "+influx.URL+": Get ")
	require.Contains(t, out.String(), "qlik_sense_license_gather")
	require.NotContains(t, out.String()+errOut.String(), "pa55")
}
