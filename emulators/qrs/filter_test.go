package emulator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func filterUsers() []*User {
	return []*User{
		{ID: "9e403391-58a7-4442-ada7-c54dc8906016", UserID: "O'Brien", UserDirectory: "CORP", Name: "Siobhan",
			Created: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), Tags: []Tag{{Name: "VIP"}, {Name: "License do not release"}},
			CustomProperties: []CustomProperty{{Name: "LicenseManage", Value: "do-not-release"}}},
		{ID: "11111111-2222-4333-8444-555555555555", UserID: "åsa", UserDirectory: "corp", Name: "Åsa", Inactive: true,
			Created: time.Date(2024, 5, 2, 12, 0, 0, 0, time.UTC)},
		{ID: "22222222-2222-4333-8444-555555555555", UserID: `back\slash`, UserDirectory: "LAB", Name: "B", Blacklisted: true,
			Created: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), Tags: []Tag{{Name: "Contractor"}}},
	}
}

func TestFilterMatches(t *testing.T) {
	users := filterUsers()
	for _, tc := range []struct {
		filter string
		want   []string // UserIDs
	}{
		{"", []string{"O'Brien", "åsa", `back\slash`}},
		{`userId eq 'o\'brien'`, []string{"O'Brien"}},
		{`UserId EQ 'ÅSA'`, []string{"åsa"}},
		{`userId eq 'back\\slash'`, []string{`back\slash`}},
		{`userDirectory eq 'CORP'`, []string{"O'Brien", "åsa"}},
		{`userDirectory ne 'corp'`, []string{`back\slash`}},
		{`userId sw 'o'`, []string{"O'Brien"}},
		{`name ew 'EN'`, nil},
		{`name so 'obh'`, []string{"O'Brien"}},
		{`tags.name eq 'license do not release'`, []string{"O'Brien"}},
		{`tags.name eq 'Contractor' or inactive eq true`, []string{"åsa", `back\slash`}},
		{`(userDirectory eq 'corp') and (inactive eq True)`, []string{"åsa"}},
		{`userDirectory eq 'corp' and (inactive eq false or blacklisted eq true)`, []string{"O'Brien"}},
		{`customProperties.definition.name eq 'LicenseManage' and customProperties.value eq 'do-not-release'`, []string{"O'Brien"}},
		{`id eq 9E403391-58A7-4442-ADA7-C54DC8906016`, []string{"O'Brien"}},
		{`id eq 9e403391-58a7-4442-ada7-c54dc8906016 or id eq 22222222-2222-4333-8444-555555555555`, []string{"O'Brien", `back\slash`}},
		{`createdDate lt '2024-05-01T00:00:00.000Z'`, []string{`back\slash`}},
		{`createdDate le '2024-05-01 00:00:00'`, []string{"O'Brien", `back\slash`}},
		{`createdDate gt '2024/05/01 00:00:00'`, []string{"åsa"}},
		{`createdDate ge '2024-05-02T12:00:00Z'`, []string{"åsa"}},
		{`userId eq '\' or userId sw \''`, nil},
		// An "or" of eq terms on one property is a set lookup: case-insensitive, a
		// collection property matching any of its values, other shapes left alone.
		{`userId eq 'ÅSA' or userId eq 'O\'BRIEN' or userId eq 'nobody'`, []string{"O'Brien", "åsa"}},
		{`tags.name eq 'nothing' or tags.name eq 'CONTRACTOR'`, []string{`back\slash`}},
		{`userId eq 'åsa' or userDirectory eq 'lab'`, []string{"åsa", `back\slash`}},
		{`userId eq 'åsa' or userId sw 'o'`, []string{"O'Brien", "åsa"}},
	} {
		cf, err := compileFilter(tc.filter, userFields)
		require.NoError(t, err, tc.filter)
		var got []string
		for _, u := range users {
			if cf == nil || cf.match(u) {
				got = append(got, u.UserID)
			}
		}
		require.Equal(t, tc.want, got, tc.filter)
	}
	cf, err := compileFilter(`id eq 9e403391-58a7-4442-ada7-c54dc8906016 or id eq 22222222-2222-4333-8444-555555555555`, userFields)
	require.NoError(t, err)
	require.Equal(t, "in", cf.op, "compiled to a set")
}

func TestFilterErrors(t *testing.T) {
	for _, tc := range []struct{ filter, want string }{
		{`name eq 'Q1''25'`, `Cannot parse the expression: name eq 'Q1''25'`},
		{`name eq "x"`, `Cannot parse the expression: name eq "x"`},
		{`name eq 'unterminated`, `Cannot parse the expression: name eq 'unterminated`},
		{`name eq`, `Cannot parse the expression: name eq`},
		{`name is 'x'`, `Cannot parse the expression: name is 'x'`},
		{`(name eq 'x'`, `Cannot parse the expression: (name eq 'x'`},
		{`name eq 'x' and`, `Cannot parse the expression: name eq 'x' and`},
		{`()`, `Invalid expression`},
		{`name eq 'x' or ()`, `Invalid expression`},
		{`colour eq 'red'`, `Cannot parse the expression: unknown property 'colour' in colour eq 'red'`},
		{`inactive eq maybe`, `Cannot parse the expression: 'maybe' is not a valid Boolean in inactive eq maybe`},
		{`createdDate lt 'last tuesday'`, `Cannot parse the expression: 'last tuesday' is not a valid DateTime in createdDate lt 'last tuesday'`},
		{`name eq Smith`, `Cannot parse the expression: string values must be quoted in name eq Smith`},
		{`name gt 'a'`, `Cannot parse the expression: operator 'gt' is not valid for 'name' in name gt 'a'`},
		{`inactive sw 'a'`, `Cannot parse the expression: operator 'sw' is not valid for 'inactive' in inactive sw 'a'`},
	} {
		_, err := compileFilter(tc.filter, userFields)
		require.EqualError(t, err, tc.want, tc.filter)
	}
}

func TestOrderBy(t *testing.T) {
	users := filterUsers()
	o, err := parseOrderBy("userDirectory desc, name", userFields)
	require.NoError(t, err)
	sorted := append([]*User(nil), users...)
	sortUsers(sorted, o)
	require.Equal(t, []string{"LAB", "CORP", "corp"}, []string{sorted[0].UserDirectory, sorted[1].UserDirectory, sorted[2].UserDirectory})

	_, err = parseOrderBy("name sideways", userFields)
	require.EqualError(t, err, "Cannot parse the orderby expression: name sideways")
	_, err = parseOrderBy("colour", userFields)
	require.EqualError(t, err, "Cannot parse the orderby expression: unknown property 'colour'")
}

func sortUsers(us []*User, o *orderSpec[*User]) {
	for i := 1; i < len(us); i++ {
		for j := i; j > 0 && o.compare(us[j-1], us[j]) > 0; j-- {
			us[j-1], us[j] = us[j], us[j-1]
		}
	}
}
