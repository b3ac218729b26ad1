package doctor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

// TenantClient is what the doctor asks a Qlik Cloud tenant; *qcloud.Client satisfies it.
type TenantClient interface {
	Overview(ctx context.Context) (*qcloud.Overview, error)
	Settings(ctx context.Context) (*qcloud.Settings, error)
	Assignments(ctx context.Context, q qcloud.AssignmentQuery, fn func(qcloud.Assignment) error) error
	UsersBySubject(ctx context.Context, subjects []string) ([]qcloud.User, error)
	DeleteAssignments(ctx context.Context, keys []qcloud.Key) ([]qcloud.ItemResult, error)
}

// ProbeSubject is the subject of the doctor's delete probe: no user has it, so the call
// changes nothing, and its answer tells whether the key's user may delete assignments (a
// 207 whose item is "not found") or not (a 403).
const ProbeSubject = "qliksense-license doctor probe: no such subject"

// MaxClockSkew is how far this host's clock may be from the tenant's.
const MaxClockSkew = 2 * time.Minute

// CheckTenant runs the steps for a validated tenant configuration and its client: the
// configuration, the clock against the tenant's, the token (the license overview), reading
// assignments and users, deleting assignments (a probe that changes nothing) and what the
// auto-assign settings mean for releases. A step that fails stops the ones that need it.
// now is this host's time.
func CheckTenant(ctx context.Context, c *siteconfig.Config, client TenantClient, needs Needs, now time.Time) *Report {
	r := &Report{}
	cfg, err := c.TLSConfig()
	if !r.add(tenantConfigStep(c, err)) {
		return r
	}
	r.add(clockStep(ctx, c.Tenant, cfg, now))
	ov, err := client.Overview(ctx)
	if !r.add(tokenStep(c, ov, err)) {
		return r
	}
	if !r.add(readStep(ctx, client)) {
		return r
	}
	r.add(changeStep(ctx, client, len(needs.Delete) > 0))
	r.add(autoAssignStep(ctx, client))
	return r
}

func tenantConfigStep(c *siteconfig.Config, err error) Step {
	s := Step{Name: "configuration", OK: err == nil}
	how := "an API key"
	if c.TenantAuthMode() == siteconfig.TenantOAuth {
		how = "OAuth client " + c.OAuthClientID
	}
	s.Detail = fmt.Sprintf("tenant %s, %s, authenticated with %s", c.Site, c.Tenant, how)
	if err != nil {
		s.Detail, s.Fix = err.Error(), "check tls_ca (and tls_cert, tls_key): files readable by this user"
	}
	return s
}

// clockStep compares this host's clock with the Date header of the tenant's answer to an
// unauthenticated request (no credentials are sent). Inactivity is measured against this
// host's clock, and OAuth tokens expire by it.
func clockStep(ctx context.Context, tenant string, cfg *tls.Config, now time.Time) Step {
	s := Step{Name: "clock"}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, Proxy: http.ProxyFromEnvironment},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, tenant+"/api/v1/licenses/status", nil)
	if err == nil {
		var resp *http.Response
		sent := time.Now()
		if resp, err = hc.Do(req); err == nil {
			_ = resp.Body.Close()
			theirs, perr := http.ParseTime(resp.Header.Get("Date"))
			if perr != nil {
				s.OK, s.Detail = true, "the tenant's answer has no Date header to compare with"
				return s
			}
			// The Date is of the answer, within the round trip of sent; now may be a
			// caller's fixed time.
			skew := now.Add(time.Since(sent)).Sub(theirs.Add(500 * time.Millisecond)) // Date has whole seconds
			s.OK = skew.Abs() <= MaxClockSkew
			s.Detail = fmt.Sprintf("this host's clock is %s from the tenant's", skew.Round(time.Second))
			if !s.OK {
				s.Fix = "synchronise this host's clock (NTP): inactivity is measured against it, to the minute, and OAuth tokens expire by it"
			}
			return s
		}
	}
	s.Detail = "no answer from the tenant: " + strings.ReplaceAll(err.Error(), tenant, "the tenant")
	s.Fix = "is the tenant URL right, and is it reachable from this host (a proxy: HTTPS_PROXY; its certificate: tls_ca)?"
	return s
}

func tokenStep(c *siteconfig.Config, ov *qcloud.Overview, err error) Step {
	if err != nil {
		s := Step{Name: "token", Detail: err.Error()}
		switch qcloud.StatusCode(err) {
		case http.StatusUnauthorized:
			if c.TenantAuthMode() == siteconfig.TenantOAuth {
				s.Fix = "the tenant did not accept the OAuth client: check oauth_client_id and oauth_client_secret, and that the client is a machine-to-machine client of this tenant"
			} else {
				s.Fix = "the tenant did not accept the API key: it may be expired or revoked, or API keys may be disabled (Management Console > Settings > API keys); make a new one"
			}
		case http.StatusForbidden:
			s.Fix = "the key's user may not read licenses: it needs the TenantAdmin role (or a role that manages licenses)"
		default:
			s.Fix = "is this a Qlik Cloud tenant (https://NAME.REGION.qlikcloud.com)?"
		}
		return s
	}
	var parts []string
	for _, a := range ov.Allotments {
		parts = append(parts, fmt.Sprintf("%s %d of %d", a.Name, a.UnitsUsed, a.Units))
	}
	detail := "license overview read: " + strings.Join(parts, ", ")
	if !ov.ValidTo.IsZero() {
		detail += ", valid through " + ov.ValidTo.Add(-time.Nanosecond).UTC().Format(time.DateOnly)
	}
	return Step{Name: "token", OK: true, Detail: detail}
}

// readStep reads the first assignment and its user: the rights the plugin and the plan need.
func readStep(ctx context.Context, client TenantClient) Step {
	var first *qcloud.Assignment
	stop := errors.New("enough")
	err := client.Assignments(ctx, qcloud.AssignmentQuery{}, func(a qcloud.Assignment) error {
		first = &a
		return stop
	})
	if err != nil && !errors.Is(err, stop) {
		return Step{Name: "read", Detail: "reading license assignments: " + err.Error(), Fix: missing(err, "read license assignments")}
	}
	if first == nil {
		return Step{Name: "read", OK: true, Detail: "license assignments: yes (none assigned); users: not checked"}
	}
	if _, err := client.UsersBySubject(ctx, []string{first.Subject}); err != nil {
		return Step{Name: "read", Detail: "reading users: " + err.Error(), Fix: missing(err, "read users")}
	}
	return Step{Name: "read", OK: true, Detail: "license assignments: yes; users: yes"}
}

// changeStep asks to delete an assignment of a subject no user has: allowed, the tenant
// answers that it is not found; not allowed, a 403. Nothing is changed either way.
func changeStep(ctx context.Context, client TenantClient, needed bool) Step {
	s := Step{Name: "change", OK: true}
	res, err := client.DeleteAssignments(ctx, []qcloud.Key{{Type: qcloud.Professional, Subject: ProbeSubject}})
	can := err == nil && len(res) == 1 && res[0].Outcome == qcloud.NotFound
	switch {
	case can:
		s.Detail = "delete license assignments: yes (probed with a subject no user has; nothing changed)"
		return s
	case err == nil && len(res) == 1:
		s.Detail = fmt.Sprintf("delete license assignments: NO (the probe's item was answered %d %s %s)", res[0].Status, res[0].Code, res[0].Title)
	case err != nil && qcloud.StatusCode(err) == http.StatusForbidden:
		s.Detail = "delete license assignments: NO (" + err.Error() + ")"
	case err != nil:
		return Step{Name: "change", Detail: "probing delete: " + err.Error(), Fix: "try again; a 5xx or a lost answer tells nothing"}
	default:
		s.Detail = fmt.Sprintf("delete license assignments: unknown (%d items answered)", len(res))
	}
	s.Fix = "releases need the key's user (or the OAuth client) to manage license assignments: the TenantAdmin role, or a role with the permission to manage licenses"
	if needed {
		s.OK = false
	} else {
		s.Detail += "; not needed by this configuration (nothing is released)"
	}
	return s
}

// autoAssignStep says what the auto-assign settings mean for releases.
func autoAssignStep(ctx context.Context, client TenantClient) Step {
	st, err := client.Settings(ctx)
	if err != nil {
		return Step{Name: "auto-assign", Detail: "reading the license settings: " + err.Error(), Fix: missing(err, "read the license settings")}
	}
	var on []string
	if st.AutoAssignProfessional {
		on = append(on, "professional")
	}
	if st.AutoAssignAnalyzer {
		on = append(on, "analyzer")
	}
	if len(on) == 0 {
		return Step{Name: "auto-assign", OK: true, Detail: "off for professional and analyzer: a released user gets a seat again only when one is assigned"}
	}
	return Step{Name: "auto-assign", OK: true, Detail: "on for " + strings.Join(on, " and ") +
		": a released user gets a seat of that type back at the next login, which is what a release of an inactive user expects"}
}

func missing(err error, permission string) string {
	if qcloud.StatusCode(err) == http.StatusForbidden {
		return "the key's user may not " + permission + ": give it the TenantAdmin role (or a role with that permission)"
	}
	return "try again; if it persists, check the tenant's status page"
}
