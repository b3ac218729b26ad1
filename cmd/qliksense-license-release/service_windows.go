//go:build windows

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release"
)

const (
	serviceName    = "qliksense-license-release"
	serviceDisplay = "Qlik Sense license release"
	serviceDesc    = "Releases unused Qlik Sense license allocations on a schedule (qliksense-license-release run)."
)

// serviceSupported: the service commands and -service exist on Windows.
const serviceSupported = true

// isWindowsService is the fallback for a service installed before -service existed:
// svc.IsWindowsService judges by the parent process, which Wine's service manager (and
// some Windows setups) do not look like.
func isWindowsService() bool {
	ok, err := svc.IsWindowsService()
	return err == nil && ok
}

func defaultServiceLog() string {
	return filepath.Join(siteconfig.DefaultStateDir(), "qliksense-license-release.log")
}

// handler runs the supervisor under the service control manager: Stop and Shutdown stop
// it (the DELETEs in flight finish and are read back before the service reports
// stopped, with the stop's progress reported every few seconds); ParamChange
// (`sc control qliksense-license-release paramchange`) reloads the configuration, as
// SIGHUP does elsewhere.
type handler struct {
	sup   *release.Supervisor
	serve func() int
}

// stopWaitHint is what the service manager is told to wait between progress reports
// while the service stops.
const stopWaitHint = 30 * time.Second

func (h handler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	done := make(chan int, 1)
	go func() { done <- h.serve() }()
	running := svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown | svc.AcceptParamChange}
	status <- running
	for {
		select {
		case code := <-done:
			return false, uint32(code)
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.ParamChange:
				h.sup.Reload()
				status <- running
			case svc.Stop, svc.Shutdown:
				h.sup.Stop()
				checkpoint := uint32(1)
				status <- svc.Status{State: svc.StopPending, CheckPoint: checkpoint, WaitHint: uint32(stopWaitHint / time.Millisecond)}
				tick := time.NewTicker(stopWaitHint / 3)
				for {
					select {
					case code := <-done:
						tick.Stop()
						return false, uint32(code)
					case <-tick.C:
						checkpoint++
						status <- svc.Status{State: svc.StopPending, CheckPoint: checkpoint, WaitHint: uint32(stopWaitHint / time.Millisecond)}
					}
				}
			}
		}
	}
}

func runAsService(ctx context.Context, paths []string, sites []*release.Site, stdout io.Writer, log *slog.Logger) int {
	sup := supervisor(paths, stdout, log)
	h := handler{sup: sup, serve: func() int {
		if err := sup.Serve(ctx, sites); err != nil {
			log.Error("starting failed", "err", err)
			return 1
		}
		return 0
	}}
	if err := svc.Run(serviceName, h); err != nil {
		log.Error("running as a Windows service failed", "err", err)
		return 1
	}
	return 0
}

// serviceCommand installs, removes, starts, stops or reloads the Windows service.
func serviceCommand(cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qliksense-license-release "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var configs []string
	fs.Func("config", "a site's configuration file (repeat for several sites)", func(s string) error {
		abs, err := filepath.Abs(s)
		configs = append(configs, abs)
		return err
	})
	logFile := fs.String("log-file", "", "the service's log file (default: "+defaultServiceLog()+")")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	m, err := mgr.Connect()
	if err != nil {
		fmt.Fprintf(stderr, "connecting to the service manager (run as Administrator): %v\n", err)
		return 1
	}
	defer m.Disconnect()
	if err := doService(m, cmd, configs, *logFile); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: done\n", cmd)
	return 0
}

func doService(m *mgr.Mgr, cmd string, configs []string, logFile string) error {
	switch cmd {
	case "install":
		if len(configs) == 0 {
			return errors.New("-config is required: the site files the service runs")
		}
		for _, c := range configs {
			if _, err := release.LoadSite(c, slog.New(slog.DiscardHandler)); err != nil {
				return fmt.Errorf("not installing with an invalid configuration: %w", err)
			}
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		args := []string{"run", "-service"}
		for _, c := range configs {
			args = append(args, "-config", c)
		}
		if logFile != "" {
			args = append(args, "-log-file", logFile)
		}
		s, err := m.CreateService(serviceName, exe, mgr.Config{
			DisplayName: serviceDisplay, Description: serviceDesc, StartType: mgr.StartAutomatic,
		}, args...)
		if err != nil {
			return err
		}
		defer s.Close()
		return s.SetRecoveryActions([]mgr.RecoveryAction{{Type: mgr.ServiceRestart, Delay: 30 * time.Second}}, 86400)
	}
	s, err := m.OpenService(serviceName)
	if err != nil {
		return fmt.Errorf("service %s: %w", serviceName, err)
	}
	defer s.Close()
	switch cmd {
	case "uninstall":
		return s.Delete()
	case "start":
		return s.Start()
	case "reload":
		_, err := s.Control(svc.ParamChange)
		return err
	case "stop":
		st, err := s.Control(svc.Stop)
		if err != nil {
			return err
		}
		for deadline := time.Now().Add(3 * time.Minute); st.State != svc.Stopped && time.Now().Before(deadline); {
			time.Sleep(500 * time.Millisecond)
			if st, err = s.Query(); err != nil {
				return err
			}
		}
		if st.State != svc.Stopped {
			return errors.New("the service did not stop within three minutes")
		}
		return nil
	}
	return fmt.Errorf("unknown service command %q", strings.TrimSpace(cmd))
}
