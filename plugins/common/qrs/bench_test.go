package qrs_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// bodyTransport answers every request with the same body, so a benchmark measures the
// client's decoding and nothing of a server.
type bodyTransport []byte

func (b bodyTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(b)), Header: http.Header{}}, nil
}

// BenchmarkStreamAllocations decodes a 10 000-row allocation list as the plugin does.
func BenchmarkStreamAllocations(b *testing.B) {
	body := qrs.AllocationListForTest(10_000)
	c, err := qrs.New(qrs.Config{Server: "https://qrs.invalid:4242", Transport: bodyTransport(body)})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := c.Allocations(b.Context(), qrs.Analyzer, "", func(*qrs.Allocation) error { n++; return nil }); err != nil || n != 10_000 {
			b.Fatal(err, n)
		}
	}
}

func BenchmarkQuote(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = qrs.Quote(`CORP\O'Brien-Åsa`)
	}
}

// BenchmarkBatchEq builds the id filters for 1 000 users.
func BenchmarkBatchEq(b *testing.B) {
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08d-58a7-4442-ada7-c54dc8906016", i)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = qrs.BatchEq("id", ids, 0)
	}
}
