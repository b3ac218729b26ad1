package qrs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/qrsspec"
)

// referenceAllocations decodes a list the way encoding/json's streaming Decoder does, as
// the client did before allocationReader: the behaviour allocationReader must reproduce.
func referenceAllocations(b []byte, fn func(*Allocation)) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("expected a JSON array, got %v", tok)
	}
	for dec.More() {
		a := new(Allocation)
		if err := dec.Decode(a); err != nil {
			return err
		}
		fn(a)
	}
	_, err = dec.Token()
	return err
}

// readerVariants feed the same body in ways that exercise every refill path: one read,
// one byte at a time into a one-byte buffer (which must grow), and half reads.
var readerVariants = []struct {
	name string
	size int
	wrap func(io.Reader) io.Reader
}{
	{"whole", 64 << 10, func(r io.Reader) io.Reader { return r }},
	{"one byte", 1, iotest.OneByteReader},
	{"half", 7, iotest.HalfReader},
	{"data with EOF", 3, iotest.DataErrReader},
}

func ours(b []byte, size int, wrap func(io.Reader) io.Reader) ([]Allocation, error) {
	var got []Allocation
	fnErr, err := newAllocationReader(wrap(bytes.NewReader(b)), size).list(func(a *Allocation) error {
		got = append(got, *a)
		return nil
	})
	if fnErr != nil {
		panic(fnErr)
	}
	return got, err
}

// sameAsEncodingJSON fails t when allocationReader and encoding/json disagree on b: one
// errs and the other does not, or the rows delivered differ.
func sameAsEncodingJSON(t *testing.T, b []byte) {
	t.Helper()
	var want []Allocation
	wantErr := referenceAllocations(b, func(a *Allocation) { want = append(want, *a) })
	for _, v := range readerVariants {
		got, err := ours(b, v.size, v.wrap)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%s reader on %q: error %v, encoding/json: %v", v.name, b, err, wantErr)
		}
		if len(got) != len(want) || (len(got) > 0 && !equalRows(got, want)) {
			t.Fatalf("%s reader on %q:\n got %+v\nwant %+v", v.name, b, got, want)
		}
	}
}

func equalRows(a, b []Allocation) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	for i := range a {
		if (a[i].User == nil) != (b[i].User == nil) || !a[i].CreatedDate.Equal(b[i].CreatedDate.Time) ||
			!a[i].LastUsed.Equal(b[i].LastUsed.Time) || !a[i].QuarantineEnd.Equal(b[i].QuarantineEnd.Time) {
			return false
		}
	}
	return bytes.Equal(ja, jb)
}

// Cases chosen for where a hand-written reader goes wrong: escapes and UTF-8, keys that
// match only case-insensitively or through an escape, repeated keys, nulls, values of the
// wrong type, nested unknown values, number grammar, and the list's own punctuation.
var allocationReaderCases = []string{
	`[]`, ` [ ] `, `[null]`, `[{}]`, `[{},{}]`, `null`, `{}`, `"x"`, `12`, `<html>`, ``, `[`, `[{`, `[{}`, `[{},`, `[{},]`, `[,]`,
	`[{}{}]`, `[{}}`, `[}`, `[{}] trailing`, `[1]`, `["a"]`, `[[]]`, `[true]`,
	`[{"id":"a","user":{"id":"u","userId":"jo","userDirectory":"LAB"},"lastUsed":"2022-08-27T06:47:08.584Z","excess":true,"quarantined":false,"quarantineEnd":"1753-01-01T00:00:00.000Z","deletedUserId":"","deletedUserDirectory":""}]`,
	`[{"id":"caf\u00e9 \"q\" \\ \/ \b\f\n\r\t"}]`, `[{"id":"\ud83d\ude00 \ud800 \udc00x"}]`, "[{\"id\":\"\xff\xfe bad utf8\"}]", `[{"id":"Åsa"}]`,
	`[{"id":"\x"}]`, `[{"id":"\u12"}]`, `[{"id":"\u12g4"}]`, "[{\"id\":\"a\tb\"}]", `[{"id":"unterminated}]`,
	`[{"ID":"a","USERID":"b","User":{"USERID":"x","UserDirectory":"y","Id":"z"}}]`, `[{"\u0069d":"escaped key"}]`,
	"[{\"u\u017fer\":{\"id\":\"long s folds to s\"}}]", "[{\"\u212aey\":1,\"id\":\"kelvin\"}]", `[{"id":"a","Id":"b","id":"c"}]`,
	`[{"user":{"id":"a","userId":"b"},"user":{"id":"c"}}]`, `[{"user":{"id":"a"},"user":null}]`, `[{"user":null,"user":{"userId":"b"}}]`,
	`[{"id":null,"excess":null,"lastUsed":null,"user":null,"deletedUserId":null}]`, `[{"id":"a","id":null}]`,
	`[{"id":1}]`, `[{"id":true}]`, `[{"id":{}}]`, `[{"excess":"yes"}]`, `[{"excess":1}]`, `[{"user":"jo"}]`, `[{"user":[]}]`,
	`[{"lastUsed":12}]`, `[{"lastUsed":"yesterday"}]`, `[{"lastUsed":"2022-08-27T06:47:08.584+02:00"}]`, `[{"lastUsed":"2022-08-27T06:47:08"}]`,
	`[{"lastUsed":"2022-02-31T00:00:00.000Z"}]`, `[{"lastUsed":""}]`, `[{"lastUsed":"\u0032022-08-27T06:47:08.584Z"}]`, `[{"quarantineEnd":"1753-01-01T00:00:00Z"}]`,
	`[{"privileges":["a",{"b":[1,2.5,-3e+2,0.1E-9,null,true,false]}],"schemaPath":"x","id":"after"}]`,
	`[{"n":01}]`, `[{"n":1.}]`, `[{"n":-}]`, `[{"n":.5}]`, `[{"n":1e}]`, `[{"n":-0}]`, `[{"n":1.5e+}]`, `[{"n":2}`, `[{"n":tru}]`, `[{"n":nul`, `[{"n":truex}]`,
	`[{"id" "a"}]`, `[{"id":"a" "b":1}]`, `[{"id":"a",}]`, `[{,}]`, `[{1:2}]`, `[{"x":[1,]}]`, `[{"x":[1 2]}]`, `[{"x":{"a":1,}}]`, `[{"x":}]`,
	"[\n\t{ \"id\" : \"spaced\" } \r\n]", "\ufeff[]",
	`[{"id":"a"},{"id":"b","excess":"no"},{"id":"c"}]`, `[{"id":"a"},{"id":"b"` + strings.Repeat(" ", 100) + `}`,
}

func TestAllocationReaderMatchesEncodingJSON(t *testing.T) {
	for _, c := range allocationReaderCases {
		sameAsEncodingJSON(t, []byte(c))
	}
	// Deep nesting in an ignored field: skipped, not decoded, in both.
	sameAsEncodingJSON(t, []byte(`[{"x":`+strings.Repeat("[", 500)+strings.Repeat("]", 500)+`,"id":"deep"}]`))
	// A string longer than the buffer, so it grows.
	sameAsEncodingJSON(t, []byte(`[{"id":"`+strings.Repeat("x", 200_000)+`"}]`))
}

// The recorded sample of a real site and a generated list decode as encoding/json has them.
func TestAllocationReaderOnRealAndGeneratedLists(t *testing.T) {
	sample, err := qrsspec.Sample("analyzeraccesstype-full.json")
	require.NoError(t, err)
	rows, err := ours(sample, 64<<10, func(r io.Reader) io.Reader { return r })
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	require.NotEmpty(t, rows[0].User.UserID)
	sameAsEncodingJSON(t, sample)

	var b strings.Builder
	b.WriteString("[")
	for i := range 2000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":"%08d","createdDate":"2021-11-19T12:23:58.850Z","modifiedByUserName":"LAB\\u_%d","user":{"id":"u%d","userId":"Ü_%d","userDirectory":"LAB","privileges":null},"lastUsed":"2022-08-%02dT06:47:08.584Z","excess":%t,"quarantined":%t,"quarantineEnd":"1753-01-01T00:00:00.000Z","deletedUserId":"","deletedUserDirectory":"","privileges":null,"schemaPath":"License.AnalyzerAccessType"}`,
			i, i, i, i, 1+i%28, i%3 == 0, i%5 == 0)
	}
	b.WriteString("]")
	sameAsEncodingJSON(t, []byte(b.String()))
}

func TestAllocationReaderErrors(t *testing.T) {
	for body, want := range map[string]string{
		`[{"excess":"yes"}]`:                `decoding element 0: field "excess": expected true or false, got string`,
		`[{"id":"a"},{"user":"jo"}]`:        `decoding element 1: field "user": expected an object, got string`,
		`[{"lastUsed":"yesterday"}]`:        `decoding element 0: field "lastUsed": invalid date-time "yesterday": expected RFC 3339 such as "2024-05-01T00:00:00.000Z"`,
		`[{"id":"a"} {"id":"b"}]`:           `decoding element 1: invalid character '{' after array element (at byte 12)`,
		`[{"id":"a"`:                        `decoding element 0: unexpected EOF`,
		`{"id":"a"}`:                        `decoding response: expected a JSON array, got object`,
		`<html>`:                            `decoding response: invalid character '<' looking for beginning of value (at byte 0)`,
		`[{"x":[1,2,]}]`:                    `decoding element 0: invalid character ']' looking for beginning of value (at byte 11)`,
		`[{"id":"a"},{"id":"b\q"}]`:         `decoding element 1: field "id": invalid character 'q' in string escape code (at byte 21)`,
		`[{"id":"a"}` + "\n" + `,{"x":01}]`: `decoding element 1: invalid character '1' after object key:value pair (at byte 19)`,
	} {
		_, err := ours([]byte(body), 64<<10, func(r io.Reader) io.Reader { return r })
		require.EqualError(t, err, want, body)
	}
	// A body cut by the network names the read error, not a syntax one.
	cut := io.MultiReader(strings.NewReader(`[{"id":"a"},{"id":"b`), iotest.ErrReader(errors.New("connection reset by peer")))
	_, err := newAllocationReader(cut, 64<<10).list(func(*Allocation) error { return nil })
	require.EqualError(t, err, `decoding element 1: field "id": reading body: connection reset by peer`)
}

// allocationReader and encoding/json agree on any input: the same rows, and an error
// exactly when encoding/json has one.
func FuzzAllocationReader(f *testing.F) {
	for _, c := range allocationReaderCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameAsEncodingJSON(t, b)
	})
}

// AllocationListForTest is an n-row allocation list as QRS writes it, for the benchmarks
// of this package (internal and external).
func AllocationListForTest(n int) []byte {
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

// BenchmarkDecodeAllocations compares allocationReader with the encoding/json streaming
// decoder it replaced, on the same 10 000-row body (benchstat-friendly sub-benchmarks).
func BenchmarkDecodeAllocations(b *testing.B) {
	body := AllocationListForTest(10_000)
	b.Run("reader=allocationReader", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := newAllocationReader(bytes.NewReader(body), 64<<10).list(func(*Allocation) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reader=encoding_json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := referenceAllocations(body, func(*Allocation) {}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// plainRun's eight-bytes-at-a-time test stops exactly where a byte-by-byte scan would.
func TestPlainRun(t *testing.T) {
	naive := func(b []byte) int {
		i := 0
		for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 && b[i] < 0x80 {
			i++
		}
		return i
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		if len(b) > 0 && rng.IntN(4) > 0 { // one special byte, anywhere, of any kind
			b[rng.IntN(len(b))] = []byte{'"', '\\', 0, 0x1f, 0x20, 0x7f, 0x80, 0xff, 0x21, 0x5b, 0x5d}[rng.IntN(11)]
		}
		if len(b) > 1 && rng.IntN(2) == 0 { // a second one after it: only the first counts
			b[len(b)-1] = 0x01
		}
		require.Equal(t, naive(b), plainRun(b), "%q", b)
	}
	for c := range 256 {
		b := []byte("abcdefghijklmnopq")
		b[9] = byte(c)
		require.Equal(t, naive(b), plainRun(b), "byte %#x", c)
	}
}
