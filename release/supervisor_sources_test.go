package release_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/source"
)

// countedSource is a site's license source that counts its Close calls.
type countedSource struct {
	source.Source
	closes atomic.Int32
}

func (c *countedSource) Close() {
	c.closes.Add(1)
	c.Source.Close()
}

// loadedSources wraps the source of every site a supervisor loads — at the start and at
// each reload — in a countedSource, in load order.
type loadedSources struct {
	mu  sync.Mutex
	all []*countedSource
}

func (l *loadedSources) wrap(load func() ([]*release.Site, error)) func() ([]*release.Site, error) {
	return func() ([]*release.Site, error) {
		sites, err := load()
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, s := range sites {
			c := &countedSource{Source: s.Source}
			s.Source = c
			l.all = append(l.all, c)
		}
		return sites, err
	}
}

// closes is how many times each source loaded so far was closed, in load order.
func (l *loadedSources) closes() []int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int32, len(l.all))
	for i, c := range l.all {
		out[i] = c.closes.Load()
	}
	return out
}

// Every license source the supervisor no longer uses is closed exactly once, never while
// a run of it is in flight, never the one a site runs on. The file is unchanged by the
// first reloads, yet a reload builds the site anew (its client, TLS files and secrets
// read again) and the site takes it at its next run boundary: a configuration superseded
// by a second reload before its site took it (never used) is closed at once; the one the
// run in flight was using once that run has ended; the site goes on with the last one,
// open. A configuration whose runner cannot open is closed at once, the site going on
// with its own, open. A site dropped before its configuration ever ran is closed when it
// is dropped; nothing is closed twice at the stop.
func TestSupervisorClosesEverySourceItNoLongerUses(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	site := emulator.Generate(emulator.SiteSpec{Seed: 74, Users: 200, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	srv.Faults.Configure(emulator.FaultConfig{Latency: 300 * time.Millisecond, Method: http.MethodDelete})
	srcs := &loadedSources{}
	var drop, badAudit atomic.Bool
	auditDir := filepath.Join(t.TempDir(), "a-folder")
	require.NoError(t, os.Mkdir(auditDir, 0o750))
	atRunEnd := make(chan []int32, 4)
	s := startSupervisorWith(t, srv, withKeys("max_releases_per_run = 3", "run_at_start = true", `schedule = "@every 1h"`), func(sup *release.Supervisor) {
		load := sup.Load
		sup.Load = srcs.wrap(func() ([]*release.Site, error) {
			if drop.Load() {
				return nil, nil // the site is gone from the files
			}
			sites, err := load()
			if err == nil && badAudit.Load() {
				sites[0].Settings.AuditLog = auditDir // loads, but its runner cannot open
			}
			return sites, err
		})
		ran := sup.Ran
		sup.Ran = func(site string, sum audit.Summary, err error) {
			atRunEnd <- srcs.closes()
			ran(site, sum, err)
		}
	})

	// Two reloads while the first run's DELETEs are in flight: the first reload's
	// configuration, superseded before the site took it, is closed at once.
	waitUntil(t, "the first DELETE", func() bool { return srv.Log.Arrived(http.MethodDelete, "") == 1 })
	s.sup.Reload()
	waitUntil(t, "the first reload", func() bool { return len(srcs.closes()) == 2 })
	s.sup.Reload()
	waitUntil(t, "the superseded configuration closed", func() bool { return len(srcs.closes()) == 3 && srcs.closes()[1] == 1 })

	// The run ends with its source open; the site then takes the last configuration and
	// the source of the run is closed, once.
	sum := s.nextRun(t)
	require.Equal(t, 3, sum.Released+sum.Quarantined, "the run in flight finished")
	require.Equal(t, int32(0), (<-atRunEnd)[0], "the source of a run in flight is not closed")
	waitUntil(t, "the replaced source closed", func() bool { return srcs.closes()[0] == 1 })
	require.Equal(t, []int32{1, 1, 0}, srcs.closes(), "the site goes on with the last configuration's source, open")

	// A configuration whose runner cannot open: closed at once; the site goes on with its
	// own source, open.
	badAudit.Store(true)
	s.sup.Reload()
	waitUntil(t, "the failed swap", func() bool { return strings.Contains(s.logs.String(), "reload failed for this site") })
	// The loop logs the failure before it closes the configuration's source: wait for
	// the close, not the log line alone.
	waitUntil(t, "the failed configuration's source closed", func() bool { c := srcs.closes(); return len(c) == 4 && c[3] == 1 })
	require.Equal(t, []int32{1, 1, 0, 1}, srcs.closes())

	// The site dropped before its configuration ever ran: its source closed.
	drop.Store(true)
	s.sup.Reload()
	waitUntil(t, "the dropped site's source closed", func() bool { return srcs.closes()[2] == 1 })

	s.stopAndWait(t)
	require.Equal(t, []int32{1, 1, 1, 1}, srcs.closes(), "every source closed exactly once")
	require.Equal(t, 3, srv.Log.Count(http.MethodDelete, ""), "one run only")
}

// A stop while a run is in flight and a reloaded configuration waits for the run to end:
// the run finishes with its source open; then both sources are closed, once each — the
// one the site never took too.
func TestSupervisorStopClosesAConfigurationNotTaken(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	site := emulator.Generate(emulator.SiteSpec{Seed: 75, Users: 200, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	srv.Faults.Configure(emulator.FaultConfig{Latency: 300 * time.Millisecond, Method: http.MethodDelete})
	srcs := &loadedSources{}
	atRunEnd := make(chan []int32, 2)
	s := startSupervisorWith(t, srv, withKeys("max_releases_per_run = 3", "run_at_start = true", `schedule = "@every 1h"`), func(sup *release.Supervisor) {
		sup.Load = srcs.wrap(sup.Load)
		ran := sup.Ran
		sup.Ran = func(site string, sum audit.Summary, err error) {
			atRunEnd <- srcs.closes()
			ran(site, sum, err)
		}
	})
	waitUntil(t, "the first DELETE", func() bool { return srv.Log.Arrived(http.MethodDelete, "") == 1 })
	s.sup.Reload()
	waitUntil(t, "the reload", func() bool { return len(srcs.closes()) == 2 })
	s.stopAndWait(t)
	require.Equal(t, []int32{0, 0}, <-atRunEnd, "nothing closed under the run in flight")
	require.Equal(t, []int32{1, 1}, srcs.closes(), "both closed once: the one the run used, and the one the site never took")
}
