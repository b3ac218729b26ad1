// Package report renders the sidecar's reports for people and machines: the plan and the
// right-sizing report, as an aligned table, JSON or CSV. Nothing secret is in them: ids,
// user names, dates and reasons.
package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/plan"
)

// Formats of a rendered plan.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatCSV   = "csv"
)

// Plan writes the plan as an aligned table for people, or as JSON or CSV for machines.
func Plan(w io.Writer, p *plan.Plan, format string) error {
	v := planView{p}
	return render(w, format, v.table, v.json, v.csv)
}

// planView renders a plan.
type planView struct{ *plan.Plan }

// render writes with the writer of the format: table (the default), json or csv.
func render(w io.Writer, format string, table, json, csv func(io.Writer) error) error {
	switch format {
	case FormatTable, "":
		return table(w)
	case FormatJSON:
		return json(w)
	case FormatCSV:
		return csv(w)
	}
	return fmt.Errorf("unknown format %q: expected table, json or csv", format)
}

func days(d time.Duration) string { return strconv.FormatFloat(d.Hours()/24, 'f', 1, 64) }

func (p planView) table(w io.Writer) error {
	mode := "dry run: nothing will be released"
	if !p.DryRun {
		mode = "live: a run releases the allocations marked release"
	}
	fmt.Fprintf(w, "Release plan for site %s at %s (%s; max_releases_per_run = %d)\n\n",
		p.Site, p.Now.UTC().Format(time.RFC3339), mode, p.MaxReleasesPerRun)
	for _, n := range p.Notes {
		fmt.Fprintf(w, "NOTE: %s\n\n", n)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tTYPE\tUSER\tDAYS\tREASON\tDETAIL")
	for _, it := range p.Items {
		detail := it.Decision.Detail
		if it.Note != "" {
			detail += "; " + it.Note
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", it.Decision.Verdict, it.Type, it.Holder.Name,
			days(it.Decision.Inactivity), it.Decision.Reason, detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// With notices, two more columns: candidates to notify now and those waiting.
	notices := p.Staged != nil
	cols := func(t plan.Totals) string {
		if !notices {
			return fmt.Sprintf("%d\t%d\t%d\t%d", t.Considered, t.Release, t.Deferred, t.Keep)
		}
		return fmt.Sprintf("%d\t%d\t%d\t%d\t%d\t%d", t.Considered, t.Release, t.Deferred, t.Notice, t.Waiting, t.Keep)
	}
	if notices {
		fmt.Fprintln(tw, "TYPE\tCONSIDERED\tRELEASE\tDEFERRED\tNOTICE\tWAITING\tKEEP\tKEPT BY")
	} else {
		fmt.Fprintln(tw, "TYPE\tCONSIDERED\tRELEASE\tDEFERRED\tKEEP\tKEPT BY")
	}
	total := plan.Totals{}
	for _, t := range p.Totals {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Type, cols(t), keptBy(t.Kept))
		total.Considered += t.Considered
		total.Release += t.Release
		total.Deferred += t.Deferred
		total.Notice += t.Notice
		total.Waiting += t.Waiting
		total.Keep += t.Keep
	}
	fmt.Fprintf(tw, "all\t%s\n", cols(total))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, err := range p.Errors {
		fmt.Fprintf(w, "\nERROR: %v (those allocations are not planned)\n", err)
	}
	return nil
}

// planKeepReasons are the policy's keep reasons (a site's, then those only a tenant's
// gives) and the one the notice stage gives.
var planKeepReasons = func() []policy.Reason {
	out := append(slices.Clone(policy.KeepReasons), policy.ReasonNoEmail)
	for _, r := range policy.TenantKeepReasons {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}()

func keptBy(m map[policy.Reason]int) string {
	var parts []string
	for _, r := range planKeepReasons {
		if n := m[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", r, n))
		}
	}
	return strings.Join(parts, ", ")
}

type jsonItem struct {
	Verdict       policy.Verdict `json:"verdict"`
	Type          qrs.AccessType `json:"type"`
	AllocationID  string         `json:"allocation_id"`
	UserDirectory string         `json:"user_directory"`
	UserID        string         `json:"user_id"`
	DaysInactive  float64        `json:"days_inactive"`
	NeverUsed     bool           `json:"never_used"`
	LastUsed      *time.Time     `json:"last_used"`
	Reason        policy.Reason  `json:"reason"`
	Detail        string         `json:"detail"`
	Note          string         `json:"note,omitempty"`
	// With notices: the user's address, when the notice was accepted and from when the
	// allocation may be released (for a notice still to send: the date it will give).
	Email          string     `json:"email,omitempty"`
	NoticedAt      *time.Time `json:"noticed_at,omitempty"`
	ReleasableFrom *time.Time `json:"releasable_from,omitempty"`
}

func itemJSON(it *plan.Item) jsonItem {
	j := jsonItem{
		Verdict: it.Decision.Verdict, Type: it.Type, AllocationID: it.Holder.ID, UserDirectory: it.Holder.Directory, UserID: it.Holder.UserID,
		DaysInactive: it.Decision.Inactivity.Hours() / 24, NeverUsed: it.Decision.NeverUsed,
		Reason: it.Decision.Reason, Detail: it.Decision.Detail, Note: it.Note,
	}
	j.LastUsed, j.NoticedAt, j.ReleasableFrom = utcOrNil(it.Holder.LastUsed), utcOrNil(it.NoticedAt), utcOrNil(it.ReleasableFrom)
	j.Email = it.Email
	return j
}

func (p planView) json(w io.Writer) error {
	out := struct {
		Site              string        `json:"site"`
		Now               time.Time     `json:"now"`
		DryRun            bool          `json:"dry_run"`
		MaxReleasesPerRun int           `json:"max_releases_per_run"`
		Items             []jsonItem    `json:"items"`
		Totals            []plan.Totals `json:"totals"`
		Errors            []string      `json:"errors"`
		Notes             []string      `json:"notes,omitempty"`
	}{Notes: p.Notes, Site: p.Site, Now: p.Now.UTC(), DryRun: p.DryRun, MaxReleasesPerRun: p.MaxReleasesPerRun, Items: []jsonItem{}, Errors: []string{}}
	for i := range p.Items {
		out.Items = append(out.Items, itemJSON(&p.Items[i]))
	}
	out.Totals = p.Totals
	for _, err := range p.Errors {
		out.Errors = append(out.Errors, err.Error())
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

var csvHeader = []string{"verdict", "type", "allocation_id", "user_directory", "user_id", "days_inactive", "never_used", "last_used", "reason", "detail", "note", "email", "noticed_at", "releasable_from"}

// utcOrNil is t in UTC, or nil for the zero time (JSON null, an empty CSV cell).
func utcOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func (p planView) csv(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for i := range p.Items {
		j := itemJSON(&p.Items[i])
		row := []string{string(j.Verdict), string(j.Type), j.AllocationID, j.UserDirectory, j.UserID,
			strconv.FormatFloat(j.DaysInactive, 'f', 3, 64), strconv.FormatBool(j.NeverUsed), csvTime(j.LastUsed), string(j.Reason), j.Detail, j.Note,
			j.Email, csvTime(j.NoticedAt), csvTime(j.ReleasableFrom)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
