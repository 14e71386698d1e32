// Command exhibit captures documents with their provenance into a
// verifiable evidence archive, logs a signed statement about each in an
// append-only Merkle log, and cites and proves them.
//
// Run "exhibit help" for the commands.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	err := newRoot().Execute()
	if err == nil {
		return
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			os.Exit(code)
		}
		err = ee.err
	}
	fmt.Fprintln(os.Stderr, "exhibit:", err)
	os.Exit(code)
}

// exitError carries a process exit code. A nil err exits silently (the
// command already reported).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError exits with status 2.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}
