package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// The references measured beside the project: the raw transfer of the same QRS
// responses (the floor of a gather) and a naive Butler-style planner.

// rawTransfer GETs the distinct requests of a gather one after the other, on a new
// client, into io.Discard: the floor for a gather.
func rawTransfer(certs string, sessions tls.ClientSessionCache, base string, entries []emulator.LoggedRequest) (float64, error) {
	seen := map[string]bool{}
	var ordered []string
	for _, e := range entries {
		p := e.Path + "?" + e.Query
		if !seen[p] {
			seen[p] = true
			ordered = append(ordered, p)
		}
	}
	hc, err := rawClient(certs)
	if err != nil {
		return 0, err
	}
	hc.Transport.(*http.Transport).TLSClientConfig.ClientSessionCache = sessions
	defer hc.CloseIdleConnections()
	start := time.Now()
	for _, p := range ordered {
		if err := rawGet(hc, base+p); err != nil {
			return 0, err
		}
	}
	return time.Since(start).Seconds(), nil
}

func rawClient(certs string) (*http.Client, error) {
	cfg, err := testkit.CertFiles(certs).TLSConfig()
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}, nil
}

const key = "abcdefghij123456"

func rawGet(c *http.Client, u string) error { return rawDo(c, http.MethodGet, u, http.StatusOK) }

func rawDelete(c *http.Client, u string) error {
	return rawDo(c, http.MethodDelete, u, http.StatusNoContent)
}

// rawDo sends one request with a matching xrfkey, reads the body and checks the status.
func rawDo(c *http.Client, method, u string, want int) error {
	if strings.Contains(u, "?") {
		u += "&"
	} else {
		u += "?"
	}
	req, err := http.NewRequest(method, u+"xrfkey="+key, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Qlik-Xrfkey", key)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s", method, u, resp.Status)
	}
	return nil
}

// naive plans like Butler: per type, GET …/full?filter=lastUsed le '<cutoff>', then one
// GET /qrs/user/{id} per candidate. Look-ups beyond sample are extrapolated from the mean
// of those made (each costs one round trip; the emulator's latency dominates).
func naive(c *http.Client, base string, now time.Time, sample int) (seconds float64, requests int, extrapolated bool, err error) {
	cutoff := now.Add(-30 * 24 * time.Hour).Format("2006-01-02T15:04:05.000Z")
	var userIDs []string
	start := time.Now()
	for _, t := range []string{"professional", "analyzer"} {
		q := url.Values{"filter": {"lastUsed le '" + cutoff + "'"}}
		resp, err := get(c, base+"/qrs/license/"+t+"accesstype/full?"+q.Encode())
		if err != nil {
			return 0, 0, false, err
		}
		var rows []struct {
			Quarantined bool `json:"quarantined"`
			User        *struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		err = json.NewDecoder(resp.Body).Decode(&rows)
		resp.Body.Close()
		if err != nil {
			return 0, 0, false, err
		}
		requests++
		for _, r := range rows {
			if !r.Quarantined && r.User != nil {
				userIDs = append(userIDs, r.User.ID)
			}
		}
	}
	listTime := time.Since(start)
	made := min(sample, len(userIDs))
	start = time.Now()
	for _, id := range userIDs[:made] {
		if err := rawGet(c, base+"/qrs/user/"+id); err != nil {
			return 0, 0, false, err
		}
	}
	lookups := time.Since(start)
	requests += len(userIDs)
	total := listTime
	if made > 0 {
		total += time.Duration(float64(lookups) / float64(made) * float64(len(userIDs)))
	}
	return total.Seconds(), requests, made < len(userIDs), nil
}

func get(c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, u+"&xrfkey="+key, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Qlik-Xrfkey", key)
	return c.Do(req)
}
