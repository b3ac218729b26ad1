package qrs

import (
	"bytes"
	"fmt"
	"time"
)

// NoDate is how QRS writes "no date": the minimum SQL Server datetime. It appears on
// quarantineEnd of allocations that are not quarantined, and may appear on lastUsed.
const NoDate = "1753-01-01T00:00:00.000Z"

// WireLayout is the layout QRS uses for every timestamp it writes: UTC with milliseconds.
const WireLayout = "2006-01-02T15:04:05.000Z"

// noDateBefore: any instant before this is treated as the "no date" sentinel, whatever
// precision or offset the server used to write 1753-01-01.
var noDateBefore = time.Date(1754, 1, 1, 0, 0, 0, 0, time.UTC)

// Time is a QRS timestamp. The zero value means "no date": the 1753 sentinel, JSON null,
// an empty string or a missing field all decode to it.
type Time struct {
	time.Time
}

// Valid reports whether t carries a real date.
func (t Time) Valid() bool { return !t.IsZero() }

// UnmarshalJSON accepts RFC 3339 with or without fractional seconds and offsets,
// a timestamp without a zone (taken as UTC), null, "" and the 1753 sentinel.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("expected a date-time string, got %s", truncate(string(b), 40))
	}
	if v, ok := parseWire(b[1 : len(b)-1]); ok {
		t.Time = v
		return nil
	}
	s := string(b[1 : len(b)-1])
	parsed, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// MarshalJSON writes the wire layout, and the sentinel for the zero value.
func (t Time) MarshalJSON() ([]byte, error) {
	if !t.Valid() {
		return []byte(`"` + NoDate + `"`), nil
	}
	return []byte(`"` + t.UTC().Format(WireLayout) + `"`), nil
}

// parseWire reads QRS's own layout, 2006-01-02T15:04:05.000Z, without time.Parse: it is
// most of what a 100 000-row list holds. Anything else goes the slow, general way.
func parseWire(b []byte) (time.Time, bool) {
	if len(b) != len(WireLayout) || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[19] != '.' || b[23] != 'Z' {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for _, c := range b[from:to] {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	var v [7]int
	for i, span := range [7][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}, {20, 23}} {
		n, ok := num(span[0], span[1])
		if !ok {
			return time.Time{}, false
		}
		v[i] = n
	}
	if v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 59 {
		return time.Time{}, false
	}
	t := time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], v[6]*int(time.Millisecond), time.UTC)
	if t.Day() != v[2] { // 31 February and the like: let time.Parse refuse it
		return time.Time{}, false
	}
	if t.Before(noDateBefore) {
		return time.Time{}, true
	}
	return t, true
}

// ParseTime parses a QRS date-time string; "" and the sentinel give the zero Time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	var (
		v   time.Time
		err error
	)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		v, err = time.Parse(layout, s)
		if err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid date-time %q: expected RFC 3339 such as %q", truncate(s, 40), "2024-05-01T00:00:00.000Z")
	}
	if v.Before(noDateBefore) {
		return time.Time{}, nil
	}
	return v.UTC(), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
