package qliksense_license

import (
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/config"
	"github.com/influxdata/telegraf/plugins/inputs"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

//go:embed sample.conf
var sampleConfig string

// PluginName is the plugin's name in [[inputs.NAME]].
const PluginName = "qliksense_license"

// DefaultInactivityBuckets are the default edges, in days, of the inactivity buckets.
var DefaultInactivityBuckets = []int{7, 14, 30, 60, 90, 180, 365}

// QlikSenseLicense is one Qlik Sense site: its connection and, optionally, its release policy.
type QlikSenseLicense struct {
	Site               string          `toml:"site"`
	Server             string          `toml:"server"`
	Auth               string          `toml:"auth"`
	QlikUser           string          `toml:"qlik_user"`
	VirtualProxy       string          `toml:"virtual_proxy"`
	HeaderName         string          `toml:"header_name"`
	HeaderUser         string          `toml:"header_user"`
	JWT                config.Secret   `toml:"jwt"`
	JWTFile            string          `toml:"jwt_file"`
	TLSCA              string          `toml:"tls_ca"`
	TLSCert            string          `toml:"tls_cert"`
	TLSKey             string          `toml:"tls_key"`
	TLSServerName      string          `toml:"tls_server_name"`
	InsecureSkipVerify bool            `toml:"insecure_skip_verify"`
	Timeout            config.Duration `toml:"timeout"`
	MaxRetries         int             `toml:"max_retries"`
	InactivityBuckets  []int           `toml:"inactivity_buckets"`
	AllocationDetails  bool            `toml:"allocation_details"`
	Release            *ReleaseConfig  `toml:"release"`

	Log telegraf.Logger `toml:"-"`

	client *qrs.Client
	policy *policy.Policy
	now    func() time.Time
}

// SampleConfig returns the documented configuration.
func (*QlikSenseLicense) SampleConfig() string { return sampleConfig }

// New returns a plugin with its defaults, as inputs.Add registers it.
func New() *QlikSenseLicense {
	return &QlikSenseLicense{
		Auth:       string(qrs.AuthCertificate),
		Timeout:    config.Duration(60 * time.Second),
		MaxRetries: 3,
		now:        time.Now,
	}
}

func init() {
	inputs.Add(PluginName, func() telegraf.Input { return New() })
}

// Init validates every setting and builds the QRS client. It does not contact QRS.
func (q *QlikSenseLicense) Init() error {
	if err := q.validate(); err != nil {
		return err
	}
	tlsCfg, err := qrs.TLSFiles{
		CA: q.TLSCA, Cert: q.TLSCert, Key: q.TLSKey, ServerName: q.TLSServerName, InsecureSkipVerify: q.InsecureSkipVerify,
	}.Config()
	if err != nil {
		return err
	}
	if q.InsecureSkipVerify && q.Log != nil {
		q.Log.Warnf("insecure_skip_verify is on: the certificate of %s is not verified", q.Server)
	}
	if q.TLSKey != "" && q.Log != nil && runtime.GOOS != "windows" {
		if fi, err := os.Stat(q.TLSKey); err == nil && fi.Mode().Perm()&0o077 != 0 {
			q.Log.Warnf("private key %s is readable by other users (mode %s); restrict it to the service account", q.TLSKey, fi.Mode().Perm())
		}
	}
	cfg := qrs.Config{
		Server: q.Server, VirtualProxy: q.VirtualProxy, Auth: qrs.AuthMode(q.Auth), User: q.QlikUser,
		HeaderName: q.HeaderName, HeaderValue: q.HeaderUser, TLS: tlsCfg,
		Timeout: time.Duration(q.Timeout), MaxRetries: q.MaxRetries,
	}
	if q.MaxRetries == 0 {
		cfg.MaxRetries = -1
	}
	if q.Auth == string(qrs.AuthJWT) {
		cfg.Token = q.token
	}
	q.client, err = qrs.New(cfg)
	if err != nil {
		return fmt.Errorf("creating the QRS client: %w", err)
	}
	if q.now == nil {
		q.now = time.Now
	}
	return nil
}

func (q *QlikSenseLicense) validate() error {
	if q.Server == "" {
		return errors.New(`"server" is required, e.g. "https://qlik.example.com:4242"`)
	}
	u, err := url.Parse(q.Server)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf(`server = %q: expected "https://HOST[:PORT]" without a path (put a virtual proxy prefix in virtual_proxy)`, q.Server)
	}
	if q.Site == "" {
		q.Site = u.Hostname()
	}
	switch qrs.AuthMode(q.Auth) {
	case qrs.AuthCertificate:
		if q.TLSCert == "" || q.TLSKey == "" {
			return errors.New(`auth = "certificate" needs tls_cert and tls_key: client.pem and client_key.pem exported from the QMC`)
		}
	case qrs.AuthHeader:
		if q.HeaderName == "" || q.HeaderUser == "" {
			return errors.New(`auth = "header" needs header_name and header_user`)
		}
	case qrs.AuthJWT:
		if q.JWT.Empty() == (q.JWTFile == "") {
			return errors.New(`auth = "jwt" needs exactly one of jwt and jwt_file`)
		}
	default:
		return fmt.Errorf(`auth = %q: expected "certificate", "header" or "jwt"`, q.Auth)
	}
	if q.Auth != string(qrs.AuthCertificate) && q.QlikUser != "" {
		return fmt.Errorf(`qlik_user applies to auth = "certificate" only; through a virtual proxy the proxy names the user`)
	}
	if q.Auth != string(qrs.AuthHeader) && (q.HeaderName != "" || q.HeaderUser != "") {
		return errors.New(`header_name and header_user apply to auth = "header" only`)
	}
	if q.Auth != string(qrs.AuthJWT) && (!q.JWT.Empty() || q.JWTFile != "") {
		return errors.New(`jwt and jwt_file apply to auth = "jwt" only`)
	}
	if q.Auth == string(qrs.AuthCertificate) && q.VirtualProxy != "" {
		return errors.New(`virtual_proxy applies to auth = "header" or "jwt"; certificates go straight to QRS on port 4242`)
	}
	if q.QlikUser != "" && !strings.Contains(strings.ToLower(q.QlikUser), "userdirectory=") {
		return fmt.Errorf(`qlik_user = %q: expected "UserDirectory=DIRECTORY; UserId=USER"`, q.QlikUser)
	}
	if t := time.Duration(q.Timeout); t < time.Second || t > 10*time.Minute {
		return fmt.Errorf("timeout = %q: expected a duration from 1s to 10m", t)
	}
	if q.MaxRetries < 0 || q.MaxRetries > 10 {
		return fmt.Errorf("max_retries = %d: expected 0 to 10", q.MaxRetries)
	}
	if q.InactivityBuckets == nil {
		q.InactivityBuckets = slices.Clone(DefaultInactivityBuckets)
	}
	if len(q.InactivityBuckets) == 0 {
		return errors.New("inactivity_buckets is empty: give at least one edge in days, e.g. [30]")
	}
	for i, e := range q.InactivityBuckets {
		if e < 1 || (i > 0 && e <= q.InactivityBuckets[i-1]) {
			return fmt.Errorf("inactivity_buckets = %v: expected increasing day counts from 1", q.InactivityBuckets)
		}
	}
	if q.Release != nil {
		p, err := q.Release.Config.Compile()
		if err != nil {
			return err
		}
		q.policy = p
	}
	return nil
}

// token returns the JWT for one request, from the secret or the file.
func (q *QlikSenseLicense) token() (string, error) {
	if q.JWTFile != "" {
		b, err := os.ReadFile(q.JWTFile)
		if err != nil {
			return "", fmt.Errorf("reading jwt_file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	buf, err := q.JWT.Get()
	if err != nil {
		return "", fmt.Errorf("reading jwt: %w", err)
	}
	defer buf.Destroy()
	return strings.TrimSpace(buf.String()), nil
}

// Client returns the QRS client built by Init (the sidecar shares it).
func (q *QlikSenseLicense) Client() *qrs.Client { return q.client }

// Policy returns the compiled release policy, or nil when the table has none.
func (q *QlikSenseLicense) Policy() *policy.Policy { return q.policy }
