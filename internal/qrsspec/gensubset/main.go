// Command gensubset writes the committed subset of the QRS specification: the operations
// the emulator serves, cut from the full specification with the definitions they
// reference. Run through `go generate ./internal/qrsspec` or
// `make qrs-spec`; the full specification comes from QRS_SPEC or shared/qrs beside the
// repository.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/qrsspec"
)

func main() {
	out := flag.String("out", qrsspec.SubsetFile, "where to write the subset")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gensubset:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	path, err := qrsspec.LocateFull()
	if err != nil {
		return err
	}
	full, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the full specification: %w", err)
	}
	var ops []qrsspec.Operation
	for _, r := range emulator.Routes() {
		ops = append(ops, qrsspec.Operation(r))
	}
	b, err := qrsspec.Subset(full, ops)
	if err != nil {
		return fmt.Errorf("cutting %s: %w", path, err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s (%d bytes) from %s\n", out, len(b), path)
	return nil
}
