package testkit

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// History is a test double of InfluxDB's /query answering the forecast's history read of
// one site (plugins/common/history): Series holds, per license type, its rows of time,
// held and pool (Daily makes them). A query without the filter on Site's tag is refused,
// so a test proves the read selects its site. It counts the queries.
type History struct {
	Site    string
	Series  map[string][][]any
	queries atomic.Int64
}

func (h *History) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.queries.Add(1)
	if !strings.Contains(r.URL.Query().Get("q"), `"site" = '`+h.Site+`'`) {
		http.Error(w, `{"error":"no site filter"}`, http.StatusBadRequest)
		return
	}
	var series []any
	for _, t := range slices.Sorted(maps.Keys(h.Series)) {
		series = append(series, map[string]any{"tags": map[string]string{"license_type": t}, "columns": []string{"time", "held", "pool"}, "values": h.Series[t]})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"results": []any{map[string]any{"series": series}}})
}

// Queries is how many queries the double answered.
func (h *History) Queries() int64 { return h.queries.Load() }

// Daily is the rows of days days ending on last's day (UTC): day d (0 the first) holds
// held(d) seats under pool.
func Daily(last time.Time, days int, pool float64, held func(d int) float64) [][]any {
	first := last.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1-days)
	rows := make([][]any, days)
	for d := range days {
		rows[d] = []any{first.AddDate(0, 0, d).Unix(), held(d), pool}
	}
	return rows
}
