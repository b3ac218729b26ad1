package notices

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/qliksense-license/qliksense-license/internal/ctxsleep"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

// Message is one email: a notice to a user or the administrators' digest.
type Message struct {
	To      []string
	Subject string
	Text    string
	HTML    string // optional alternative body
}

// Mailer sends messages. Send returns nil only when the mail server accepted the message,
// and an error wrapping ErrNotSent when nothing went on the wire (ctx ended first).
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// ErrNotSent: the message was not sent at all.
var ErrNotSent = errors.New("not sent")

// smtpMailer sends through the site's SMTP server ([release.mail]) with go-mail: STARTTLS
// (mandatory), implicit TLS or none, authentication when a username is set, one
// connection per message, at most one message per rate_limit.
type smtpMailer struct {
	cfg  *siteconfig.Mail
	mu   sync.Mutex
	last time.Time
}

// NewSMTPMailer returns a mailer for the validated settings; it connects at Send.
func NewSMTPMailer(cfg *siteconfig.Mail) Mailer { return &smtpMailer{cfg: cfg} }

// Send delivers m, waiting first for the rate limit. ctx bounds the wait; the delivery
// itself runs under the mail timeout only, so a stop never cuts a message on the wire.
func (s *smtpMailer) Send(ctx context.Context, m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if wait := time.Until(s.last.Add(s.cfg.RateLimit)); wait > 0 {
		if err := ctxsleep.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("%w: %w", ErrNotSent, err)
		}
	}
	defer func() { s.last = time.Now() }()
	msg, err := s.message(m)
	if err != nil {
		return err
	}
	client, err := newMailClient(s.cfg)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*s.cfg.Timeout)
	defer cancel()
	if err := client.DialAndSendWithContext(sctx, msg); err != nil {
		return fmt.Errorf("sending to %s through %s:%d: %w", m.To[0], s.cfg.Host, s.cfg.Port, err)
	}
	return nil
}

// newMailClient is a go-mail client for the settings; the password is read here and goes
// only into the client.
func newMailClient(cfg *siteconfig.Mail) (*mail.Client, error) {
	opts := []mail.Option{mail.WithPort(cfg.Port), mail.WithTimeout(cfg.Timeout), mail.WithTLSConfig(cfg.TLSConfig)}
	switch cfg.TLS {
	case siteconfig.MailTLS:
		opts = append(opts, mail.WithSSL())
	case siteconfig.MailNoTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if cfg.Username != "" {
		buf, err := cfg.Password.Get()
		if err != nil {
			return nil, fmt.Errorf("reading release.mail.password: %w", err)
		}
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(cfg.Username), mail.WithPassword(buf.String()))
		buf.Destroy()
	}
	client, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("release.mail: %w", err)
	}
	return client, nil
}

// ErrMailSettings marks a CheckMail error of the settings themselves (release.mail), not
// of the server.
var ErrMailSettings = errors.New("release.mail")

// settingsError is an error of the settings, as its own message says.
type settingsError struct{ error }

func (e settingsError) Unwrap() []error { return []error{e.error, ErrMailSettings} }

// CheckMail checks the SMTP server for the connection doctor: it connects, says EHLO,
// starts TLS and authenticates as a send would, then quits without sending anything. It
// returns what worked, or why not.
func CheckMail(ctx context.Context, cfg *siteconfig.Mail) (string, error) {
	addr := fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	client, err := newMailClient(cfg)
	if err != nil {
		return "", settingsError{err}
	}
	if err := client.DialWithContext(ctx); err != nil {
		return "", fmt.Errorf("%s (tls %s): %w", addr, cfg.TLS, err)
	}
	_ = client.Close()
	how := "connected"
	if cfg.TLS != siteconfig.MailNoTLS {
		how += " over TLS (" + cfg.TLS + ")"
	}
	if cfg.Username != "" {
		how += ", authenticated as " + cfg.Username
	}
	return addr + ": " + how + "; no message sent", nil
}

func (s *smtpMailer) message(m Message) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("release.mail.from: %w", err)
	}
	if s.cfg.ReplyTo != "" {
		if err := msg.ReplyTo(s.cfg.ReplyTo); err != nil {
			return nil, fmt.Errorf("release.mail.reply_to: %w", err)
		}
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("the recipient %v: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
