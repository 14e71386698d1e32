package ingest

import "context"

// SetImportHook sets importHook for the test: it is called with each
// document's lease context and key before the lease is confirmed and the
// document handed to the log.
func SetImportHook(t interface{ Cleanup(func()) }, hook func(lease context.Context, key string)) {
	importHook = hook
	t.Cleanup(func() { importHook = nil })
}
