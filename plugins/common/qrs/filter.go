package qrs

import (
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Quote returns s as a QRS filter string literal. QRS uses the backslash as its escape
// character inside single-quoted literals (a live site rejects OData's doubled quote and
// double quotes with "400 Cannot parse the expression"), so a backslash becomes \\ and a
// quote becomes \'. Everything else, non-ASCII included, is kept as it is; the caller
// percent-encodes the whole filter as a query parameter (url.Values does).
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		if r == '\'' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsGUID reports whether s has the 8-4-4-4-12 hexadecimal form of a QRS id.
func IsGUID(s string) bool { return guidPattern.MatchString(s) }

// Literal formats a value for the right-hand side of a filter term: GUIDs unquoted (as QRS
// and Qlik's own clients write them), anything else as a quoted string.
func Literal(s string) string {
	if IsGUID(s) {
		return s
	}
	return Quote(s)
}

// Eq is the filter term `property eq value`.
func Eq(property, value string) string {
	return property + " eq " + Literal(value)
}

// Since is the filter term `property ge 'T'` for a date-time property, T in QRS's wire
// form (WireLayout).
func Since(property string, t time.Time) string {
	return property + " ge '" + t.UTC().Format(WireLayout) + "'"
}

// And joins terms with "and", parenthesising each so that "or" inside one cannot leak.
func And(terms ...string) string { return join(" and ", terms) }

// Or joins terms with "or", parenthesising each.
func Or(terms ...string) string { return join(" or ", terms) }

func join(op string, terms []string) string {
	var nonEmpty []string
	for _, t := range terms {
		if t != "" {
			nonEmpty = append(nonEmpty, t)
		}
	}
	switch len(nonEmpty) {
	case 0:
		return ""
	case 1:
		return nonEmpty[0]
	}
	for i, t := range nonEmpty {
		nonEmpty[i] = "(" + t + ")"
	}
	return strings.Join(nonEmpty, op)
}

// DefaultMaxFilterBytes bounds the percent-encoded length of one batched filter. IIS, in
// front of QRS, refuses query strings over 2048 bytes by default (maxQueryString), and
// the xrfkey and other parameters need room too.
const DefaultMaxFilterBytes = 1800

// FirstBatch is how many of values (distinct, in order) the first filter of
// BatchEq(property, values, maxBytes) holds: at least one when values is not empty.
func FirstBatch(property string, values []string, maxBytes int) int {
	groups := groupEq(property, values, maxBytes)
	if len(groups) == 0 {
		return 0
	}
	return len(groups[0])
}

// BatchEq splits values into filters `property eq v1 or property eq v2 …` whose
// percent-encoded form stays within maxBytes each (DefaultMaxFilterBytes when maxBytes<=0).
// A single term longer than maxBytes still gets a filter of its own. Duplicates are kept
// once; order is preserved.
func BatchEq(property string, values []string, maxBytes int) []string {
	groups := groupEq(property, values, maxBytes)
	out := make([]string, len(groups))
	for i, terms := range groups {
		out[i] = strings.Join(terms, " or ")
	}
	return out
}

// groupEq is the batching rule of BatchEq: the `property eq v` terms of the distinct
// values, in order, grouped so that each group joined with " or " stays within maxBytes
// once percent-encoded.
func groupEq(property string, values []string, maxBytes int) [][]string {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFilterBytes
	}
	sepLen := len(url.QueryEscape(" or "))
	var (
		groups [][]string
		cur    []string
		curLen int
		seen   = make(map[string]struct{}, len(values))
	)
	for _, v := range values {
		if _, dup := seen[v]; dup {
			continue
		}
		seen[v] = struct{}{}
		term := Eq(property, v)
		termLen := len(url.QueryEscape(term))
		if len(cur) > 0 && curLen+sepLen+termLen > maxBytes {
			groups, cur, curLen = append(groups, cur), nil, 0
		}
		if len(cur) > 0 {
			curLen += sepLen
		}
		cur = append(cur, term)
		curLen += termLen
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups
}
