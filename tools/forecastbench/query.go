package main

// queryCost is what the one history query costs.
type queryCost struct {
	PointsPerType    int     `json:"points_per_type"`
	Days             int     `json:"days"`
	QuerySeconds     float64 `json:"query_seconds"`
	ResponseBytes    int64   `json:"response_bytes"`
	PluginPeakRSSMiB float64 `json:"plugin_peak_rss_mib"`
}

func measureQuery(influxd, plugin string) (*queryCost, error) {
	return nil, nil
}
