package release_test

import (
	"os"
	"testing"

	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testkit.RemoveSharedCerts()
	os.Exit(code)
}
