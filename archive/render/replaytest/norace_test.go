//go:build !race

package replaytest_test

// raceEnabled: the test binary runs under the race detector.
const raceEnabled = false
