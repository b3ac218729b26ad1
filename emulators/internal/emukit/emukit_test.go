package emukit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type req struct{ method, path string }

func (r req) MethodPath() (string, string) { return r.method, r.path }

func TestLogCountsByMethodAndPathAnyCase(t *testing.T) {
	var l Log[req]
	var wg sync.WaitGroup
	for _, r := range []req{{"GET", "/qrs/User/full"}, {"GET", "/qrs/app"}, {"DELETE", "/qrs/license/AnalyzerAccessType/1"}} {
		wg.Add(1)
		go func() { defer wg.Done(); l.Add(r) }()
	}
	wg.Wait()
	require.Equal(t, 2, l.Count("GET", "/qrs/"))
	require.Equal(t, 1, l.Count("", "user/FULL"))
	require.Equal(t, 1, l.Count("DELETE", "analyzeraccesstype"))
	require.Equal(t, 0, l.Count("POST", ""))
	require.Equal(t, 3, l.Count("", ""))
	e := l.Entries()
	e[0] = req{}
	require.Len(t, l.Entries(), 3)
	require.NotEqual(t, req{}, l.Entries()[0], "Entries is a copy")
	l.Reset()
	require.Empty(t, l.Entries())
}

func TestQueueTakesTheFirstMatchOnceEach(t *testing.T) {
	var q Queue[string]
	q.Add("a", "DELETE", "/User/", 2)
	q.Add("b", "", "ID eq 7", 1)
	_, ok := q.Take("GET", "/qrs/user/1", "")
	require.False(t, ok, "method differs")
	k, ok := q.Take("GET", "/qrs/user", "filter=id eq 7")
	require.True(t, ok)
	require.Equal(t, "b", k, "the decoded query matches too")
	for range 2 {
		k, ok = q.Take("delete", "/qrs/user/1", "")
		require.True(t, ok)
		require.Equal(t, "a", k)
	}
	_, ok = q.Take("DELETE", "/qrs/user/1", "")
	require.False(t, ok, "used up")
	q.Add("c", "", "", 1)
	q.Clear()
	_, ok = q.Take("GET", "/", "")
	require.False(t, ok)
}

func TestInScope(t *testing.T) {
	require.True(t, InScope("GET", "/any", "", ""))
	require.True(t, InScope("delete", "/qrs/License/X", "DELETE", "license"))
	require.False(t, InScope("GET", "/qrs/license/x", "DELETE", "license"))
	require.False(t, InScope("DELETE", "/qrs/user", "DELETE", "license"))
}

func TestPickStacksTheRates(t *testing.T) {
	rates := []Rate[string]{{Rate: 0.1, Kind: "a"}, {Rate: 0, Kind: "never"}, {Rate: 0.2, Kind: "b"}}
	for _, c := range []struct {
		r    float64
		want string
		ok   bool
	}{{0, "a", true}, {0.0999, "a", true}, {0.1, "b", true}, {0.2999, "b", true}, {0.31, "", false}, {0.99, "", false}} {
		k, ok := Pick(c.r, rates)
		require.Equal(t, c.want, k, c.r)
		require.Equal(t, c.ok, ok, c.r)
	}
	a, b := NewRand(7), NewRand(7)
	require.Equal(t, a.Float64(), b.Float64(), "the same seed draws the same")
}

func TestIssueNamesAndSigns(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := Template("test CA", big.NewInt(1), now)
	caTmpl.KeyUsage = x509.KeyUsageCertSign
	_, ca, err := SelfSign(caTmpl, caKey)
	require.NoError(t, err)
	require.True(t, ca.IsCA)
	require.Equal(t, now.Add(-time.Hour), ca.NotBefore)
	require.Equal(t, now.AddDate(5, 0, 0), ca.NotAfter)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf := Template("server", big.NewInt(2), now)
	leaf.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	der, err := Issue(leaf, ServerNames([]string{"qlik.corp", "10.0.0.5"}), ca, caKey, &key.PublicKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	require.Equal(t, []string{"localhost", "qlik.corp"}, cert.DNSNames)
	require.Len(t, cert.IPAddresses, 3)
	require.True(t, cert.IPAddresses[2].Equal(net.ParseIP("10.0.0.5")))
	require.NoError(t, cert.CheckSignatureFrom(ca))
}
