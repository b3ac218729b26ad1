// Package butler converts the license parts of a Butler configuration (YAML) into this
// project's TOML: the connection (Butler.configQRS, Butler.cert), the release policy
// (Butler.qlikSenseLicense.licenseRelease) and its InfluxDB destination (Butler.influxDb).
// Where the meaning differs from Butler's, the output says so in a NOTE comment. Secrets
// are never copied: they become environment variables.
package butler

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// config is the part of Butler's YAML this converter reads.
type config struct {
	Butler butlerSection `yaml:"Butler"`
}

type butlerSection struct {
	ConfigQRS struct {
		Authentication string `yaml:"authentication"`
		Host           string `yaml:"host"`
		UseSSL         *bool  `yaml:"useSSL"`
		Port           int    `yaml:"port"`
		Headers        struct {
			Static []nameValue `yaml:"static"`
		} `yaml:"headers"`
		RejectUnauthorized *bool `yaml:"rejectUnauthorized"`
	} `yaml:"configQRS"`
	Cert struct {
		ClientCert    string `yaml:"clientCert"`
		ClientCertKey string `yaml:"clientCertKey"`
		ClientCertCA  string `yaml:"clientCertCA"`
	} `yaml:"cert"`
	InfluxDB         influxDB `yaml:"influxDb"`
	QlikSenseLicense struct {
		LicenseRelease *licenseRelease `yaml:"licenseRelease"`
	} `yaml:"qlikSenseLicense"`
}

type influxDB struct {
	Enable   bool   `yaml:"enable"`
	HostIP   string `yaml:"hostIP"`
	HostPort int    `yaml:"hostPort"`
	Version  int    `yaml:"version"`
	V1Config struct {
		Auth struct {
			Enable   bool   `yaml:"enable"`
			Username string `yaml:"username"`
		} `yaml:"auth"`
		DBName          string `yaml:"dbName"`
		RetentionPolicy struct {
			Name string `yaml:"name"`
		} `yaml:"retentionPolicy"`
	} `yaml:"v1Config"`
	V2Config struct {
		Org    string `yaml:"org"`
		Bucket string `yaml:"bucket"`
	} `yaml:"v2Config"`
	Tag struct {
		Static []nameValue `yaml:"static"`
	} `yaml:"tag"`
}

type licenseRelease struct {
	Enable       bool         `yaml:"enable"`
	DryRun       *bool        `yaml:"dryRun"`
	Frequency    string       `yaml:"frequency"`
	NeverRelease neverRelease `yaml:"neverRelease"`
	LicenseType  map[string]struct {
		Enable               bool    `yaml:"enable"`
		ReleaseThresholdDays float64 `yaml:"releaseThresholdDays"`
	} `yaml:"licenseType"`
	Destination struct {
		InfluxDB struct {
			Enable bool `yaml:"enable"`
			Tag    struct {
				Static []nameValue `yaml:"static"`
			} `yaml:"tag"`
		} `yaml:"influxDb"`
	} `yaml:"destination"`
}

type neverRelease struct {
	User []struct {
		UserDir string `yaml:"userDir"`
		UserID  string `yaml:"userId"`
	} `yaml:"user"`
	Tag               []string    `yaml:"tag"`
	CustomProperty    []nameValue `yaml:"customProperty"`
	UserDirectory     []string    `yaml:"userDirectory"`
	Inactive          string      `yaml:"inactive"`
	Blocked           string      `yaml:"blocked"`
	RemovedExternally string      `yaml:"removedExternally"`
}

type nameValue struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// Convert reads a Butler YAML configuration and writes the equivalent TOML. source names
// the input in the header comment.
func Convert(r io.Reader, w io.Writer, source string) error {
	var c config
	dec := yaml.NewDecoder(r)
	if err := dec.Decode(&c); err != nil {
		return fmt.Errorf("reading Butler's configuration: %w", err)
	}
	b := c.Butler
	if b.ConfigQRS.Host == "" {
		return fmt.Errorf("Butler.configQRS.host is missing: is %s a Butler configuration?", source)
	}
	if b.QlikSenseLicense.LicenseRelease == nil {
		return fmt.Errorf("Butler.qlikSenseLicense.licenseRelease is missing in %s", source)
	}
	rel := b.QlikSenseLicense.LicenseRelease
	o := &out{w: w}
	o.line("# Converted from Butler's configuration %s by qliksense-license-release convert-butler-config.", source)
	o.line("# Lines marked NOTE are where this project behaves differently from Butler: read them.")
	o.line("# The plugin (Telegraf's [[inputs.execd]]) and the sidecar both read this file.")
	o.connection(&b)
	o.runs(rel)
	o.types(rel)
	if err := o.protect(&rel.NeverRelease); err != nil {
		return err
	}
	o.output(&b.InfluxDB, rel)
	return o.err
}

// connection writes the plugin's table: QRS's address, the acting user and certificates.
func (o *out) connection(b *butlerSection) {
	o.line("[[inputs.qliksense_license]]")
	o.kv(2, "site", quote(b.ConfigQRS.Host))
	scheme := "https"
	if b.ConfigQRS.UseSSL != nil && !*b.ConfigQRS.UseSSL {
		o.line("  # NOTE: Butler's useSSL: false is not supported; QRS is always reached over HTTPS.")
	}
	port := b.ConfigQRS.Port
	if port == 0 {
		port = 4242
	}
	o.kv(2, "server", quote(fmt.Sprintf("%s://%s:%d", scheme, b.ConfigQRS.Host, port)))
	if a := b.ConfigQRS.Authentication; a != "" && a != "certificates" {
		o.line("  # NOTE: Butler's authentication %q is not known here; certificates are used.", a)
	}
	for _, h := range b.ConfigQRS.Headers.Static {
		switch {
		case strings.EqualFold(h.Name, "X-Qlik-User"):
			o.kv(2, "qlik_user", quote(h.Value))
		default:
			o.line("  # NOTE: Butler's static header %q is not sent; only X-Qlik-User is (qlik_user).", h.Name)
		}
	}
	o.kv(2, "tls_ca", quote(b.Cert.ClientCertCA))
	o.kv(2, "tls_cert", quote(b.Cert.ClientCert))
	o.kv(2, "tls_key", quote(b.Cert.ClientCertKey))
	if b.ConfigQRS.RejectUnauthorized != nil && !*b.ConfigQRS.RejectUnauthorized {
		o.line("  # NOTE: Butler had rejectUnauthorized: false. Here the server certificate is verified")
		o.line("  # against tls_ca (root.pem from the QMC export) by default; turn that off only if you must.")
		o.line("  # insecure_skip_verify = true")
	}

}

// runs writes the release table's own keys: dry run, cap and schedule.
func (o *out) runs(rel *licenseRelease) {
	o.line("")
	o.line("  [inputs.qliksense_license.release]")
	dryRun := true
	if rel.DryRun != nil {
		dryRun = *rel.DryRun
	}
	if !rel.Enable {
		o.line("    # NOTE: Butler's licenseRelease.enable was false: dry_run stays on until you turn it off;")
		o.line("    # the plan and the plugin's reclaimable metrics already show what would be released.")
		dryRun = true
	}
	o.kv(4, "dry_run", strconv.FormatBool(dryRun))
	o.line("    # Butler had no cap; this one releases at most 50 per run, most inactive first.")
	o.kv(4, "max_releases_per_run", "50")
	sched, note := schedule(rel.Frequency)
	if note != "" {
		o.line("    # NOTE: %s", note)
	}
	if sched != "" {
		o.kv(4, "schedule", quote(sched))
		o.line("    # later.js, Butler's scheduler, works in UTC.")
		o.kv(4, "time_zone", quote("UTC"))
	}
	o.line("    # Butler also runs once at start-up.")
	o.kv(4, "run_at_start", "true")

}

// types writes a table per license type Butler releases.
func (o *out) types(rel *licenseRelease) {
	for _, t := range []struct{ butler, here string }{{"professional", "professional"}, {"analyzer", "analyzer"}} {
		lt, ok := rel.LicenseType[t.butler]
		if !ok {
			continue
		}
		o.line("    [inputs.qliksense_license.release.%s]", t.here)
		o.kv(6, "enabled", strconv.FormatBool(lt.Enable))
		days := int(lt.ReleaseThresholdDays)
		if float64(days) != lt.ReleaseThresholdDays {
			o.line("      # NOTE: Butler's releaseThresholdDays %v is rounded down to whole days.", lt.ReleaseThresholdDays)
		}
		if days < 1 {
			days = 1
		}
		o.line("      # NOTE: exact, now − lastUsed in UTC; Butler counted from local midnight and released up to a day early.")
		o.kv(6, "inactive_days", strconv.Itoa(days))
	}

}

// protect writes what is never released.
func (o *out) protect(nr *neverRelease) error {
	o.line("    [inputs.qliksense_license.release.protect]")
	var users []string
	for _, u := range nr.User {
		users = append(users, u.UserDir+`\`+u.UserID)
	}
	o.kv(6, "users", list(users))
	o.kv(6, "user_directories", list(nr.UserDirectory))
	o.kv(6, "tags", list(nr.Tag))
	var cps []string
	for _, cp := range nr.CustomProperty {
		cps = append(cps, cp.Name+"="+cp.Value)
	}
	o.kv(6, "custom_properties", list(cps))
	for _, st := range []struct{ butler, value, yes, no string }{
		{"inactive", nr.Inactive, "inactive_users", "active_users"},
		{"blocked", nr.Blocked, "blocked_users", "unblocked_users"},
		{"removedExternally", nr.RemovedExternally, "removed_externally_users", "present_users"},
	} {
		switch strings.ToLower(strings.TrimSpace(st.value)) {
		case "yes":
			o.kv(6, st.yes, "true")
		case "no":
			o.line("      # Butler's neverRelease.%s: no protects users NOT marked %s.", st.butler, st.butler)
			o.kv(6, st.no, "true")
		case "", "ignore":
		default:
			return fmt.Errorf("Butler.qlikSenseLicense.licenseRelease.neverRelease.%s = %q: expected yes, no or ignore", st.butler, st.value)
		}
	}

	return nil
}

// output writes the InfluxDB destination of the outcomes, when Butler wrote there.
func (o *out) output(ix *influxDB, rel *licenseRelease) {
	if !rel.Destination.InfluxDB.Enable || !ix.Enable {
		o.line("")
		o.line("    # Butler did not write released licenses to InfluxDB; outcomes go to the audit log only.")
		return
	}
	o.line("")
	o.line("    # Every outcome (released, quarantined, dry_run, skipped, failed) is written, not only")
	o.line("    # releases as in Butler: filter on outcome = 'released' to keep Butler's panels' meaning.")
	o.line("    [inputs.qliksense_license.release.output]")
	o.kv(6, "url", quote(fmt.Sprintf("http://%s:%d", ix.HostIP, ix.HostPort)))
	switch ix.Version {
	case 0, 1:
		if ix.V1Config.Auth.Enable {
			o.line("      # InfluxDB 1.x: the token is user:password; set INFLUX_TOKEN=%s:<password> in the", ix.V1Config.Auth.Username)
			o.line("      # environment (the password is not copied from Butler's file).")
			o.kv(6, "token", quote("${INFLUX_TOKEN}"))
		}
		bucket := ix.V1Config.DBName
		if rp := ix.V1Config.RetentionPolicy.Name; rp != "" {
			bucket += "/" + rp
		}
		o.kv(6, "bucket", quote(bucket))
	case 2:
		o.line("      # Set INFLUX_TOKEN in the environment (the token is not copied from Butler's file).")
		o.kv(6, "token", quote("${INFLUX_TOKEN}"))
		o.kv(6, "org", quote(ix.V2Config.Org))
		o.kv(6, "bucket", quote(ix.V2Config.Bucket))
	default:
		o.line("      # NOTE: Butler wrote to InfluxDB %d; this writes with the InfluxDB 2.x API: point url,", ix.Version)
		o.line("      # token, org and bucket at a 2.x-compatible endpoint.")
		o.kv(6, "token", quote("${INFLUX_TOKEN}"))
		o.kv(6, "bucket", quote(""))
	}
	tags := append(append([]nameValue{}, ix.Tag.Static...), rel.Destination.InfluxDB.Tag.Static...)
	if len(tags) > 0 {
		o.line("      [inputs.qliksense_license.release.output.tags]")
		for _, t := range tags {
			o.kv(8, bareKey(t.Name), quote(t.Value))
		}
	}
}

var everyN = regexp.MustCompile(`^every\s+(\d+)\s+(minute|minutes|min|mins|hour|hours|day|days)$`)

// schedule maps later.js text ("every 6 hours") to a cron expression. later.js fires on
// clock boundaries in UTC (every 6 hours: 00, 06, 12, 18), which cron reproduces.
func schedule(freq string) (string, string) {
	f := strings.ToLower(strings.TrimSpace(freq))
	if f == "" {
		return "", "Butler had no licenseRelease.frequency; set schedule to run on one."
	}
	m := everyN.FindStringSubmatch(f)
	if m == nil {
		return "0 3 * * *", fmt.Sprintf("Butler's frequency %q could not be converted; this runs daily at 03:00 UTC.", freq)
	}
	n, _ := strconv.Atoi(m[1])
	switch {
	case strings.HasPrefix(m[2], "min") && n >= 1 && n < 60:
		return fmt.Sprintf("*/%d * * * *", n), ""
	case strings.HasPrefix(m[2], "hour") && n == 24:
		return "0 0 * * *", ""
	case strings.HasPrefix(m[2], "hour") && n >= 1 && n < 24:
		return fmt.Sprintf("0 */%d * * *", n), ""
	case strings.HasPrefix(m[2], "day") && n == 1:
		return "0 0 * * *", ""
	}
	return fmt.Sprintf("@every %dh", hours(n, m[2])), fmt.Sprintf("Butler's frequency %q runs at fixed clock times there; here every so long after the start.", freq)
}

func hours(n int, unit string) int {
	if strings.HasPrefix(unit, "day") {
		return n * 24
	}
	return n
}

type out struct {
	w   io.Writer
	err error
}

func (o *out) line(format string, args ...any) {
	if o.err == nil {
		_, o.err = fmt.Fprintf(o.w, format+"\n", args...)
	}
}

func (o *out) kv(indent int, key, value string) {
	o.line("%s%s = %s", strings.Repeat(" ", indent), key, value)
}

// quote writes a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func list(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

var bare = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func bareKey(k string) string {
	if bare.MatchString(k) {
		return k
	}
	return quote(k)
}
