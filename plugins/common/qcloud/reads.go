package qcloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// API paths.
const (
	pathOverview    = "/api/v1/licenses/overview"
	pathStatus      = "/api/v1/licenses/status"
	pathSettings    = "/api/v1/licenses/settings"
	pathAssignments = "/api/v1/licenses/assignments"
	pathConsumption = "/api/v1/licenses/consumption"
	pathUsers       = "/api/v1/users"
	pathActions     = "/api/v1/licenses/assignments/actions/"
)

// getJSON reads one object.
func (c *Client) getJSON(ctx context.Context, name, path string, q url.Values, v any) error {
	r, err := c.do(ctx, call{name: name, method: http.MethodGet, path: path, query: q}, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("qcloud: %s: decoding the answer: %w", name, err)
	}
	return nil
}

type wireOverview struct {
	Allotments []struct {
		Name string `json:"name"`
		// numbers in Qlik's types: analyzer_time counts minutes, which need not be whole
		Overage    *float64 `json:"overage"`
		Units      float64  `json:"units"`
		UnitsUsed  float64  `json:"unitsUsed"`
		UsageClass string   `json:"usageClass"`
	} `json:"allotments"`
	LicenseNumber   string `json:"licenseNumber"`
	Product         string `json:"product"`
	Status          string `json:"status"`
	Trial           bool   `json:"trial"`
	Valid           string `json:"valid"`
	LatestValidTime string `json:"latestValidTime"`
	// licenseKey is deliberately absent: it is never decoded, kept or logged.
}

// Overview reads the license overview (allotments, validity, license number).
func (c *Client) Overview(ctx context.Context) (*Overview, error) {
	const name = "reading the license overview (GET " + pathOverview + ")"
	var w wireOverview
	if err := c.getJSON(ctx, name, pathOverview, nil, &w); err != nil {
		return nil, err
	}
	o := &Overview{LicenseNumber: w.LicenseNumber, Product: w.Product, Status: w.Status, Trial: w.Trial, Valid: w.Valid}
	for i, a := range w.Allotments {
		if a.Name == "" {
			return nil, fmt.Errorf("qcloud: %s: allotments[%d] has no name", name, i)
		}
		al := Allotment{Name: a.Name, UsageClass: a.UsageClass, Units: int64(math.Round(a.Units)), UnitsUsed: int64(math.Round(a.UnitsUsed))}
		if a.Overage != nil {
			al.Overage = int64(math.Round(*a.Overage))
		}
		o.Allotments = append(o.Allotments, al)
	}
	o.ValidFrom, o.ValidTo = ParseInterval(w.Valid)
	if w.LatestValidTime != "" {
		o.LatestValidTime, _ = time.Parse(time.RFC3339Nano, w.LatestValidTime)
	}
	return o, nil
}

// ParseInterval reads an ISO 8601 interval "start/end" of dates or date-times; an end date
// without a time is valid through that day (end = the next day, 00:00 UTC). An open or
// unreadable end ("./.", "") is zero.
func ParseInterval(s string) (from, to time.Time) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return time.Time{}, time.Time{}
	}
	parse := func(v string, end bool) time.Time {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.UTC()
		}
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			if end {
				return t.AddDate(0, 0, 1)
			}
			return t
		}
		return time.Time{}
	}
	return parse(a, false), parse(b, true)
}

// Status reads the license status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var w struct {
		Type, Status, Product, Valid string
		Trial, Deactivated           bool
	}
	if err := c.getJSON(ctx, "reading the license status (GET "+pathStatus+")", pathStatus, nil, &w); err != nil {
		return nil, err
	}
	return &Status{Type: w.Type, Status: w.Status, Product: w.Product, Trial: w.Trial, Deactivated: w.Deactivated, Valid: w.Valid}, nil
}

// Settings reads the auto-assign settings.
func (c *Client) Settings(ctx context.Context) (*Settings, error) {
	var w struct {
		AutoAssignProfessional bool `json:"autoAssignProfessional"`
		AutoAssignAnalyzer     bool `json:"autoAssignAnalyzer"`
	}
	if err := c.getJSON(ctx, "reading the license settings (GET "+pathSettings+")", pathSettings, nil, &w); err != nil {
		return nil, err
	}
	return &Settings{AutoAssignProfessional: w.AutoAssignProfessional, AutoAssignAnalyzer: w.AutoAssignAnalyzer}, nil
}

// pageOf is a cursor page of the licenses and users APIs.
type pageOf[T any] struct {
	Data  []T `json:"data"`
	Links struct {
		Next *struct {
			Href string `json:"href"`
		} `json:"next"`
	} `json:"links"`
}

// list reads every page of a list. The next page is asked on the tenant with the cursor
// (cursorParam) taken from links.next.href: the href's host is never contacted.
func list[T any](ctx context.Context, c *Client, name, path string, q url.Values, cursorParam string, fn func(*T) error) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", strconv.Itoa(PageLimit))
	seen := map[string]bool{}
	for page := 1; ; page++ {
		r, err := c.do(ctx, call{name: name, method: http.MethodGet, path: path, query: q}, nil)
		if err != nil {
			return err
		}
		var p pageOf[T]
		dec := json.NewDecoder(bytes.NewReader(r.body))
		if err := dec.Decode(&p); err != nil {
			return fmt.Errorf("qcloud: %s: decoding page %d: %w", name, page, err)
		}
		for i := range p.Data {
			if err := fn(&p.Data[i]); err != nil {
				return err
			}
		}
		if p.Links.Next == nil || p.Links.Next.Href == "" {
			return nil
		}
		cursor, err := cursorOf(p.Links.Next.Href, cursorParam)
		if err != nil {
			return fmt.Errorf("qcloud: %s: page %d: %w", name, page, err)
		}
		if seen[cursor] {
			return fmt.Errorf("qcloud: %s: page %d: links.next.href repeats an earlier cursor", name, page)
		}
		seen[cursor] = true
		q.Set(cursorParam, cursor)
	}
}

// cursorOf takes the cursor parameter out of a links.next.href (absolute on any host, or
// relative).
func cursorOf(href, param string) (string, error) {
	u, err := url.Parse(href)
	if err != nil {
		return "", errors.New("links.next.href is not a URL")
	}
	v := u.Query().Get(param)
	if v == "" {
		return "", fmt.Errorf("links.next.href has no %q cursor", param)
	}
	return v, nil
}

type wireAssignment struct {
	Type    string `json:"type"`
	Subject string `json:"subject"`
	Created string `json:"created"`
	Excess  bool   `json:"excess"`
}

func (w *wireAssignment) convert() (Assignment, error) {
	if w.Subject == "" || w.Type == "" {
		return Assignment{}, fmt.Errorf("an assignment without subject or type (%q, %q)", w.Type, w.Subject)
	}
	t, err := time.Parse(time.RFC3339Nano, w.Created)
	if err != nil {
		return Assignment{}, fmt.Errorf("assignment %s %s: created %q: expected an RFC 3339 time", w.Type, w.Subject, w.Created)
	}
	return Assignment{Type: w.Type, Subject: w.Subject, Created: t.UTC(), Excess: w.Excess}, nil
}

// Assignments calls fn with every assignment matching q, page by page.
func (c *Client) Assignments(ctx context.Context, q AssignmentQuery, fn func(Assignment) error) error {
	name := "reading license assignments (GET " + pathAssignments + ")"
	v := url.Values{}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if q.Orphans {
		v.Set("orphans", "true")
		name = "reading orphan license assignments (GET " + pathAssignments + "?orphans=true)"
	}
	return list(ctx, c, name, pathAssignments, v, "page", func(w *wireAssignment) error {
		a, err := w.convert()
		if err != nil {
			return fmt.Errorf("qcloud: %s: %w", name, err)
		}
		return fn(a)
	})
}

// AllAssignments reads every assignment.
func (c *Client) AllAssignments(ctx context.Context) ([]Assignment, error) {
	var out []Assignment
	err := c.Assignments(ctx, AssignmentQuery{}, func(a Assignment) error { out = append(out, a); return nil })
	return out, err
}

// AssignmentsOf reads back the assignments of the keys' subjects (filtered by subject, in
// batches) and returns those matching a key exactly (type and subject, case-sensitive):
// the read-back after an ambiguous action.
func (c *Client) AssignmentsOf(ctx context.Context, keys []Key) ([]Assignment, error) {
	want := map[Key]bool{}
	var subjects []string
	seen := map[string]bool{}
	for _, k := range keys {
		want[k] = true
		if !seen[k.Subject] {
			seen[k.Subject] = true
			subjects = append(subjects, k.Subject)
		}
	}
	var out []Assignment
	for _, f := range SubjectFilters(subjects) {
		err := c.Assignments(ctx, AssignmentQuery{Filter: f}, func(a Assignment) error {
			if want[a.Key()] {
				out = append(out, a)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

type wireEvent struct {
	ID           string  `json:"id"`
	UserID       string  `json:"userId"`
	AppID        string  `json:"appId"`
	SessionID    string  `json:"sessionId"`
	AllotmentID  string  `json:"allotmentId"`
	LicenseUsage string  `json:"licenseUsage"`
	EndTime      string  `json:"endTime"`
	Duration     string  `json:"duration"`
	MinutesUsed  float64 `json:"minutesUsed"`
	CapacityUsed float64 `json:"capacityUsed"`
}

// Consumption calls fn with every consumption event whose endTime is at or after since
// (all events when since is zero), page by page: the filter `endTime ge "…"`, the only one
// the API has. The caller keeps the watermark (Usage.Watermark) for the next read.
func (c *Client) Consumption(ctx context.Context, since time.Time, fn func(Event) error) error {
	name := "reading license consumption (GET " + pathConsumption + ")"
	v := url.Values{}
	if !since.IsZero() {
		v.Set("filter", fmt.Sprintf("endTime ge %q", since.UTC().Format("2006-01-02T15:04:05.000Z")))
	}
	return list(ctx, c, name, pathConsumption, v, "page", func(w *wireEvent) error {
		e := Event{ID: w.ID, UserID: w.UserID, AppID: w.AppID, SessionID: w.SessionID, AllotmentID: w.AllotmentID,
			LicenseUsage: w.LicenseUsage, Duration: w.Duration, MinutesUsed: w.MinutesUsed, CapacityUsed: w.CapacityUsed}
		if w.EndTime != "" {
			t, err := time.Parse(time.RFC3339Nano, w.EndTime)
			if err != nil {
				return fmt.Errorf("qcloud: %s: event %s: endTime %q: expected an RFC 3339 time", name, w.ID, w.EndTime)
			}
			e.EndTime = t.UTC()
		}
		return fn(e)
	})
}

// LastUse reads the consumption since the watermark and returns each user's latest
// endTime (any event counts: an analyzer-capacity session too). Events without a user or
// an end time are counted but tell no use.
func (c *Client) LastUse(ctx context.Context, since time.Time) (*Usage, error) {
	u := &Usage{LastUse: map[string]time.Time{}}
	err := c.Consumption(ctx, since, func(e Event) error {
		u.Events++
		u.CapacityMinutes += e.MinutesUsed
		if e.EndTime.IsZero() {
			return nil
		}
		if e.EndTime.After(u.Watermark) {
			u.Watermark = e.EndTime
		}
		if e.UserID != "" && e.EndTime.After(u.LastUse[e.UserID]) {
			u.LastUse[e.UserID] = e.EndTime
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
