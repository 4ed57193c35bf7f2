// Package datafile finds the shared evaluation data (../shared/data from
// the project root) for tests. It imports nothing of the project, so tests
// of the lowest packages can use it without an import cycle.
package datafile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Path returns the path of a shared data file: envVar when set, else rel
// under ../shared/data. A missing file skips the test on a developer's
// machine and fails it under CI=true, where a skip would hide that nothing
// ran.
func Path(t testing.TB, envVar, rel string) string {
	t.Helper()
	p := os.Getenv(envVar)
	if p == "" {
		_, self, _, _ := runtime.Caller(0) // .../internal/datafile/datafile.go
		p = filepath.Join(filepath.Dir(self), "..", "..", "..", "shared", "data", filepath.FromSlash(rel))
	}
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) && os.Getenv("CI") != "true" {
			t.Skipf("data not found at %s (set %s)", p, envVar)
		}
		t.Fatalf("datafile: %v", err)
	}
	return p
}
