// Command grafana writes the Grafana dashboard and alert rules of grafana/ (`make grafana`),
// built with Grafana's own foundation SDK (github.com/grafana/grafana-foundation-sdk/go,
// Apache-2.0; Grafana itself stays out of the build). Its test fails when the committed
// files differ from what it writes, and when the SDK's strict decoding rejects them.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "grafana", "the folder to write the dashboard and the alert rules into")
	flag.Parse()
	files, err := generate()
	if err == nil {
		for _, f := range files {
			if err = os.WriteFile(filepath.Join(*dir, f.name), f.content, 0o644); err != nil {
				break
			}
			fmt.Println("wrote", filepath.Join(*dir, f.name))
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "grafana:", err)
		os.Exit(1)
	}
}

type file struct {
	name    string
	content []byte
}

// generate builds the files of grafana/.
func generate() ([]file, error) {
	registerPlugins()
	d, err := buildDashboard()
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	dashboardJSON, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	alerts, err := alertsYAML()
	if err != nil {
		return nil, err
	}
	return []file{{dashboardFile, append(dashboardJSON, '\n')}, {alertsFile, alerts}}, nil
}
