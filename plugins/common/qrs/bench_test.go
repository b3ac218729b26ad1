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

func allocationList(n int) []byte {
	var b bytes.Buffer
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":"%08d-58a7-4442-ada7-c54dc8906016","createdDate":"2021-11-19T12:23:58.850Z","modifiedDate":"2022-08-27T06:47:08.600Z","modifiedByUserName":"LAB\\testuser_%d","user":{"id":"9e403391-58a7-4442-ada7-c54dc8906016","userId":"testuser_%d","userDirectory":"LAB","userDirectoryConnectorName":"LAB","name":"Testuser","privileges":null},"lastUsed":"2022-08-27T06:47:08.584Z","excess":false,"quarantined":false,"quarantineEnd":"1753-01-01T00:00:00.000Z","deletedUserId":"","deletedUserDirectory":"","privileges":null,"schemaPath":"License.AnalyzerAccessType"}`, i, i, i)
	}
	b.WriteString("]")
	return b.Bytes()
}

// BenchmarkStreamAllocations decodes a 10 000-row allocation list as the plugin does.
func BenchmarkStreamAllocations(b *testing.B) {
	body := allocationList(10_000)
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
