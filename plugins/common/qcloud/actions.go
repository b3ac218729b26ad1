package qcloud

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

type wireItem struct {
	Subject       string `json:"subject,omitempty"`
	Type          string `json:"type,omitempty"`
	SourceType    string `json:"sourceType,omitempty"`
	SourceSubject string `json:"sourceSubject,omitempty"`
}

type wireItemStatus struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Title   string `json:"title"`
	Subject string `json:"subject"`
	Type    string `json:"type"`
}

// DeleteAssignments deletes the assignments (POST …/actions/delete, ActionBatch per call)
// and returns each item's definitive result. An ambiguous call (5xx, gateway, timeout,
// lost answer) returns the results of the calls before it and an *AmbiguousError naming
// the items in doubt; the caller reads them back (AssignmentsOf).
func (c *Client) DeleteAssignments(ctx context.Context, keys []Key) ([]ItemResult, error) {
	items := make([]wireItem, len(keys))
	for i, k := range keys {
		items[i] = wireItem{Subject: k.Subject, Type: k.Type}
	}
	return c.action(ctx, "delete", "deleting license assignments", keys, items)
}

// AddAssignments assigns licenses (POST …/actions/add): 201 done, 403 LICENSES-011 no
// allotment left.
func (c *Client) AddAssignments(ctx context.Context, keys []Key) ([]ItemResult, error) {
	items := make([]wireItem, len(keys))
	for i, k := range keys {
		items[i] = wireItem{Subject: k.Subject, Type: k.Type}
	}
	return c.action(ctx, "add", "adding license assignments", keys, items)
}

// UpdateAssignments changes assignments (POST …/actions/update), e.g. professional →
// analyzer. Each result's Key is the target (type and subject).
func (c *Client) UpdateAssignments(ctx context.Context, updates []Update) ([]ItemResult, error) {
	keys := make([]Key, len(updates))
	items := make([]wireItem, len(updates))
	for i, u := range updates {
		keys[i] = Key{Type: u.Type, Subject: u.Subject}
		items[i] = wireItem(u)
	}
	return c.action(ctx, "update", "updating license assignments", keys, items)
}

func (c *Client) action(ctx context.Context, verb, what string, keys []Key, items []wireItem) ([]ItemResult, error) {
	var out []ItemResult
	for start := 0; start < len(items); start += ActionBatch {
		end := min(start+ActionBatch, len(items))
		res, err := c.actionBatch(ctx, verb, what, keys[start:end], items[start:end])
		out = append(out, res...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (c *Client) actionBatch(ctx context.Context, verb, what string, keys []Key, items []wireItem) ([]ItemResult, error) {
	name := fmt.Sprintf("%s (POST %s%s, %d item(s))", what, pathActions, verb, len(items))
	r, err := c.do(ctx, call{name: name, method: http.MethodPost, path: pathActions + verb, body: map[string]any{verb: items}, action: true}, keys)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusMultiStatus {
		return nil, &AmbiguousError{Call: name, Keys: keys, Status: r.status,
			Err: fmt.Errorf("expected 207 Multi-Status with a status per item, got %d", r.status)}
	}
	// The items are in "data" (Qlik's types); the reference's own example of the delete
	// answer lists them under the verb ("delete"): either is read.
	var w map[string]json.RawMessage
	var data []wireItemStatus
	err = json.Unmarshal(r.body, &w)
	if err == nil {
		raw, ok := w["data"]
		if !ok {
			raw, ok = w[verb]
		}
		if ok {
			err = json.Unmarshal(raw, &data)
		}
	}
	if err != nil {
		return nil, &AmbiguousError{Call: name, Keys: keys, Status: r.status, Err: fmt.Errorf("decoding the 207: %w", err)}
	}
	return matchItems(name, keys, data)
}

// matchItems pairs a 207's items with the keys asked: by position when the answer has one
// item per key and each named subject and type agrees, by type and subject otherwise (then by
// subject alone when unique and the item names no type). Keys left without a status are in
// doubt, and so is a key the answer gives two different statuses (an item repeated with a
// 200 and an error): which one holds is known only by reading it back.
func matchItems(name string, keys []Key, data []wireItemStatus) ([]ItemResult, error) {
	byPos := len(data) == len(keys)
	for i := 0; byPos && i < len(data); i++ {
		if (data[i].Subject != "" && data[i].Subject != keys[i].Subject) || (data[i].Type != "" && data[i].Type != keys[i].Type) {
			byPos = false
		}
	}
	status := make([]*wireItemStatus, len(keys))
	conflict := make([]bool, len(keys))
	if byPos {
		for i := range data {
			status[i] = &data[i]
		}
	} else {
		idx := map[Key]int{}
		bySubject := map[string][]int{}
		for i, k := range keys {
			idx[k] = i
			bySubject[k.Subject] = append(bySubject[k.Subject], i)
		}
		for j := range data {
			d := &data[j]
			i, ok := idx[Key{Type: d.Type, Subject: d.Subject}]
			if !ok && d.Type == "" && len(bySubject[d.Subject]) == 1 {
				i, ok = bySubject[d.Subject][0], true
			}
			switch {
			case !ok:
			case status[i] == nil:
				status[i] = d
			case status[i].Status != d.Status || status[i].Code != d.Code:
				conflict[i] = true
			}
		}
	}
	var out []ItemResult
	var doubt []Key
	for i, k := range keys {
		s := status[i]
		if s == nil || conflict[i] || s.Status < 200 || s.Status >= 500 || (s.Status >= 300 && s.Status < 400) {
			doubt = append(doubt, k)
			continue
		}
		res := ItemResult{Key: k, Status: s.Status, Code: printable(s.Code, 40), Title: printable(s.Title, 200)}
		switch {
		case s.Status < 300:
			res.Outcome = Done
		case s.Status == http.StatusNotFound && (s.Code == "LICENSES-016" || s.Code == ""):
			res.Outcome = NotFound
		case s.Status == http.StatusForbidden && s.Code == "LICENSES-011":
			res.Outcome = NoAllotment
		default:
			res.Outcome = Refused
		}
		out = append(out, res)
	}
	if len(doubt) > 0 {
		return out, &AmbiguousError{Call: name, Keys: doubt, Status: http.StatusMultiStatus,
			Err: fmt.Errorf("the 207 gave no definitive status for %d item(s)", len(doubt))}
	}
	return out, nil
}
