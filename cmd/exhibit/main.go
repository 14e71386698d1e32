// Command exhibit captures documents with their provenance into a
// verifiable evidence archive, logs a signed statement about each in an
// append-only Merkle log, and cites and proves them.
//
// Run "exhibit help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status: 0 on
// success, 1 on failure (a failed check, a failed capture, an error), 2 on
// a usage error or unreadable input.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	code := 1
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "exhibit: interrupted; what was acknowledged is kept, re-run to finish")
		return 130
	}
	if errors.Is(err, archive.ErrInput) {
		code = 2
	}
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
		err = ee.err
	}
	fmt.Fprintln(stderr, "exhibit:", err)
	return code
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

// exactArgs is cobra.ExactArgs with a usage error's exit status.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError("%v\nRun '%s --help' for usage.", err, cmd.CommandPath())
		}
		return nil
	}
}
