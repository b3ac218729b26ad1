package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// The SDK ships no InfluxDB query type: InfluxQuery is the part of the query model of
// Grafana's InfluxDB data source (InfluxQL, raw mode) that these files use, registered with
// the SDK as its custom-query example shows, so that strict decoding knows it and rejects
// any other field.

// influxPlugin is the plugin id of Grafana's InfluxDB data source.
const influxPlugin = "influxdb"

// Result formats of an InfluxQL query.
const (
	timeSeries = "time_series"
	tableRows  = "table"
)

// InfluxQuery is a raw InfluxQL query of a panel or of an alert rule.
type InfluxQuery struct {
	RefId        string                `json:"refId"`
	Datasource   *common.DataSourceRef `json:"datasource,omitempty"`
	Hide         *bool                 `json:"hide,omitempty"`
	RawQuery     bool                  `json:"rawQuery"`
	ResultFormat string                `json:"resultFormat"`
	Query        string                `json:"query"`
	Alias        string                `json:"alias,omitempty"`
}

var _ variants.Dataquery = InfluxQuery{}

// ImplementsDataqueryVariant marks InfluxQuery as a data query for the SDK.
func (InfluxQuery) ImplementsDataqueryVariant() {}

// DataqueryType is the data source plugin the query is for.
func (InfluxQuery) DataqueryType() string { return influxPlugin }

// Equals compares two queries field by field.
func (q InfluxQuery) Equals(other variants.Dataquery) bool {
	o, ok := other.(InfluxQuery)
	if !ok {
		return false
	}
	same := func(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	if (q.Datasource == nil) != (o.Datasource == nil) ||
		q.Datasource != nil && (!same(q.Datasource.Type, o.Datasource.Type) || !same(q.Datasource.Uid, o.Datasource.Uid)) {
		return false
	}
	if (q.Hide == nil) != (o.Hide == nil) || q.Hide != nil && *q.Hide != *o.Hide {
		return false
	}
	return q.RefId == o.RefId && q.RawQuery == o.RawQuery && q.ResultFormat == o.ResultFormat && q.Query == o.Query && q.Alias == o.Alias
}

// Validate checks what Grafana needs to run the query as written: a refId, raw mode, a
// known result format, the query itself and, when given, an InfluxDB data source.
func (q InfluxQuery) Validate() error {
	var errs []error
	if q.RefId == "" {
		errs = append(errs, errors.New("refId: required"))
	}
	if !q.RawQuery {
		errs = append(errs, errors.New("rawQuery: must be true (the query is InfluxQL as written)"))
	}
	if q.ResultFormat != timeSeries && q.ResultFormat != tableRows {
		errs = append(errs, fmt.Errorf("resultFormat: %q, expected %q or %q", q.ResultFormat, timeSeries, tableRows))
	}
	if q.Query == "" {
		errs = append(errs, errors.New("query: required"))
	}
	if d := q.Datasource; d != nil && (d.Type == nil || *d.Type != influxPlugin) {
		errs = append(errs, fmt.Errorf("datasource.type: expected %q", influxPlugin))
	}
	return errors.Join(errs...)
}

// influxQueryFields are InfluxQuery's JSON names, which Grafana reads case by case (Go's
// decoding would take "resultformat" for "resultFormat").
var influxQueryFields = []string{"refId", "datasource", "hide", "rawQuery", "resultFormat", "query", "alias"}

// strictInfluxQuery decodes a query, refusing unknown fields, then validates it.
func strictInfluxQuery(raw []byte) (variants.Dataquery, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("InfluxQL query: %w", err)
	}
	for k := range fields {
		if !slices.Contains(influxQueryFields, k) {
			return nil, fmt.Errorf("InfluxQL query: unknown field %q", k)
		}
	}
	var q InfluxQuery
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return nil, fmt.Errorf("InfluxQL query: %w", err)
	}
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("InfluxQL query %s: %w", q.RefId, err)
	}
	return q, nil
}

func influxVariant() variants.DataqueryConfig {
	return variants.DataqueryConfig{
		Identifier: influxPlugin,
		DataqueryUnmarshaler: func(raw []byte) (variants.Dataquery, error) {
			var q InfluxQuery
			err := json.Unmarshal(raw, &q)
			return q, err
		},
		StrictDataqueryUnmarshaler: strictInfluxQuery,
	}
}

// registerPlugins tells the SDK's runtime (a process-wide registry of the SDK) about its
// own panels and queries and about InfluxQuery. Registering again changes nothing.
func registerPlugins() {
	plugins.RegisterDefaultPlugins()
	cog.NewRuntime().RegisterDataqueryVariant(influxVariant())
}

// influxQueryBuilder builds an InfluxQuery where the SDK expects a data query.
type influxQueryBuilder struct{ q InfluxQuery }

var _ cog.Builder[variants.Dataquery] = (*influxQueryBuilder)(nil)

func (b *influxQueryBuilder) Build() (variants.Dataquery, error) {
	if err := b.q.Validate(); err != nil {
		return nil, cog.MakeBuildErrors("InfluxQuery", err)
	}
	return b.q, nil
}

// influxQL is a query of the data source ds.
func influxQL(ds common.DataSourceRef, refID, format, query, alias string) *influxQueryBuilder {
	return &influxQueryBuilder{InfluxQuery{RefId: refID, Datasource: &ds, RawQuery: true, ResultFormat: format, Query: query, Alias: alias}}
}
