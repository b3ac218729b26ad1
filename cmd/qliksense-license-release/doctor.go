package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/doctor"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/notices"
)

// diagnose runs the connection doctor on a site: the rights of every configured action are
// required — delete on the types it releases unless it only dry-runs, and with live
// right-sizing moves create on analyzer access, delete on professional (the move) and on
// analyzer (an undo) — and its InfluxDB output gets a test write.
func diagnose(ctx context.Context, w io.Writer, s *release.Site) bool {
	var needs doctor.Needs
	if !s.Policy.DryRun {
		for _, t := range qrs.AccessTypes {
			if _, on := s.Policy.Enabled(t); on {
				needs.Delete = append(needs.Delete, t)
			}
		}
	}
	if rs := s.RightsizeSettings; rs != nil && rs.MoveToAnalyzer && !rs.DryRun && !s.Policy.DryRun {
		needs.Create = append(needs.Create, qrs.Analyzer)
		for _, t := range []qrs.AccessType{qrs.Professional, qrs.Analyzer} {
			if !slices.Contains(needs.Delete, t) {
				needs.Delete = append(needs.Delete, t)
			}
		}
	}
	fmt.Fprintln(w, "  connection:")
	var rep *doctor.Report
	if s.Cloud != nil {
		rep = doctor.CheckTenant(ctx, s.Config, s.Cloud, needs, time.Now())
	} else {
		rep = doctor.Check(ctx, s.Config, s.Client, needs, time.Now())
	}
	if o := s.Settings.Output; o != nil {
		rep.Steps = append(rep.Steps, outputStep(ctx, s.Name, o))
	}
	if n := s.Settings.Notices; n != nil {
		rep.Steps = append(rep.Steps, mailStep(ctx, n.Mail))
	} else if rs, err := s.Config.ReportSettings(); err == nil && rs.Enabled {
		rep.Steps = append(rep.Steps, mailStep(ctx, rs.Mail)) // the report's mail server
	}
	rep.Print(w)
	return rep.OK()
}

// outputStep is the doctor's step of the site's InfluxDB output: one test write.
func outputStep(ctx context.Context, site string, o *siteconfig.OutputConfig) doctor.Step {
	s := doctor.Step{Name: "InfluxDB output"}
	detail, err := audit.CheckOutput(ctx, site, o)
	switch {
	case err == nil:
		s.OK, s.Detail = true, detail
	case errors.Is(err, audit.ErrOutputSettings):
		s.Detail, s.Fix = err.Error(), "check release.output: url, token, tls_ca"
	default:
		s.Detail = err.Error()
		s.Fix = "is InfluxDB (or Telegraf's influxdb_v2_listener) running at release.output.url, and do token, org and bucket (database/retention-policy for 1.8) exist and allow writing?"
	}
	return s
}

// mailStep is the doctor's step of the site's SMTP server: connect, STARTTLS,
// authenticate, quit.
func mailStep(ctx context.Context, cfg *siteconfig.Mail) doctor.Step {
	s := doctor.Step{Name: "SMTP server"}
	detail, err := notices.CheckMail(ctx, cfg)
	switch {
	case err == nil:
		s.OK, s.Detail = true, detail
	case errors.Is(err, notices.ErrMailSettings):
		s.Detail, s.Fix = err.Error(), "check release.mail"
	default:
		s.Detail = err.Error()
		s.Fix = `is the SMTP server reachable at release.mail.host and port; does it offer STARTTLS (or use tls = "tls" on 465); are username and password right; does tls_ca verify its certificate?`
	}
	return s
}
