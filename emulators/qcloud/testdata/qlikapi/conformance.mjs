// Qlik's own client, @qlik/api, against the Qlik Cloud emulator. Environment: QCLOUD_URL
// (https://127.0.0.1:PORT), QCLOUD_API_KEY, NODE_EXTRA_CA_CERTS (the emulator's test CA).
// Prints one JSON object with what it read and did; any failure exits non-zero.
import { auth, licenses, users } from "@qlik/api";

const host = process.env.QCLOUD_URL;
const apiKey = process.env.QCLOUD_API_KEY;
auth.setDefaultHostConfig({ authType: "apikey", host, apiKey });

const out = {};
const overview = await licenses.getLicenseOverview();
out.overview = { status: overview.status, allotments: overview.data.allotments, licenseNumber: overview.data.licenseNumber };

// every page of the assignments, through next()
let page = await licenses.getLicenseAssignments({ limit: 100 });
out.assignmentPages = 1;
out.assignments = [...page.data.data];
while (page.next) {
  page = await page.next();
  out.assignmentPages++;
  out.assignments.push(...page.data.data);
}

const since = process.env.QCLOUD_SINCE;
let cons = await licenses.getLicenseConsumption({ filter: `endTime ge "${since}"`, limit: 100 });
out.consumption = [...cons.data.data];
while (cons.next) {
  cons = await cons.next();
  out.consumption.push(...cons.data.data);
}

const subject = process.env.QCLOUD_SUBJECT;
const found = await users.getUsers({ filter: `subject eq ${JSON.stringify(subject)}`, limit: 100 });
out.users = found.data.data.map((u) => ({ id: u.id, subject: u.subject, status: u.status }));

const del = await licenses.deleteLicenseAssignments({
  delete: [
    { subject, type: process.env.QCLOUD_TYPE },
    { subject: "CORP\\nobody", type: "analyzer" },
  ],
});
out.delete = { status: del.status, data: del.data.data };

try {
  await licenses.addLicenseAssignments({ add: [] });
  out.emptyAdd = "accepted";
} catch (e) {
  out.emptyAdd = { status: e.status, code: e.data?.errors?.[0]?.code };
}
// the OAuth machine-to-machine client: Qlik's client gets its token at /oauth/token
auth.setDefaultHostConfig({
  authType: "oauth2",
  host,
  clientId: process.env.QCLOUD_CLIENT_ID,
  clientSecret: process.env.QCLOUD_CLIENT_SECRET,
});
licenses.clearCache();
const status = await licenses.getLicenseStatus();
out.oauthStatus = { status: status.status, license: status.data.status };
process.stdout.write(JSON.stringify(out) + "\n");
