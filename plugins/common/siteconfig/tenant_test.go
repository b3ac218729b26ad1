package siteconfig_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

const tenantTable = `[[inputs.qliksense_license]]
  tenant = "https://acme.eu.qlikcloud.com"
`

// A tenant: the site tag from the host, the API key a secret, the release table the same,
// with the tenant's protections.
func TestTenant(t *testing.T) {
	t.Setenv("QLIK_API_KEY", "eyJhbGciOi.secret")
	c, err := load(t, tenantTable+`  api_key = "${QLIK_API_KEY}"
  tls_ca = "/ca.pem"
  [inputs.qliksense_license.release]
    dry_run = false
    always_release_disabled = true
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
      notice_days = 7
    [inputs.qliksense_license.release.protect]
      users = ["auth0|boss", "ceo@example.com"]
      groups = ["Finance"]
      roles = ["TenantAdmin"]
`)
	require.NoError(t, err)
	require.True(t, c.IsTenant())
	require.Equal(t, "acme.eu.qlikcloud.com", c.Site)
	require.Equal(t, siteconfig.TenantAPIKey, c.TenantAuthMode())
	key, err := c.APIKey.Get()
	require.NoError(t, err)
	require.Equal(t, "eyJhbGciOi.secret", key.String())
	key.Destroy()
	p, err := c.CompilePolicy()
	require.NoError(t, err)
	require.True(t, p.IsTenant())
	require.False(t, p.DryRun)
	days, on := p.Enabled(qrs.Professional)
	require.True(t, on)
	require.Equal(t, 30, days)
	require.Equal(t, 7, p.NoticeDays(qrs.Professional))

	c, err = load(t, `[[inputs.qliksense_license]]
  tenant = "https://acme.us.qlikcloud.com/"
  site = "Cloud US"
  oauth_client_id = "0a1b"
  oauth_client_secret = "s3cr3t"
`)
	require.NoError(t, err)
	require.Equal(t, "Cloud US", c.Site)
	require.Equal(t, "https://acme.us.qlikcloud.com", c.Tenant)
	require.Equal(t, siteconfig.TenantOAuth, c.TenantAuthMode())
}

// Every wrong tenant table is refused with the key named.
func TestTenantErrors(t *testing.T) {
	key := "  api_key = \"k\"\n"
	for _, tc := range []struct{ body, want string }{
		{"[[inputs.qliksense_license]]\n" + key, `"tenant" is required with api_key or oauth_client_id`},
		{tenantTable, `tenant needs api_key (an API key of a user who may manage licenses) or oauth_client_id and oauth_client_secret`},
		{tenantTable + key + "  server = \"https://qlik:4242\"\n", `"server" and "tenant" are both set`},
		{"[[inputs.qliksense_license]]\n  tenant = \"http://acme.eu.qlikcloud.com\"\n" + key, `tenant = "http://acme.eu.qlikcloud.com": expected "https://NAME.REGION.qlikcloud.com" without a path`},
		{"[[inputs.qliksense_license]]\n  tenant = \"https://acme.eu.qlikcloud.com/api\"\n" + key, `expected "https://NAME.REGION.qlikcloud.com" without a path`},
		{"[[inputs.qliksense_license]]\n  tenant = \"https://bot:pa55word@acme.eu.qlikcloud.com\"\n" + key, `tenant = "https://xxxxx@acme.eu.qlikcloud.com": a user name or password in the URL would reach logs and errors; Qlik Cloud takes them in api_key`},
		{"[[inputs.qliksense_license]]\n  tenant = \"https://acme.eu.qlikcloud.com/?api_key=pa55word\"\n" + key, `tenant = "https://acme.eu.qlikcloud.com/?api_key=xxxxx": expected`},
		{tenantTable + key + "  oauth_client_id = \"x\"\n  oauth_client_secret = \"y\"\n", "api_key and oauth_client_id/oauth_client_secret are both set"},
		{tenantTable + "  oauth_client_id = \"x\"\n", "oauth_client_id needs oauth_client_secret"},
		{tenantTable + "  oauth_client_secret = \"x\"\n", "oauth_client_secret needs oauth_client_id"},
		{tenantTable + key + "  auth = \"jwt\"\n", "auth has no meaning for a Qlik Cloud tenant"},
		{tenantTable + key + "  virtual_proxy = \"hdr\"\n", "virtual_proxy has no meaning for a Qlik Cloud tenant"},
		{tenantTable + key + "  qlik_user = \"UserDirectory=X; UserId=y\"\n", "qlik_user has no meaning"},
		{tenantTable + key + "  jwt_file = \"/t\"\n", "jwt_file has no meaning"},
		{tenantTable + key + "  allocation_details = true\n", "allocation_details has no meaning"},
		{tenantTable + key + "  [inputs.qliksense_license.rightsize]\n    enabled = true\n", "rightsize has no meaning"},
		{tenantTable + key + "  tls_enable = false\n", "tls_enable = false: Qlik Cloud answers over HTTPS only"},
		{tenantTable + key + "  timeout = \"0s\"\n", `timeout = "0s": expected a duration from 1s to 10m`},
		{tenantTable + key + "  [inputs.qliksense_license.release.protect]\n    user_directories = [\"CORP\"]\n", "release.protect.user_directories has no meaning for a Qlik Cloud tenant"},
		{tenantTable + key + "  [inputs.qliksense_license.release.protect]\n    tags = [\"vip\"]\n", "release.protect.tags has no meaning"},
		{tenantTable + key + "  [inputs.qliksense_license.release]\n    always_release_removed_externally = true\n", "release.always_release_removed_externally has no meaning"},
		{tenantTable + key + "  [inputs.qliksense_license.release.user_pass]\n    enabled = true\n", "release.user_pass has no meaning"},
		{minimal + "  [inputs.qliksense_license.release.protect]\n    roles = [\"TenantAdmin\"]\n", "release.protect.roles applies to a Qlik Cloud tenant only"},
	} {
		c, err := load(t, tc.body)
		if err == nil && c != nil {
			_, err = c.CompilePolicy()
		}
		require.ErrorContains(t, err, tc.want, tc.body)
		require.NotContains(t, err.Error(), "pa55word")
	}
}

// A site and a tenant sit in one file: LoadAll gives both, each validated on its own;
// Load (the shim's one table) still refuses the file.
func TestSiteAndTenantInOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "both.conf")
	require.NoError(t, os.WriteFile(path, []byte(minimal+`  [inputs.qliksense_license.release]
    [inputs.qliksense_license.release.protect]
      users = ['CORP\boss']
`+tenantTable+`  api_key = "k"
  [inputs.qliksense_license.release.protect]
    users = ["boss@example.com"]
    roles = ["TenantAdmin"]
`), 0o600))
	cs, err := siteconfig.LoadAll(path)
	require.NoError(t, err)
	require.Len(t, cs, 2)
	for _, c := range cs {
		require.NoError(t, c.Validate())
		_, err := c.CompilePolicy()
		require.NoError(t, err)
	}
	require.False(t, cs[0].IsTenant())
	require.True(t, cs[1].IsTenant())
	require.Equal(t, "Prod / EU", cs[0].Site)
	require.Equal(t, "acme.eu.qlikcloud.com", cs[1].Site)
	require.NoError(t, siteconfig.Distinct(cs))
	c := siteconfig.Defaults()
	require.ErrorContains(t, siteconfig.Load(path, &c), "2 [[inputs.qliksense_license]] tables: one file is one site")

	cs[1].Site = cs[0].Site
	require.EqualError(t, siteconfig.Distinct(cs), `tables 1 and 2 are both site "Prod / EU": give each its own site`)

	// Strict for every table.
	require.NoError(t, os.WriteFile(path, []byte(minimal+tenantTable+"  api_kee = \"k\"\n"), 0o600))
	_, err = siteconfig.LoadAll(path)
	require.ErrorContains(t, err, "unknown setting(s) inputs.qliksense_license.api_kee")
}

// A tenant's table never builds a QRS client: a command that only knows sites says so.
func TestTenantHasNoQRSClient(t *testing.T) {
	c, err := load(t, tenantTable+"  api_key = \"k\"\n")
	require.NoError(t, err)
	_, err = c.NewClient(nil)
	require.EqualError(t, err, `tenant = "https://acme.eu.qlikcloud.com" is a Qlik Cloud tenant, which has no QRS: this command does not serve tenants yet`)
	client, err := c.NewTenantClient(nil)
	require.NoError(t, err)
	require.Equal(t, "https://acme.eu.qlikcloud.com", client.Tenant())
}

// A tenant's state files about its users — the notices and the last uses — are named
// after its host too (subjects repeat across tenants: a table pointed at another tenant
// starts afresh), the same for the plugin and the sidecar; a site's keep their names.
func TestTenantStateFilesNamedAfterTheHost(t *testing.T) {
	dir := t.TempDir()
	release := "  api_key = \"k\"\n  site = \"cloud\"\n  [inputs.qliksense_license.release]\n    state_dir = " + strconv.Quote(dir) + "\n"
	c, err := load(t, "[[inputs.qliksense_license]]\n  tenant = \"https://Acme.EU.qlikcloud.com:443/\"\n"+release)
	require.NoError(t, err)
	st, err := c.Sidecar()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "cloud-notices-acme.eu.qlikcloud.com.json"), st.NoticeFile())
	require.Equal(t, st.NoticeFile(), c.NoticeFile(), "the plugin reads the file the sidecar writes")
	require.Equal(t, filepath.Join(dir, "cloud-uses-acme.eu.qlikcloud.com.json"), st.UsesFile())
	require.Equal(t, filepath.Join(dir, "cloud-report.json"), st.ReportFile())

	other, err := load(t, "[[inputs.qliksense_license]]\n  tenant = \"https://trial.us.qlikcloud.com\"\n"+release)
	require.NoError(t, err)
	ost, err := other.Sidecar()
	require.NoError(t, err)
	require.NotEqual(t, st.NoticeFile(), ost.NoticeFile(), "another tenant under the same site name")
	require.NotEqual(t, st.UsesFile(), ost.UsesFile())

	site, err := load(t, "[[inputs.qliksense_license]]\n  server = \"https://qlik.example.com:4242\"\n  tls_cert = \"/c.pem\"\n  tls_key = \"/k.pem\"\n  site = \"cloud\"\n  [inputs.qliksense_license.release]\n    state_dir = "+strconv.Quote(dir)+"\n")
	require.NoError(t, err)
	sst, err := site.Sidecar()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "cloud-notices.json"), sst.NoticeFile())
	require.Equal(t, sst.NoticeFile(), site.NoticeFile())
}

// The same tenant written another way keeps its state files: an empty port (the client
// goes to 443 all the same) and an IPv6 address with or without HTTPS's default port name
// the files as the plain spelling does; another port is another file.
func TestTenantStateFilesSameTenantOtherSpelling(t *testing.T) {
	dir := t.TempDir()
	files := func(tenant string) (string, string) {
		t.Helper()
		c, err := load(t, "[[inputs.qliksense_license]]\n  tenant = "+strconv.Quote(tenant)+"\n  api_key = \"k\"\n  site = \"cloud\"\n  [inputs.qliksense_license.release]\n    state_dir = "+strconv.Quote(dir)+"\n")
		require.NoError(t, err)
		st, err := c.Sidecar()
		require.NoError(t, err)
		require.Equal(t, st.NoticeFile(), c.NoticeFile())
		return st.NoticeFile(), st.UsesFile()
	}
	n, u := files("https://acme.eu.qlikcloud.com")
	for _, other := range []string{"https://acme.eu.qlikcloud.com:", "https://ACME.eu.qlikcloud.com:443/"} {
		on, ou := files(other)
		require.Equal(t, n, on, other)
		require.Equal(t, u, ou, other)
	}
	n6, u6 := files("https://[2001:db8::1]")
	on6, ou6 := files("https://[2001:db8::1]:443")
	require.Equal(t, n6, on6)
	require.Equal(t, u6, ou6)
	p, _ := files("https://acme.eu.qlikcloud.com:8443")
	require.Equal(t, filepath.Join(dir, "cloud-notices-acme.eu.qlikcloud.com_8443.json"), p, "another port: another file, named as before")
	p6, _ := files("https://[2001:db8::1]:8443")
	require.Equal(t, filepath.Join(dir, "cloud-notices-_2001_db8_1_8443.json"), p6, "named as before")
}
