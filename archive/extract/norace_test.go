//go:build !race

package extract

// raceEnabled: the test binary runs under the race detector.
const raceEnabled = false
