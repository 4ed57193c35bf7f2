package faulttest_test

import (
	"flag"
	"os"
	"testing"

	"github.com/admem/admem/internal/testenv"
)

// TestMain lets every fault test run at once unless -parallel is given:
// they spend their time waiting on processes (a Redis frozen for 30 s, a
// database down, a claim timeout), not computing, and at the default (one
// per core) they would wait one after the other.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "8")
	}
	code := m.Run()
	testenv.RemoveSharedFiles()
	os.Exit(code)
}
