package qliksense_license

import (
	"fmt"
	"sync"

	"github.com/influxdata/telegraf"

	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

// Several is the plugin of every [[inputs.qliksense_license]] table of one file — Qlik
// Sense sites and Qlik Cloud tenants side by side — run by one execd block: Init and
// Gather go to each. One table behaves exactly as the plugin alone.
//
// Several tables are gathered independently, as Telegraf gathers inputs: Gather starts
// each table's gather and returns without waiting, and a table whose previous gather is
// still running (a tenant or a site answering slowly, up to the gather's bound) is skipped
// with a warning rather than holding back the others. Stop (the shim calls it before it
// stops writing) and Wait wait for the gathers in flight.
type Several struct {
	Plugins []*QlikSenseLicense
	Log     telegraf.Logger `toml:"-"`

	mu      sync.Mutex
	running map[*QlikSenseLicense]bool
	wg      sync.WaitGroup
}

// LoadConfigs reads every table of a file (siteconfig.LoadAll: as strict as LoadConfig).
// The plugins are not initialised yet.
func LoadConfigs(path string) (*Several, error) {
	cs, err := siteconfig.LoadAll(path)
	if err != nil {
		return nil, err
	}
	s := &Several{}
	for _, c := range cs {
		q := New()
		q.Config = *c
		s.Plugins = append(s.Plugins, q)
	}
	return s, nil
}

// SampleConfig returns the documented configuration.
func (*Several) SampleConfig() string { return sampleConfig }

// Init initialises each plugin (an error names the table's site when the file has
// several) and checks that the tables name different sites.
func (s *Several) Init() error {
	for i, q := range s.Plugins {
		if s.Log != nil {
			q.Log = s.Log
		}
		if err := q.Init(); err != nil {
			if len(s.Plugins) > 1 {
				return fmt.Errorf("table %d (site %q): %w", i+1, q.Site, err)
			}
			return err
		}
	}
	return s.Distinct()
}

// Distinct checks that the tables, validated, name different sites: the site tag, the
// lock and the audit log are per site.
func (s *Several) Distinct() error {
	cs := make([]*siteconfig.Config, 0, len(s.Plugins))
	for _, q := range s.Plugins {
		cs = append(cs, &q.Config)
	}
	return siteconfig.Distinct(cs)
}

// Gather gathers one table as the plugin alone does; several at the same time, each
// independently (see Several).
func (s *Several) Gather(acc telegraf.Accumulator) error {
	if len(s.Plugins) == 1 {
		return s.Plugins[0].Gather(acc)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil {
		s.running = map[*QlikSenseLicense]bool{}
	}
	for _, q := range s.Plugins {
		if s.running[q] {
			if s.Log != nil {
				s.Log.Warnf("site %q: the previous gather is still running (at most %d × timeout): this one is skipped", q.Site, GatherBoundFactor)
			}
			continue
		}
		s.running[q] = true
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.running, q)
				s.mu.Unlock()
			}()
			if err := q.Gather(acc); err != nil {
				acc.AddError(err)
			}
		}()
	}
	return nil
}

// Wait waits for the gathers in flight.
func (s *Several) Wait() { s.wg.Wait() }

// Start is the shim's, for Stop: nothing to start.
func (*Several) Start(telegraf.Accumulator) error { return nil }

// Stop waits for the gathers in flight, which end within their bound, so that none adds
// a metric after the shim stopped writing.
func (s *Several) Stop() { s.Wait() }
