package testkit

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
)

// SMTP is a real SMTP server (github.com/emersion/go-smtp) on 127.0.0.1 for the tests:
// it offers STARTTLS with the shared test certificates and AUTH PLAIN, refuses to take
// mail before both, and keeps every message it accepted.
type SMTP struct {
	Host     string
	Port     int
	CA       string // the CA file that verifies its certificate
	User     string
	Password string

	mu     sync.Mutex
	msgs   []Mail
	refuse map[string]bool
}

// Mail is one message the server accepted.
type Mail struct {
	From string
	To   []string
	Data string
	TLS  bool
}

// StartSMTP starts a server until the test ends.
func StartSMTP(t testing.TB) *SMTP {
	t.Helper()
	dir, err := sharedCerts()
	if err != nil {
		t.Fatalf("creating the test certificates: %v", err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, emulator.ServerFile), filepath.Join(dir, emulator.ServerKeyFile))
	if err != nil {
		t.Fatalf("loading the SMTP server's certificate: %v", err)
	}
	s := &SMTP{Host: "127.0.0.1", CA: filepath.Join(dir, emulator.RootFile), User: "qlik-notices", Password: "s3cret-smtp-pass", refuse: map[string]bool{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s, c: c}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening for SMTP: %v", err)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return s
}

// MailTable is the [inputs.qliksense_license.release.mail] table for this server.
func (s *SMTP) MailTable() string {
	return fmt.Sprintf(`    [inputs.qliksense_license.release.mail]
      host = %q
      port = %d
      tls = "starttls"
      username = %q
      password = %q
      from = "Qlik Sense licenses <qlik-licenses@example.com>"
      reply_to = "licenses@example.com"
      rate_limit = "1ms"
      tls_ca = %q
`, s.Host, s.Port, s.User, s.Password, s.CA)
}

// Refuse makes the server refuse mail to addr (550 at RCPT TO), or take it again.
func (s *SMTP) Refuse(addr string, refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse[strings.ToLower(addr)] = refuse
}

// Messages returns what the server accepted, in order.
func (s *SMTP) Messages() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.msgs...)
}

type smtpSession struct {
	s      *SMTP
	c      *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (x *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != x.s.User || pass != x.s.Password {
			return errors.New("invalid username or password")
		}
		x.authed = true
		return nil
	}), nil
}

func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if _, tlsOn := x.c.TLSConnectionState(); !tlsOn {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	}
	if !x.authed {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	refused := x.s.refuse[strings.ToLower(to)]
	x.s.mu.Unlock()
	if refused {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, tlsOn := x.c.TLSConnectionState()
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.s.msgs = append(x.s.msgs, Mail{From: x.from, To: x.to, Data: string(b), TLS: tlsOn})
	return nil
}

func (x *smtpSession) Reset()        { x.from, x.to = "", nil }
func (x *smtpSession) Logout() error { return nil }

// Subject is the message's decoded subject.
func (m Mail) Subject() string {
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		return ""
	}
	s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return msg.Header.Get("Subject")
	}
	return s
}

// Body is the message's decoded part of the given media type ("text/plain" or
// "text/html"), or "".
func (m Mail) Body(mediaType string) string {
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		return ""
	}
	return part(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, mediaType)
}

func part(contentType, encoding string, body io.Reader, want string) string {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err != nil {
				return ""
			}
			if s := part(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, want); s != "" {
				return s
			}
		}
	}
	if mt != want {
		return ""
	}
	if strings.EqualFold(encoding, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, _ := io.ReadAll(body)
	return string(b)
}
