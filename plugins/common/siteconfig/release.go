package siteconfig

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/influxdata/telegraf/config"
	commontls "github.com/influxdata/telegraf/plugins/common/tls"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
)

// ReleaseConfig is the [inputs.qliksense_license.release] table: the site's release policy
// (used by the plugin's reclaimable metrics and by the sidecar) and the settings only the
// release sidecar uses, which the sidecar validates when it loads the file.
type ReleaseConfig struct {
	policy.Config

	// Schedule of the sidecar's runs: a cron expression ("0 3 * * *", minute hour
	// day-of-month month day-of-week) or "@every 24h". Empty: no scheduled runs.
	Schedule string `toml:"schedule"`
	// TimeZone of the cron expression, an IANA name such as "Europe/Stockholm" (default:
	// the host's zone).
	TimeZone string `toml:"time_zone"`
	// RunAtStart runs once as soon as the sidecar starts.
	RunAtStart bool `toml:"run_at_start"`
	// Pacing is the minimum time between two releases (default 0: none).
	Pacing config.Duration `toml:"pacing"`
	// Concurrency is how many releases may be in flight (default 1: one after another).
	Concurrency int `toml:"concurrency"`
	// RecheckMaxAge bounds how old the re-check of an allocation may be when its DELETE
	// starts (default 10s). Releases are re-checked in batches; a batch whose DELETEs
	// cannot all start in time is re-checked in smaller parts.
	RecheckMaxAge config.Duration `toml:"recheck_max_age"`
	// SettleGrace is how long after a change request (a DELETE, a move's POST) whose
	// answer was ambiguous a read showing the old state still proves nothing: the change
	// stays open until a read after it (default: the client's timeout; 1s to 1h).
	SettleGrace config.Duration `toml:"settle_grace"`
	// StateDir holds the lock file, the in-flight notes and, by default, the audit log
	// (default: a folder under the system's state directory, see the README).
	StateDir string `toml:"state_dir"`
	// LockFile serialises runs of this site across processes (default: <state_dir>/<site>.lock).
	LockFile string `toml:"lock_file"`
	// AuditLog receives one JSON line per outcome: a file path, or "stdout"
	// (default: <state_dir>/<site>-audit.jsonl).
	AuditLog string `toml:"audit_log"`

	Output OutputConfig `toml:"output"`
	Notice NoticeConfig `toml:"notice"`
	Mail   MailConfig   `toml:"mail"`
}

// settleGrace validates settle_grace; its default is the client's timeout.
func (r *ReleaseConfig) settleGrace(timeout time.Duration) (time.Duration, error) {
	d := time.Duration(r.SettleGrace)
	if d == 0 {
		return timeout, nil
	}
	if d < time.Second || d > time.Hour {
		return 0, fmt.Errorf("release.settle_grace = %q: expected a duration from 1s to 1h", d)
	}
	return d, nil
}

// NoticeConfig is [inputs.qliksense_license.release.notice]: how users are told before
// their allocation is released (the types' notice_days turn it on).
type NoticeConfig struct {
	// WithoutEmail: what happens to a release candidate whose user has no email attribute
	// when its type has notice_days: "keep" (default) or "release" (without notice).
	WithoutEmail string `toml:"without_email"`
	// Subject is a text/template for the notice's subject (default built in).
	Subject string `toml:"subject"`
	// TextTemplate and HTMLTemplate are files with a text/template (plain body) and an
	// html/template (HTML body) replacing the built-in English ones.
	TextTemplate string `toml:"text_template"`
	HTMLTemplate string `toml:"html_template"`
	// DigestTo: license administrators who get a digest after each run that noticed or
	// released something, or has releases coming in the next 7 days. Empty: no digest.
	DigestTo []string `toml:"digest_to"`
}

// MailConfig is [inputs.qliksense_license.release.mail]: the SMTP server notices and
// digests go through.
type MailConfig struct {
	// Host and Port of the SMTP server (port default: 587 with STARTTLS, 465 with TLS).
	Host string `toml:"host"`
	Port int    `toml:"port"`
	// TLS: "starttls" (default; the server must offer it), "tls" (implicit TLS, SMTPS) or
	// "none" (plain text, refused with a username).
	TLS string `toml:"tls"`
	// Username and Password authenticate (PLAIN or LOGIN, whichever the server offers
	// first, over TLS only). The password is a secret: "@{store:key}" or "${ENV}".
	Username string        `toml:"username"`
	Password config.Secret `toml:"password"`
	// From and ReplyTo of every message, e.g. "Qlik Sense licenses <qlik@example.com>".
	From    string `toml:"from"`
	ReplyTo string `toml:"reply_to"`
	// RateLimit is the minimum time between two messages (default 1s).
	RateLimit config.Duration `toml:"rate_limit"`
	// Timeout of one message's connection and delivery (default 30s).
	Timeout config.Duration `toml:"timeout"`
	// Telegraf's client TLS settings, as for QRS (see ClientTLS): tls_ca verifies the
	// server's certificate, tls_cert and tls_key present a client certificate,
	// insecure_skip_verify turns verification off.
	commontls.ClientConfig
}

// OutputConfig is [inputs.qliksense_license.release.output]: where release outcomes go as
// metrics, through influxdb-client-go to InfluxDB 2.x, InfluxDB 1.8+ or Telegraf's
// influxdb_v2_listener.
type OutputConfig struct {
	// URL of the InfluxDB (or listener); empty: outcomes go to the audit log only.
	URL string `toml:"url"`
	// Token: an InfluxDB 2.x token, "user:password" for InfluxDB 1.8, "" without auth.
	Token config.Secret `toml:"token"`
	// Org: the 2.x organisation; empty for 1.8 and the Telegraf listener.
	Org string `toml:"org"`
	// Bucket: the 2.x bucket, or "database/retention-policy" for 1.8.
	Bucket string `toml:"bucket"`
	// Timeout of one write (default 10s).
	Timeout config.Duration `toml:"timeout"`
	// Tags added to every outcome point.
	Tags map[string]string `toml:"tags"`
	// Telegraf's client TLS settings for an https URL, as for QRS (see ClientTLS).
	commontls.ClientConfig
}

// TLSConfig is the TLS configuration towards the output.
func (o *OutputConfig) TLSConfig() (*tls.Config, error) {
	cfg, err := ClientTLS(o.ClientConfig)
	if err != nil {
		return nil, fmt.Errorf("release.output: %w", err)
	}
	return cfg, nil
}
