package qcloud

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

type wireRole struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type wireUser struct {
	ID             string     `json:"id"`
	Subject        string     `json:"subject"`
	Name           string     `json:"name"`
	Email          string     `json:"email"`
	Status         string     `json:"status"`
	AssignedRoles  []wireRole `json:"assignedRoles"`
	AssignedGroups []struct {
		ID            string     `json:"id"`
		Name          string     `json:"name"`
		AssignedRoles []wireRole `json:"assignedRoles"`
	} `json:"assignedGroups"`
	CreatedAt     string `json:"createdAt"`
	LastUpdatedAt string `json:"lastUpdatedAt"`
}

func roleNames(rs []wireRole) []string {
	var out []string
	for _, r := range rs {
		if r.Name != "" {
			out = append(out, r.Name)
		}
	}
	return out
}

func (w *wireUser) convert() (User, error) {
	if w.ID == "" || w.Subject == "" {
		return User{}, fmt.Errorf("a user without id or subject (id %q)", w.ID)
	}
	u := User{ID: w.ID, Subject: w.Subject, Name: w.Name, Email: w.Email, Status: w.Status, Roles: roleNames(w.AssignedRoles)}
	for _, g := range w.AssignedGroups {
		u.Groups = append(u.Groups, Group{ID: g.ID, Name: g.Name, Roles: roleNames(g.AssignedRoles)})
	}
	u.Created, _ = time.Parse(time.RFC3339Nano, w.CreatedAt)
	u.LastUpdated, _ = time.Parse(time.RFC3339Nano, w.LastUpdatedAt)
	return u, nil
}

func (c *Client) users(ctx context.Context, filter string, fn func(User) error) error {
	name := "reading users (GET " + pathUsers + ")"
	v := url.Values{}
	if filter != "" {
		v.Set("filter", filter)
	}
	return list(ctx, c, name, pathUsers, v, "next", func(w *wireUser) error {
		u, err := w.convert()
		if err != nil {
			return fmt.Errorf("qcloud: %s: %w", name, err)
		}
		return fn(u)
	})
}

// Users reads every user of the tenant, page by page (once per run, when most users hold
// an assignment).
func (c *Client) Users(ctx context.Context, fn func(User) error) error { return c.users(ctx, "", fn) }

// UsersBySubject reads the users with these subjects, in batches of filtered reads
// (`subject eq "…" or …`). The API compares case-insensitively; only users whose subject
// equals a given one exactly are returned (two users may differ only in case).
func (c *Client) UsersBySubject(ctx context.Context, subjects []string) ([]User, error) {
	want := map[string]bool{}
	var uniq []string
	for _, s := range subjects {
		if !want[s] {
			want[s] = true
			uniq = append(uniq, s)
		}
	}
	var out []User
	got := map[string]bool{}
	for _, f := range SubjectFilters(uniq) {
		err := c.users(ctx, f, func(u User) error {
			if want[u.Subject] && !got[u.ID] {
				got[u.ID] = true
				out = append(out, u)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CountUsers is the number of users of the tenant (GET /api/v1/users/actions/count).
func (c *Client) CountUsers(ctx context.Context) (int, error) {
	var w struct {
		Total *int `json:"total"`
	}
	const name = "counting users (GET " + pathUsers + "/actions/count)"
	if err := c.getJSON(ctx, name, pathUsers+"/actions/count", nil, &w); err != nil {
		return 0, err
	}
	if w.Total == nil {
		return 0, fmt.Errorf("qcloud: %s: the answer has no total", name)
	}
	return *w.Total, nil
}

// UsersFor returns the users holding these subjects (exact match) at the lower request
// cost: every user paged once when that takes fewer pages than the filtered batches
// (most users hold an assignment), the batches otherwise. It costs one count request
// more, unless the subjects fit one batch.
func (c *Client) UsersFor(ctx context.Context, subjects []string) ([]User, error) {
	batches := len(SubjectFilters(subjects))
	if batches <= 1 {
		return c.UsersBySubject(ctx, subjects)
	}
	total, err := c.CountUsers(ctx)
	if err != nil {
		return nil, err
	}
	if (total+PageLimit-1)/PageLimit >= batches {
		return c.UsersBySubject(ctx, subjects)
	}
	want := map[string]bool{}
	for _, s := range subjects {
		want[s] = true
	}
	var out []User
	err = c.Users(ctx, func(u User) error {
		if want[u.Subject] {
			out = append(out, u)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Quote writes s as a SCIM string literal (RFC 7644 uses JSON strings): quotes and
// backslashes escaped, control characters as \u00XX, other Unicode as is.
func Quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(strings.ToValidUTF8(s, "\uFFFD"))
	return strings.TrimSuffix(b.String(), "\n")
}

// SubjectFilters splits subjects into SCIM filters `subject eq "a" or subject eq "b" …`
// of at most SubjectBatch subjects and maxFilterLen encoded bytes each.
func SubjectFilters(subjects []string) []string {
	var out []string
	var b strings.Builder
	n, size := 0, 0
	flush := func() {
		if n > 0 {
			out = append(out, b.String())
			b.Reset()
			n, size = 0, 0
		}
	}
	for _, s := range subjects {
		term := "subject eq " + Quote(s)
		tsize := len(url.QueryEscape(term)) + len(url.QueryEscape(" or "))
		if n > 0 && (n >= SubjectBatch || size+tsize > maxFilterLen) {
			flush()
		}
		if n > 0 {
			b.WriteString(" or ")
		}
		b.WriteString(term)
		n++
		size += tsize
	}
	flush()
	return out
}
