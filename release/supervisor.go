package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/stopping"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// Supervisor is the `run` command's engine: it owns each site's runner, its schedule, its
// runs and its delivery loop, and applies stops and reloads. The signal handling of the
// command line and the Windows service are thin layers that call Stop and Reload.
//
//   - Stop: no new DELETE starts; each DELETE already sent finishes under its own request
//     deadline, is read back and its outcome recorded (see Executor); the rest of the run
//     is recorded as deferred; spooled outcomes get one bounded delivery attempt
//     (Runner.FinalFlush); then Serve returns.
//   - Reload: Load reads and checks every file. A bad file keeps the running
//     configuration, logs why and records a failed reload (a
//     qlik_sense_license_release_reload point) for every running site. A good one takes
//     effect per site at its next run boundary: a run in progress finishes under the
//     configuration it started with. A reload never ends Serve.
//   - Sources: each reload loads every site anew, each with its own license source (its
//     clients, TLS files and secrets read again). Every source the supervisor no longer
//     uses is closed once (Source.Close: its idle connections): a replaced or dropped
//     site's when its run in flight, if any, has ended; a configuration that a later
//     reload superseded, or that a stop left, before its site took it, and one whose
//     runner cannot open, at once. The source a site runs on is never closed under it.
type Supervisor struct {
	// Load reads and checks the configuration files (LoadSites), at each reload.
	Load   func() ([]*Site, error)
	Log    *slog.Logger
	Stdout io.Writer // the audit log when audit_log = "stdout"
	// Now is the clock of schedules and runs (default time.Now).
	Now func() time.Time
	// DeliverEvery is how often spooled outcomes are retried between runs (default 30s).
	DeliverEvery time.Duration
	// WallCheck bounds how long a wait for a scheduled run goes without reading the wall
	// clock again (default 1 min): a timer counts on the monotonic clock, which stops while
	// the machine is suspended, so after a VM suspend a run would otherwise fire late by
	// the suspend's length. A run is due when the wall clock reaches its time: a wall
	// clock set back (an NTP correction) makes it wait, never fire early or twice.
	WallCheck time.Duration
	// Ran, when set, is called after every run (tests).
	Ran func(site string, sum audit.Summary, err error)
	// Reports, when set, mails each site's license report when it is due (reportjob.go).
	Reports *ReportJob
	// Started, when set, is called once Serve has started every site (each runner open),
	// before Serve waits for a stop or a reload: the Windows service reports RUNNING then,
	// not before a site that cannot start makes Serve return its error.
	Started func()

	once     sync.Once
	stop     chan struct{}
	reload   chan struct{}
	mu       sync.Mutex         // guards current: a site loop swaps its runner under it
	current  map[string]*Runner // each site's runner
	loops    map[string]*siteLoop
	loopDone sync.WaitGroup
}

type siteLoop struct {
	updates chan *Site // capacity 1, latest wins; nil removes the site
}

// discard drops a configuration the loop has not taken (if any), closing its source: it
// was loaded for the loop and will never run. Only the supervisor's goroutine sends on
// updates, so nothing arrives after.
func (l *siteLoop) discard() {
	select {
	case site := <-l.updates:
		if site != nil {
			site.Source.Close()
		}
	default:
	}
}

func (s *Supervisor) init() {
	s.once.Do(func() {
		s.stop = make(chan struct{})
		s.reload = make(chan struct{}, 1)
		s.current = map[string]*Runner{}
		s.loops = map[string]*siteLoop{}
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.DeliverEvery <= 0 {
			s.DeliverEvery = 30 * time.Second
		}
		if s.WallCheck <= 0 {
			s.WallCheck = time.Minute
		}
	})
}

// Stop asks Serve to stop (idempotent, safe from any goroutine).
func (s *Supervisor) Stop() {
	s.init()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
}

// Reload asks Serve to reload the configuration; requests that arrive while one waits are
// merged.
func (s *Supervisor) Reload() {
	s.init()
	select {
	case s.reload <- struct{}{}:
	default:
	}
}

// Serve runs the sites until Stop (or ctx's end, taken as a stop). It returns an error
// only when the sites cannot be started (every site's source closed then); after a stop it returns nil once every run has
// finished what was on the wire and every runner is closed.
func (s *Supervisor) Serve(ctx context.Context, sites []*Site) error {
	s.init()
	runners := make([]*Runner, 0, len(sites))
	for i, site := range sites {
		r, err := s.newRunner(site)
		if err != nil {
			for _, r := range runners {
				r.Close()
			}
			CloseSites(sites[i:]) // loaded, never started
			return fmt.Errorf("site %s: %w", site.Name, err)
		}
		runners = append(runners, r)
	}
	for _, r := range runners {
		s.startLoop(ctx, r, true)
	}
	s.Log.Info("started", "sites", len(runners))
	if s.Started != nil {
		s.Started()
	}
	for {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.stop:
			s.Log.Info("stopping: finishing the releases in flight")
			s.loopDone.Wait()
			for _, l := range s.loops { // configurations a loop stopped before taking
				l.discard()
			}
			s.Log.Info("stopped")
			return nil
		case <-s.reload:
			s.applyReload(ctx)
		}
	}
}

func (s *Supervisor) newRunner(site *Site) (*Runner, error) {
	r, err := NewRunner(site, s.Log, s.Stdout)
	if err != nil {
		return nil, err
	}
	r.Now = s.Now
	return r, nil
}

func (s *Supervisor) startLoop(ctx context.Context, r *Runner, atStart bool) {
	l := &siteLoop{updates: make(chan *Site, 1)}
	name := r.Site.Name
	s.loops[name] = l
	s.mu.Lock()
	s.current[name] = r
	s.mu.Unlock()
	s.loopDone.Add(1)
	go func() {
		defer s.loopDone.Done()
		s.siteLoop(ctx, r, atStart, l.updates)
	}()
}

// applyReload loads the files and hands each site its new configuration; a bad file
// changes nothing.
func (s *Supervisor) applyReload(ctx context.Context) {
	sites, err := s.Load()
	if err != nil {
		s.Log.Error("reload failed: keeping the running configuration", "err", err)
		s.recordReload(func(string) error { return err })
		return
	}
	next := map[string]*Site{}
	for _, site := range sites {
		next[site.Name] = site
	}
	for name, l := range s.loops {
		site := next[name] // nil: the site is gone from the files
		l.discard()        // latest wins: the one it replaces never runs
		l.updates <- site
		if site == nil {
			delete(s.loops, name)
		}
	}
	for _, site := range sites {
		if _, running := s.loops[site.Name]; running {
			continue
		}
		r, err := s.newRunner(site)
		if err != nil {
			s.Log.Error("reload: a new site cannot start", "site", site.Name, "err", err)
			site.Source.Close()
			continue
		}
		s.Log.Info("reload: new site", "site", site.Name)
		s.startLoop(ctx, r, false)
	}
	s.Log.Info("configuration reloaded: each site takes it at its next run", "sites", len(sites))
}

// recordReload writes a reload record to every running site's journal; errOf gives a
// site's error (nil: success).
func (s *Supervisor) recordReload(errOf func(site string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, r := range s.current {
		st := audit.ReloadStatus{Time: s.Now().UTC(), Site: name, Success: true}
		if err := errOf(name); err != nil {
			st.Success, st.Error = false, err.Error()
		}
		if err := r.trail.Reload(st); err != nil {
			r.Log.Warn("recording the reload failed", "err", err)
		}
	}
}

// siteLoop is one site's life: its runs on schedule, its delivery between runs, and its
// new configurations, taken between runs.
func (s *Supervisor) siteLoop(ctx context.Context, r *Runner, atStart bool, updates <-chan *Site) {
	defer func() {
		r.FinalFlush(ctx)
		s.mu.Lock()
		if s.current[r.Site.Name] == r { // not a loop of the same name started since
			delete(s.current, r.Site.Name)
		}
		s.mu.Unlock()
		r.Close()
	}()
	if atStart && r.Site.Settings.RunAtStart {
		s.runOnce(ctx, r, "start")
	}
	deliver := time.NewTicker(s.DeliverEvery)
	defer deliver.Stop()
	// The next scheduled run is set after each run and each new configuration only: a
	// delivery between runs must not move it (an @every schedule counts from when it is
	// asked, and was pushed back at every delivery for ever).
	// last is the time of the last scheduled run (see scheduleNext).
	var next *nextRun
	var last time.Time
	defer func() { next.stop() }()
	for {
		if stopping.Requested(s.stop) {
			return
		}
		var tick <-chan time.Time
		if st := r.Site.Settings; st.Schedule != nil {
			if next == nil {
				next = scheduleNext(st, s.Now(), last)
				r.Log.Info("next run", "at", next.at.Format(time.RFC3339))
			}
			tick = next.wait(s.Now(), s.WallCheck)
		}
		select {
		case <-s.stop:
		case site := <-updates:
			if site == nil {
				r.Log.Info("reload: the site is no longer configured; its runs end")
				s.recordSwap(r, nil, nil)
				return
			}
			nr, err := s.newRunner(site)
			if err != nil {
				r.Log.Error("reload failed for this site: keeping its running configuration", "err", err)
				site.Source.Close() // loaded, never used
				s.recordSwap(r, nil, err)
			} else {
				s.recordSwap(r, nr, nil)
				r.Close()
				r = nr
				r.Log.Info("configuration reloaded")
				next.stop() // its schedule may differ
				next = nil
			}
		case <-tick:
			now := s.Now()
			if !next.due(now) { // a wall-clock check before the run's time
				if now.Round(0).Before(next.from) {
					next = nil // the wall clock was set back: the run is set again from it
				}
				continue
			}
			last, next = next.at, nil
			s.runOnce(ctx, r, "schedule")
			s.reportDue(ctx, r)
		case <-deliver.C:
			s.reportDue(ctx, r)
			if r.Pending() > 0 {
				if n, err := r.Flush(ctx); err != nil {
					r.Log.Warn("delivering spooled outcomes failed", "delivered", n, "err", err)
				} else if n > 0 {
					r.Log.Info("spooled outcomes delivered", "count", n)
				}
			}
		}
	}
}

// recordSwap records a site's reload outcome and, on success, makes next its current
// runner. With next and err nil, the site is removed.
func (s *Supervisor) recordSwap(old, next *Runner, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := audit.ReloadStatus{Time: s.Now().UTC(), Site: old.Site.Name, Success: err == nil}
	j := old.trail
	if err != nil {
		st.Error = err.Error()
	}
	if next != nil {
		j = next.trail
		s.current[old.Site.Name] = next
	}
	if next != nil || err != nil {
		if werr := j.Reload(st); werr != nil {
			old.Log.Warn("recording the reload failed", "err", werr)
		}
	}
}

// nextRun is the wait for a scheduled run. It is due when the wall clock (the supervisor's
// clock) reaches its time, as cron has it: a timer counts on the monotonic clock, which
// stops while the machine is suspended and does not follow the wall clock when it is set
// back, so the wait wakes at least every WallCheck to read the wall clock again. After a
// suspend the run fires within that bound; after the wall clock was set back it waits for
// the wall clock, never firing early, and is set again from the corrected time.
type nextRun struct {
	from  time.Time // wall clock: when the run was set
	at    time.Time // wall clock, from the schedule
	timer *time.Timer
}

// setBackBound is how far back the wall clock may be set (an NTP correction) and still be
// taken for a small correction, after which a time that ran does not run again; a clock
// set back further was wrong and is believed, as cron does (three hours there as well).
const setBackBound = 3 * time.Hour

// scheduleNext sets the next scheduled run after now; after last, the time of the last
// scheduled run, when the wall clock has been set back by less than setBackBound since,
// so that no time runs twice.
func scheduleNext(st *siteconfig.Sidecar, now, last time.Time) *nextRun {
	from := now.Round(0)
	after := from
	if from.Before(last) && last.Sub(from) < setBackBound {
		after = last
	}
	return &nextRun{from: from, at: st.Schedule.Next(after.In(st.Location))}
}

// wait is the channel of the next wake-up: at the run's time by the wall clock now, or
// after bound at most. The timer is kept until it fires, so that deliveries between runs
// do not move it.
func (n *nextRun) wait(now time.Time, bound time.Duration) <-chan time.Time {
	if n.timer == nil {
		n.timer = time.NewTimer(min(n.at.Sub(now.Round(0)), bound))
	}
	return n.timer.C
}

// due reports, at a wake-up, whether the wall clock has reached the run's time; if not,
// the next wait sets a new timer.
func (n *nextRun) due(now time.Time) bool {
	n.timer = nil
	return !now.Round(0).Before(n.at)
}

func (n *nextRun) stop() {
	if n != nil && n.timer != nil {
		n.timer.Stop()
	}
}

func (s *Supervisor) runOnce(ctx context.Context, r *Runner, why string) {
	if stopping.Requested(s.stop) {
		return
	}
	r.Log.Info("run", "trigger", why)
	sum, err := r.Once(ctx, s.stop)
	switch {
	case errors.Is(err, ErrLocked):
		r.Log.Warn("run skipped: another run of this site is in progress", "err", err)
	case err != nil:
		r.Log.Error("run failed", "err", err)
	}
	if s.Ran != nil {
		s.Ran(r.Site.Name, sum, err)
	}
}

// LoadSites loads and checks the site files (each may hold several tables: sites and Qlik
// Cloud tenants side by side); two tables may not name the same site, nor share a file
// of the sidecar's (lock, audit log, in-flight and state files). On an error, the sources
// of the sites loaded so far are closed.
func LoadSites(paths []string, log *slog.Logger) (_ []*Site, err error) {
	var sites []*Site
	defer func() {
		if err != nil {
			CloseSites(sites)
		}
	}()
	names := map[string]string{}
	files := siteFiles{}
	for _, p := range paths {
		loaded, err := loadFile(p, log)
		if err != nil {
			return nil, err
		}
		for i, s := range loaded {
			if other, dup := names[s.Name]; dup {
				CloseSites(loaded[i:])
				return nil, fmt.Errorf("%s and %s both name site %q: give each file its own site", other, p, s.Name)
			}
			names[s.Name] = p
			sites = append(sites, s)
			if err := files.claim(s); err != nil {
				CloseSites(loaded[i+1:])
				return nil, err
			}
		}
	}
	return sites, nil
}
