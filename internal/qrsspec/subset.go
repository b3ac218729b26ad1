package qrsspec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Operation is a method on a specification path (without /qrs), e.g. GET /user/full.
type Operation struct{ Method, Path string }

// subsetKey is the top-level key of a subset that names the full specification it was cut
// from, so a reader can tell the file is not the whole document.
const subsetKey = "x-qliksense-license-subset"

// Subset cuts the full specification down to the given operations: for each, its path
// entry with only those methods, each method with its parameters and its success (2xx)
// responses, and every definition those reference, followed transitively through $ref.
// The output is deterministic (sorted keys, two-space indent), so the committed subset can
// be compared byte for byte with a fresh cut.
func Subset(full []byte, ops []Operation) ([]byte, error) {
	doc, err := decode(full)
	if err != nil {
		return nil, err
	}
	if doc["swagger"] != "2.0" {
		return nil, fmt.Errorf("the full specification is not a Swagger 2.0 document")
	}
	fullPaths, _ := doc["paths"].(map[string]any)
	fullDefs, _ := doc["definitions"].(map[string]any)

	paths := map[string]any{}
	for _, op := range ops {
		key := findPath(fullPaths, op.Path)
		if key == "" {
			return nil, fmt.Errorf("%s %s: the path is not in the full specification", op.Method, op.Path)
		}
		method := strings.ToLower(op.Method)
		src, _ := fullPaths[key].(map[string]any)[method].(map[string]any)
		if src == nil {
			return nil, fmt.Errorf("%s %s: the method is not in the full specification", op.Method, op.Path)
		}
		kept := map[string]any{}
		for k, v := range src {
			if k != "responses" {
				kept[k] = v
			}
		}
		responses := map[string]any{}
		for code, r := range src["responses"].(map[string]any) {
			if strings.HasPrefix(code, "2") {
				responses[code] = r
			}
		}
		kept["responses"] = responses
		item, _ := paths[key].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[key] = item
			if params, ok := fullPaths[key].(map[string]any)["parameters"]; ok {
				item["parameters"] = params
			}
		}
		item[method] = kept
	}

	defs := map[string]any{}
	var walk func(v any) error
	walk = func(v any) error {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				name, found := strings.CutPrefix(ref, "#/definitions/")
				if !found {
					return fmt.Errorf("reference %q does not point into #/definitions", ref)
				}
				if _, seen := defs[name]; !seen {
					def, ok := fullDefs[name]
					if !ok {
						return fmt.Errorf("reference %q: no such definition", ref)
					}
					defs[name] = def
					if err := walk(def); err != nil {
						return err
					}
				}
			}
			for _, k := range slices.Sorted(maps.Keys(v)) {
				if err := walk(v[k]); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range v {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(paths); err != nil {
		return nil, err
	}

	sum := sha256.Sum256(full)
	out := map[string]any{
		"swagger":     doc["swagger"],
		"info":        doc["info"],
		"basePath":    doc["basePath"],
		"paths":       paths,
		"definitions": defs,
		subsetKey: map[string]any{
			"from":       FileName,
			"sha256":     hex.EncodeToString(sum[:]),
			"generator":  "go generate ./internal/qrsspec (make qrs-spec)",
			"operations": len(ops),
		},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// decode reads a JSON document keeping numbers exact (a float64 would turn 2147483647
// into 2.147483647e+09 when written back).
func decode(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parsing the specification: %w", err)
	}
	return doc, nil
}

func findPath(paths map[string]any, path string) string {
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		if strings.EqualFold(p, path) {
			return p
		}
	}
	return ""
}
