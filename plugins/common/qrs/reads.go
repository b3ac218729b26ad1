package qrs

import (
	"context"
	"errors"
	"net/url"
	"strings"
)

// Read strategies: how a set of entities known by id is read in the fewest requests. The
// policy, the plan, the sidecar's batches and right-sizing all read this way, so each
// costs what docs/performance.md's request counts say.

// MaxUserBatches: when the users asked for fit in this many `id eq … or …` requests they
// are read by id; otherwise the whole user list is streamed once (one request, and only
// the needed records are kept). A QRS request costs tens to hundreds of milliseconds, so
// fewer requests beat a smaller body.
const MaxUserBatches = 2

// UsersByID streams the users with the given ids in as few requests as the URL length
// allows (`id eq A or id eq B …`). Ids QRS does not know are simply absent.
func (c *Client) UsersByID(ctx context.Context, ids []string, fn func(*User) error) error {
	for _, f := range BatchEq("id", ids, 0) {
		if err := c.Users(ctx, f, fn); err != nil {
			return err
		}
	}
	return nil
}

// LookupUsers reads the given users, by id: in batches when few (MaxUserBatches requests
// at most), else the whole list once, keeping only those asked for. Ids QRS does not know
// are absent from the map.
func (c *Client) LookupUsers(ctx context.Context, ids []string) (map[string]*User, error) {
	need := make(map[string]bool, len(ids))
	for _, id := range ids {
		need[id] = true
	}
	out := make(map[string]*User, len(need))
	keep := func(u *User) error {
		if need[u.ID] {
			out[u.ID] = u
		}
		return nil
	}
	if len(BatchEq("id", ids, 0)) > MaxUserBatches {
		return out, c.Users(ctx, "", keep)
	}
	if err := c.UsersByID(ctx, ids, keep); err != nil {
		return nil, err
	}
	return out, nil
}

// AllocationsByID reads the allocations of type t with the given ids, in as few filtered
// requests as the URL bound allows (one for a batch of about 40); absent ids are missing
// from the map.
func (c *Client) AllocationsByID(ctx context.Context, t AccessType, ids []string) (map[string]*Allocation, error) {
	found := map[string]*Allocation{}
	for _, f := range BatchEq("id", ids, 0) {
		if err := c.Allocations(ctx, t, f, func(a *Allocation) error {
			found[a.ID] = a
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// AllocationsOfUsers reads the allocations of type t held by the given users, by
// lower-case user id, in as few filtered requests as the URL bound allows.
func (c *Client) AllocationsOfUsers(ctx context.Context, t AccessType, userIDs []string) (map[string]*Allocation, error) {
	out := map[string]*Allocation{}
	for _, f := range BatchEq("user.id", userIDs, 0) {
		if err := c.Allocations(ctx, t, f, func(a *Allocation) error {
			if a.User != nil {
				out[strings.ToLower(a.User.ID)] = a
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Privileges reads the acting user's privileges on one entity of a collection (a path
// without /qrs, such as "/user" or an AccessType's Endpoint): those of the first row of
// its condensed list with privileges=true. The rest of the list is not read. found is
// false for an empty collection.
func (c *Client) Privileges(ctx context.Context, path string) (privileges []string, found bool, err error) {
	errFirst := errors.New("first row read")
	err = streamList(ctx, c, path, url.Values{"privileges": {"true"}}, func(row *struct {
		Privileges []string `json:"privileges"`
	}) error {
		privileges, found = row.Privileges, true
		return errFirst
	})
	if errors.Is(err, errFirst) {
		err = nil
	}
	return privileges, found, err
}
