// Package qrsspec loads the real QRS specification (a Swagger 2.0 document dumped from a
// live Qlik Sense site) for conformance tests: it validates JSON bodies against the
// response schema of a path, and says whether a method and path exist.
//
// The tests check against testdata/qrs-openapi-subset.json, committed with the project: the
// operations the emulator serves (and the client uses, a subset of those), cut from the
// full specification by Subset with every definition they reference. The full document
// (2.6 MB, not part of the repository) is needed only to regenerate the subset
// (`make qrs-spec`) and for the drift test that checks the committed subset is still what
// the full document gives; LocateFull finds it through QRS_SPEC or a shared/qrs folder
// beside the repository.
//
// testdata/samples holds real QRS responses recorded on live sites (SOURCES.md there says
// where each comes from); Sample reads them.
//
// The specification is stricter than every live site in a few documented places, and
// looser in one. Validate applies these changes, each backed by a real response:
//
//   - every definition gets additionalProperties: false, so a field the specification
//     does not name fails validation (the spec itself allows anything);
//   - privileges may be null: real sites send "privileges": null unless ?privileges=true
//     (all samples in testdata/samples);
//   - user on an allocation may be null: the allocation of a user deleted while in
//     quarantine (Qlik help: "Deleted user is displayed …"; qrs-api.md §5);
//   - deletedUserId and deletedUserDirectory may be "" (minLength 1 in the spec, "" in the
//     real analyzeraccesstype sample);
//   - GET …/count answers {"value": N}, not a bare integer (qrs-api.md §3.4).
package qrsspec

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// FileName is the full specification's file name (under shared/qrs in the reference
// material, or wherever QRS_SPEC points).
const FileName = "qrs-openapi-main-38.22.0.json"

// SubsetFile is the committed subset, relative to this package's folder.
const SubsetFile = "testdata/qrs-openapi-subset.json"

//go:generate go run ./gensubset -out testdata/qrs-openapi-subset.json

//go:embed testdata/qrs-openapi-subset.json testdata/samples/*.json
var files embed.FS

// Spec is a loaded specification.
type Spec struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	cache    map[string]*jsonschema.Schema
}

// CommittedSubset returns the committed subset as it is on disk.
func CommittedSubset() []byte {
	b, err := files.ReadFile(SubsetFile)
	if err != nil {
		panic(err) // embedded at build time: cannot be missing
	}
	return b
}

// Sample returns a recorded real response from testdata/samples.
func Sample(name string) ([]byte, error) {
	return files.ReadFile("testdata/samples/" + name)
}

// ErrNoFullSpec says the full specification is not at hand.
var ErrNoFullSpec = errors.New("the full QRS specification " + FileName +
	" is not at hand: set QRS_SPEC to its path, or put it in shared/qrs beside the repository")

// LocateFull finds the full specification: $QRS_SPEC, else shared/qrs/<FileName> in a
// parent of the working directory or beside one. It returns ErrNoFullSpec when neither
// exists.
func LocateFull() (string, error) {
	if p := os.Getenv("QRS_SPEC"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("QRS_SPEC: %w", err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		for _, c := range []string{filepath.Join(dir, "shared", "qrs", FileName), filepath.Join(dir, "..", "shared", "qrs", FileName)} {
			if _, err := os.Stat(c); err == nil {
				return c, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoFullSpec
		}
		dir = parent
	}
}

// Load prepares the committed subset for validation.
func Load() (*Spec, error) {
	return parse(SubsetFile, CommittedSubset())
}

func parse(name string, raw []byte) (*Spec, error) {
	doc, err := decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if doc["swagger"] != "2.0" {
		return nil, fmt.Errorf("%s is not a Swagger 2.0 document", name)
	}
	tighten(doc)
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft4
	c.AssertFormat = true
	b, _ := json.Marshal(doc)
	if err := c.AddResource("qrs.json", bytes.NewReader(b)); err != nil {
		return nil, err
	}
	return &Spec{doc: doc, compiler: c, cache: map[string]*jsonschema.Schema{}}, nil
}

func tighten(doc map[string]any) {
	defs, _ := doc["definitions"].(map[string]any)
	for name, d := range defs {
		def, _ := d.(map[string]any)
		props, ok := def["properties"].(map[string]any)
		if !ok {
			continue
		}
		def["additionalProperties"] = false
		for pname, p := range props {
			prop, _ := p.(map[string]any)
			switch {
			case pname == "privileges":
				props[pname] = orNull(prop)
			case pname == "user" && strings.HasPrefix(name, "License") && strings.HasSuffix(name, "AccessType"):
				props[pname] = orNull(prop)
			case pname == "stream" && (name == "App" || name == "AppCondensed"):
				// An app that is not published is in no stream: QRS writes "stream": null.
				props[pname] = orNull(prop)
			case pname == "deletedUserId" || pname == "deletedUserDirectory":
				delete(prop, "minLength")
			}
		}
	}
}

func orNull(schema map[string]any) map[string]any {
	return map[string]any{"anyOf": []any{schema, map[string]any{"type": "null"}}}
}

// Definition returns the properties of a definition: name → JSON type ("string",
// "integer", "number", "boolean", "array", "object").
func (s *Spec) Definition(name string) (map[string]string, error) {
	defs, _ := s.doc["definitions"].(map[string]any)
	def, ok := defs[name].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no definition %q", name)
	}
	out := map[string]string{}
	props, _ := def["properties"].(map[string]any)
	for pname, p := range props {
		prop, _ := p.(map[string]any)
		if alts, ok := prop["anyOf"].([]any); ok {
			prop, _ = alts[0].(map[string]any)
		}
		typ, _ := prop["type"].(string)
		if _, ref := prop["$ref"]; ref {
			typ = "object"
		}
		out[pname] = typ
	}
	return out, nil
}

// HasOperation reports whether the specification has method on path (a spec path without
// /qrs, compared case-insensitively) and returns its success status.
func (s *Spec) HasOperation(method, path string) (status string, ok bool) {
	paths, _ := s.doc["paths"].(map[string]any)
	for p, item := range paths {
		if !strings.EqualFold(p, path) {
			continue
		}
		op, found := item.(map[string]any)[strings.ToLower(method)].(map[string]any)
		if !found {
			return "", false
		}
		for code := range op["responses"].(map[string]any) {
			if strings.HasPrefix(code, "2") {
				return code, true
			}
		}
	}
	return "", false
}

// Validate checks a response body against the schema the specification declares for a
// GET of path (without /qrs) with status 200.
func (s *Spec) Validate(path string, body []byte) error {
	if strings.HasSuffix(path, "/count") {
		return validateCount(body)
	}
	sch, err := s.schema(path)
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	return sch.Validate(v)
}

// ValidateAs checks a body against a definition, e.g. "#/definitions/LicenseAnalyzerAccessType"
// (the body of a POST's 201).
func (s *Spec) ValidateAs(ref string, body []byte) error {
	s.mu.Lock()
	sch, err := s.compiler.Compile("qrs.json" + ref)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("compiling %s: %w", ref, err)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	return sch.Validate(v)
}

func validateCount(body []byte) error {
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("count body is not a JSON object: %w", err)
	}
	n, ok := v["value"].(float64)
	if len(v) != 1 || !ok || n != float64(int64(n)) || n < 0 {
		return errors.New(`count body must be {"value": N}`)
	}
	return nil
}

func (s *Spec) schema(path string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.cache[path]; ok {
		return sch, nil
	}
	var key string
	paths, _ := s.doc["paths"].(map[string]any)
	for p := range paths {
		if strings.EqualFold(p, path) {
			key = p
		}
	}
	if key == "" {
		return nil, fmt.Errorf("path %s is not in the specification", path)
	}
	ptr := strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
	sch, err := s.compiler.Compile("qrs.json#/paths/" + ptr + "/get/responses/200/schema")
	if err != nil {
		return nil, fmt.Errorf("compiling the response schema of %s: %w", path, err)
	}
	s.cache[path] = sch
	return sch, nil
}
