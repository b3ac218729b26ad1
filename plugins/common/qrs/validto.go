package qrs

import (
	"strings"
	"time"
)

// expiryLayouts are the forms "Valid To:" takes in keyDetails: Qlik's "2024-03-16  12:00:00
// AM" (two spaces), ISO dates and timestamps.
var expiryLayouts = []string{
	"2006-01-02 03:04:05 PM",
	time.RFC3339,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02",
	"1/2/2006 3:04:05 PM",
	"1/2/2006",
}

// ParseValidTo finds the "Valid To:" line of a license's keyDetails and parses its date.
// Only the first colon separates the label (Butler splits at every colon and so cuts
// "12:00:00 AM" to "2024-03-16  12"). raw is the text after the label; ok is false when
// the line is missing or the date unreadable.
func ParseValidTo(keyDetails string) (raw string, t time.Time, ok bool) {
	for _, line := range strings.Split(strings.ReplaceAll(keyDetails, "\r\n", "\n"), "\n") {
		label, value, found := strings.Cut(line, ":")
		if !found || !strings.EqualFold(strings.TrimSpace(label), "Valid To") {
			continue
		}
		raw = strings.TrimSpace(value)
		norm := strings.Join(strings.Fields(raw), " ")
		for _, l := range expiryLayouts {
			if v, err := time.Parse(l, norm); err == nil {
				return raw, v.UTC(), true
			}
		}
		return raw, time.Time{}, false
	}
	return "", time.Time{}, false
}
