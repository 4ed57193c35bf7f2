//go:build race

package testenv

// raceEnabled says whether this test binary runs with the race detector.
const raceEnabled = true
