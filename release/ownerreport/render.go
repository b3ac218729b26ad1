package ownerreport

import (
	"bytes"
	htmltemplate "html/template"
	"io"
	"strings"
	texttemplate "text/template"
)

// CSP forbids the page every request: no script, no image, font or style from anywhere
// but the page itself (inline styles only).
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

// The page is laid out with tables and inline styles (what Outlook's HTML engine and
// mobile mail apps agree on), 680 px at most and fluid below, so it reads on a phone.
// Outlook for Windows draws no SVG: every chart's numbers are in the sentence above it.
var page = htmltemplate.Must(htmltemplate.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="` + CSP + `">
<title>{{.Title}}</title>
</head>
<body style="margin:0;padding:0;background:#f4f5f7;color:#1f2933;font-family:'Segoe UI',Arial,sans-serif;font-size:15px;line-height:1.45">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;background:#f4f5f7"><tr><td align="center" style="padding:12px 6px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;max-width:680px;background:#ffffff;border:1px solid #d9e2ec">
<tr><td style="padding:18px 20px;background:#102a43;color:#ffffff">
<h1 style="margin:0;font-size:22px;font-weight:bold">{{.Title}}</h1>
<p style="margin:4px 0 0 0;color:#bcccdc;font-size:13px">Made {{.Made}}; the release policy's period: {{.From}} to {{.To}}</p>
</td></tr>
<tr><td style="padding:16px 20px 4px 20px">
<h2 style="margin:0 0 8px 0;font-size:18px">What to buy</h2>
{{range .Types}}<p class="answer" style="margin:0 0 6px 0;font-weight:bold">{{.Answer}}</p>
{{end}}</td></tr>
{{range .Types}}<tr><td class="type" style="padding:14px 20px;border-top:1px solid #e4e7eb">
<h2 style="margin:0 0 8px 0;font-size:18px">{{.Name}}</h2>
{{if .HasPool}}<table role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:0 0 10px 0;font-size:14px">
<tr><td style="padding:2px 14px 2px 0;color:#52606d">Pool</td><td class="pool" style="padding:2px 0;font-weight:bold;text-align:right">{{.Pool.Total}}</td></tr>
<tr><td style="padding:2px 14px 2px 0;color:#52606d">Held (allocated {{.Pool.Allocated}} + quarantined {{.Pool.Quarantined}})</td><td class="held" style="padding:2px 0;font-weight:bold;text-align:right">{{.Pool.Held}}</td></tr>
<tr><td style="padding:2px 14px 2px 0;color:#52606d">Available</td><td class="available" style="padding:2px 0;font-weight:bold;text-align:right">{{.Pool.Available}}</td></tr>
</table>{{end}}
<p style="margin:0 0 8px 0;font-weight:bold">{{.Answer}}</p>
{{if .Chart}}{{.Chart}}{{else}}<p style="margin:0;color:#52606d">{{.NoChart}}</p>{{end}}
{{if .Basis}}<p style="margin:8px 0 0 0;font-size:13px;color:#3e4c59">{{.Basis}}</p>{{end}}
</td></tr>
{{end}}<tr><td style="padding:14px 20px;border-top:1px solid #e4e7eb">
<h2 style="margin:0 0 8px 0;font-size:18px">What the release policy did, {{.From}} to {{.To}}</h2>
{{if .DidErr}}<p style="margin:0;color:#52606d">Not known: {{.DidErr}}.</p>{{else}}<ul style="margin:0;padding-left:20px">{{range .Did}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2 style="margin:14px 0 8px 0;font-size:18px">What it can reclaim now</h2>
{{if .NowErr}}<p style="margin:0;color:#52606d">Not known: {{.NowErr}}.</p>{{else}}<ul style="margin:0;padding-left:20px">{{range .Now}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2 style="margin:14px 0 8px 0;font-size:18px">Right-sizing</h2>
<p style="margin:0">{{if .RightsizeErr}}Not known: {{.RightsizeErr}}.{{else}}{{.Rightsize}}{{end}}</p>
</td></tr>
<tr><td style="padding:14px 20px;border-top:1px solid #e4e7eb">
<h2 style="margin:0 0 8px 0;font-size:18px">Needs a person</h2>
{{if .Attention}}<ul style="margin:0;padding-left:20px;color:#8a1c1c">{{range .Attention}}<li>{{.}}</li>{{end}}</ul>{{else}}<p style="margin:0">Nothing.</p>{{end}}
<h2 style="margin:14px 0 8px 0;font-size:18px">{{.LicenseTitle}}</h2>
<p style="margin:0">{{.License}}</p>
</td></tr>
<tr><td style="padding:14px 20px 18px 20px;border-top:1px solid #e4e7eb;font-size:13px;color:#3e4c59">
<h2 style="margin:0 0 6px 0;font-size:15px">When each number was read</h2>
<table role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse">
{{range .Fresh}}<tr><td style="padding:1px 14px 1px 0">{{.What}}</td><td style="padding:1px 0">{{.When}}</td></tr>
{{end}}</table>
<p style="margin:8px 0 0 0">Written by qliksense-license-release for site {{.Site}}.</p>
</td></tr>
</table>
</td></tr></table>
</body>
</html>
`))

var text = texttemplate.Must(texttemplate.New("report").Parse(`{{.Title}}
Made {{.Made}}; the release policy's period: {{.From}} to {{.To}}

WHAT TO BUY
{{range .Types}}  {{.Answer}}
{{end}}{{range .Types}}
{{.Name}}
{{if .HasPool}}  Pool {{.Pool.Total}}, held {{.Pool.Held}} (allocated {{.Pool.Allocated}} + quarantined {{.Pool.Quarantined}}), available {{.Pool.Available}}
{{end}}{{if .Basis}}  {{.Basis}}
{{end}}{{end}}
WHAT THE RELEASE POLICY DID, {{.From}} to {{.To}}
{{if .DidErr}}  Not known: {{.DidErr}}.
{{else}}{{range .Did}}  - {{.}}
{{end}}{{end}}
WHAT IT CAN RECLAIM NOW
{{if .NowErr}}  Not known: {{.NowErr}}.
{{else}}{{range .Now}}  - {{.}}
{{end}}{{end}}
RIGHT-SIZING
  {{if .RightsizeErr}}Not known: {{.RightsizeErr}}.{{else}}{{.Rightsize}}{{end}}

NEEDS A PERSON
{{if .Attention}}{{range .Attention}}  - {{.}}
{{end}}{{else}}  Nothing.
{{end}}
{{.LicenseTitleText}}
  {{.License}}

WHEN EACH NUMBER WAS READ
{{range .Fresh}}  {{.What}}: {{.When}}
{{end}}`))

// HTML writes the report's page.
func (d *Data) HTML(w io.Writer) error { return page.Execute(w, d.view()) }

// Text writes the report as plain text (the mail's text part).
func (d *Data) Text(w io.Writer) error { return text.Execute(w, d.view()) }

// Parts are the report's HTML page and its plain-text twin.
func (d *Data) Parts() (htmlPart, textPart string, err error) {
	var h, t bytes.Buffer
	if err := d.HTML(&h); err != nil {
		return "", "", err
	}
	if err := d.Text(&t); err != nil {
		return "", "", err
	}
	return h.String(), strings.TrimRight(t.String(), "\n") + "\n", nil
}
