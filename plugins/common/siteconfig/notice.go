package siteconfig

import (
	"crypto/tls"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/influxdata/telegraf/config"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Notices is the validated notice and mail settings of a site's release table; nil in
// Sidecar when no type has notice_days and no digest is asked for.
type Notices struct {
	// ReleaseWithoutEmail releases, without notice, candidates whose user has no address
	// (without_email = "release"); otherwise they are kept.
	ReleaseWithoutEmail bool
	// Subject, TextTemplate and HTMLTemplate: the template text (files already read);
	// empty means the built-in one.
	Subject, TextTemplate, HTMLTemplate string
	TextTemplateFile, HTMLTemplateFile  string
	DigestTo                            []string
	Mail                                *Mail
}

// Mail is the validated [release.mail] table.
type Mail struct {
	Host      string
	Port      int
	TLS       string // MailSTARTTLS, MailTLS or MailNoTLS
	Username  string
	Password  *config.Secret // empty when Username is
	From      string
	ReplyTo   string
	RateLimit time.Duration
	Timeout   time.Duration
	TLSConfig *tls.Config
}

// The values of release.mail.tls.
const (
	MailSTARTTLS = "starttls"
	MailTLS      = "tls"
	MailNoTLS    = "none"
)

// notices validates release.notice and release.mail (readFile reads the template files).
func (r *ReleaseConfig) notices(readFile func(string) ([]byte, error)) (*Notices, error) {
	n := &Notices{}
	notices := false // a type gives notice (policy.Compile validates notice_days)
	for _, t := range qrs.AccessTypes {
		if tc := r.Type(t); tc.Enabled && tc.NoticeDays > 0 {
			notices = true
		}
	}
	nc := r.Notice
	switch nc.WithoutEmail {
	case "", "keep":
	case "release":
		n.ReleaseWithoutEmail = true
	default:
		return nil, fmt.Errorf(`release.notice.without_email = %q: expected "keep" or "release"`, nc.WithoutEmail)
	}
	for i, a := range nc.DigestTo {
		if _, err := mail.ParseAddress(a); err != nil {
			return nil, fmt.Errorf("release.notice.digest_to[%d] = %q: expected an email address: %w", i, a, err)
		}
	}
	n.DigestTo = nc.DigestTo
	if !notices && len(n.DigestTo) == 0 {
		return nil, nil
	}
	n.Subject = nc.Subject
	for _, f := range []struct {
		key, path string
		dst       *string
	}{{"text_template", nc.TextTemplate, &n.TextTemplate}, {"html_template", nc.HTMLTemplate, &n.HTMLTemplate}} {
		if f.path == "" {
			continue
		}
		b, err := readFile(f.path)
		if err != nil {
			return nil, fmt.Errorf("release.notice.%s = %q: %w", f.key, f.path, err)
		}
		*f.dst = string(b)
	}
	n.TextTemplateFile, n.HTMLTemplateFile = nc.TextTemplate, nc.HTMLTemplate
	m, err := r.Mail.validate()
	if err != nil {
		return nil, err
	}
	n.Mail = m
	return n, nil
}

func (c *MailConfig) validate() (*Mail, error) {
	if strings.TrimSpace(c.Host) == "" {
		return nil, fmt.Errorf("release.mail.host is required when a type has notice_days or release.notice.digest_to is set")
	}
	if err := checkHost("release.mail.host", strings.TrimSpace(c.Host), mailCredentials); err != nil {
		return nil, err
	}
	m := &Mail{Host: strings.TrimSpace(c.Host), Port: c.Port, TLS: c.TLS, Username: c.Username, From: c.From, ReplyTo: c.ReplyTo}
	switch m.TLS {
	case "":
		m.TLS = MailSTARTTLS
	case MailSTARTTLS, MailTLS, MailNoTLS:
	default:
		return nil, fmt.Errorf(`release.mail.tls = %q: expected "starttls", "tls" (implicit TLS) or "none"`, c.TLS)
	}
	if m.Port == 0 {
		m.Port = 587
		if m.TLS == MailTLS {
			m.Port = 465
		}
	}
	if m.Port < 1 || m.Port > 65535 {
		return nil, fmt.Errorf("release.mail.port = %d: expected 1 to 65535", c.Port)
	}
	if m.Username != "" {
		if m.TLS == MailNoTLS {
			return nil, fmt.Errorf(`release.mail.username with release.mail.tls = "none" would send the password in plain text: use "starttls" or "tls"`)
		}
		m.Password = &c.Password
	} else if !c.Password.Empty() {
		return nil, fmt.Errorf("release.mail.password is set without release.mail.username")
	}
	if c.From == "" {
		return nil, fmt.Errorf(`release.mail.from is required, e.g. "Qlik Sense licenses <qlik@example.com>"`)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return nil, fmt.Errorf("release.mail.from = %q: expected an email address: %w", c.From, err)
	}
	if c.ReplyTo != "" {
		if _, err := mail.ParseAddress(c.ReplyTo); err != nil {
			return nil, fmt.Errorf("release.mail.reply_to = %q: expected an email address: %w", c.ReplyTo, err)
		}
	}
	m.RateLimit = time.Duration(c.RateLimit)
	if m.RateLimit == 0 {
		m.RateLimit = time.Second
	}
	if m.RateLimit < 0 || m.RateLimit > time.Hour {
		return nil, fmt.Errorf("release.mail.rate_limit = %q: expected a duration from 1ms to 1h", m.RateLimit)
	}
	m.Timeout = time.Duration(c.Timeout)
	if m.Timeout == 0 {
		m.Timeout = 30 * time.Second
	}
	if m.Timeout < time.Second || m.Timeout > 5*time.Minute {
		return nil, fmt.Errorf("release.mail.timeout = %q: expected a duration from 1s to 5m", m.Timeout)
	}
	cc := c.ClientConfig
	if cc.ServerName == "" {
		cc.ServerName = m.Host
	}
	tlsCfg, err := ClientTLS(cc)
	if err != nil {
		return nil, fmt.Errorf("release.mail: %w", err)
	}
	m.TLSConfig = tlsCfg
	return m, nil
}
