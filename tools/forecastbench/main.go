// Command forecastbench measures the forecast (make bench): (a) its accuracy by backtest
// on generated two-year histories with known futures, beside two naive baselines measured
// in the same run; (b) the cost of its one history query on two years of one-minute
// history per type in a real InfluxDB 1.8. It prints both and writes results/forecast.json.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
)

func main() {
	var (
		out    = flag.String("out", "results", "folder of forecast.json")
		series = flag.Int("series", 200, "generated histories of the backtest")
		influx = flag.String("influxd", "", "influxd binary for the query cost (empty: skip it)")
		plugin = flag.String("plugin", "", "the plugin binary (qliksense-license), whose peak RSS is measured during a forecast refresh")
	)
	flag.Parse()
	if err := run(*out, *series, *influx, *plugin); err != nil {
		fmt.Fprintln(os.Stderr, "forecastbench:", err)
		os.Exit(1)
	}
}

type report struct {
	Accuracy []accuracyRow `json:"accuracy"`
	Query    *queryCost    `json:"query,omitempty"`
}

func run(out string, series int, influxd, plugin string) error {
	rep := report{Accuracy: backtest(series)}
	printAccuracy(os.Stdout, rep.Accuracy, series)
	if influxd != "" {
		q, err := measureQuery(influxd, plugin)
		if err != nil {
			return err
		}
		rep.Query = q
		fmt.Printf("\nquery cost: %d points per type over %d days; one query: %.3f s, %d bytes; plugin peak RSS %.1f MiB\n",
			q.PointsPerType, q.Days, q.QuerySeconds, q.ResponseBytes, q.PluginPeakRSSMiB)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "forecast.json"), append(b, '\n'), 0o644)
}

func printAccuracy(w io.Writer, rows []accuracyRow, series int) {
	fmt.Fprintf(w, "backtest: %d generated two-year histories per family, a forecast every 14 days from day 180 (young: from the last 35 to 84 days); error of the predicted margin date, in days; buy-by (30 days of lead time) on the wrong side of today\n", series)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "family\thorizon\tmethod\tmean\tmedian\tp90\tbuy-by wrong side\tforecasts\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d d\t%s\t%.1f\t%.1f\t%.1f\t%.1f %%\t%d\t\n", r.Family, r.HorizonDays, r.Method, r.MeanError, r.MedianError, r.P90Error,
			100*r.WrongSide, r.Forecasts)
	}
	_ = tw.Flush()
}
