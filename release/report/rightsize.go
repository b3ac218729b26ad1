package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/rightsize"
)

// Rightsizing is the rightsize command's report of one site: every professional holder
// with its verdict and evidence, and the totals the plugin's qlik_sense_license_rightsizing
// reports.
type Rightsizing struct {
	Site         string
	LookbackDays int
	Result       *rightsize.Result
}

// Render writes the report as a table, JSON or CSV.
func (r *Rightsizing) Render(w io.Writer, format string) error {
	return render(w, format, r.table, r.json, r.csv)
}

type holderJSON struct {
	Verdict          rightsize.Reason `json:"verdict"`
	AllocationID     string           `json:"allocation_id"`
	UserDirectory    string           `json:"user_directory"`
	UserID           string           `json:"user_id"`
	LastUsed         *time.Time       `json:"last_used"`
	LastAuthored     *time.Time       `json:"last_authored"`
	LastAuthoredWhat string           `json:"last_authored_what"`
	AppsOwned        int              `json:"apps_owned"`
	AuthoredApps     int              `json:"authored_apps"`
	AuthoredSheets   int              `json:"authored_sheets"`
	Roles            []string         `json:"roles"`
	Detail           string           `json:"detail"`
}

// holderOf is one holder of the report; a candidate's detail says what QRS will do with
// its professional allocation when it was used within the quarantine period.
func holderOf(h *rightsize.Holder, now time.Time) holderJSON {
	dir, id := h.Allocation.Holder()
	j := holderJSON{
		Verdict: h.Reason, AllocationID: h.Allocation.ID, UserDirectory: dir, UserID: id,
		LastAuthoredWhat: h.Evidence.LastAuthoredWhat, AppsOwned: h.Evidence.AppsOwned, AuthoredApps: h.Evidence.AuthoredApps,
		AuthoredSheets: h.Evidence.AuthoredSheets, Roles: h.Evidence.Roles, Detail: h.Detail,
	}
	if h.Reason == rightsize.Candidate {
		j.Detail += rightsize.QuarantineNote(h.Allocation, now)
	}
	if j.Roles == nil {
		j.Roles = []string{}
	}
	j.LastUsed, j.LastAuthored = utcOrNil(h.Evidence.LastUsed), utcOrNil(h.Evidence.LastAuthored)
	return j
}

func day(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("2006-01-02")
}

func (r *Rightsizing) table(w io.Writer) error {
	res := r.Result
	fmt.Fprintf(w, "Right-sizing for site %s at %s (authoring in the last %d days, since %s)\n\n",
		r.Site, res.Now.UTC().Format(time.RFC3339), r.LookbackDays, res.Since.UTC().Format("2006-01-02"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tUSER\tLAST USED\tLAST AUTHORED\tAPPS OWNED\tROLES\tDETAIL")
	for i := range res.Holders {
		j := holderOf(&res.Holders[i], res.Now)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", j.Verdict, res.Holders[i].Allocation.HolderName(), day(j.LastUsed),
			day(j.LastAuthored), j.AppsOwned, orNone(strings.Join(j.Roles, ",")), j.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var kept []string
	for _, k := range rightsize.KeptReasons {
		kept = append(kept, fmt.Sprintf("%s %d", k, res.Counts[k]))
	}
	fmt.Fprintf(w, "\nprofessional holders %d; analyzer candidates %d; kept: %s (%d QRS requests)\n",
		len(res.Holders), res.Counts[rightsize.Candidate], strings.Join(kept, ", "), res.Requests)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (r *Rightsizing) json(w io.Writer) error {
	out := struct {
		Site         string         `json:"site"`
		Now          time.Time      `json:"now"`
		Since        time.Time      `json:"since"`
		LookbackDays int            `json:"lookback_days"`
		Holders      []holderJSON   `json:"holders"`
		Totals       map[string]int `json:"totals"`
		QRSRequests  int64          `json:"qrs_requests"`
	}{Site: r.Site, Now: r.Result.Now.UTC(), Since: r.Result.Since.UTC(), LookbackDays: r.LookbackDays, Holders: []holderJSON{},
		Totals: r.Result.Totals(), QRSRequests: r.Result.Requests}
	for i := range r.Result.Holders {
		out.Holders = append(out.Holders, holderOf(&r.Result.Holders[i], r.Result.Now))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func (r *Rightsizing) csv(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"verdict", "allocation_id", "user_directory", "user_id", "last_used", "last_authored", "last_authored_what",
		"apps_owned", "authored_apps", "authored_sheets", "roles", "detail"}); err != nil {
		return err
	}
	for i := range r.Result.Holders {
		j := holderOf(&r.Result.Holders[i], r.Result.Now)
		if err := cw.Write([]string{string(j.Verdict), j.AllocationID, j.UserDirectory, j.UserID, csvTime(j.LastUsed), csvTime(j.LastAuthored),
			j.LastAuthoredWhat, strconv.Itoa(j.AppsOwned), strconv.Itoa(j.AuthoredApps), strconv.Itoa(j.AuthoredSheets),
			strings.Join(j.Roles, ";"), j.Detail}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
