package audit_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv("AUDIT_TEST_SPOOL_CHILD"); spec != "" {
		os.Exit(spoolChild(spec))
	}
	if spec := os.Getenv("AUDIT_TEST_JOURNAL_CHILD"); spec != "" {
		os.Exit(journalChild(spec))
	}
	os.Exit(m.Run())
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func contextBackground() context.Context { return context.Background() }
