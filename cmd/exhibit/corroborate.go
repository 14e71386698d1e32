package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/memento"
	"github.com/spf13/cobra"
)

func newCorroborateCmd(g *globals) *cobra.Command {
	var timegates []string
	var output string
	cmd := &cobra.Command{
		Use:   "corroborate RECORD_ID --timegate URL_PREFIX...",
		Short: "Ask other web archives (Memento TimeGates) for their copy of a capture, and log what they hold",
		Long: `Ask each Memento TimeGate (RFC 7089) for its memento of the captured URL
nearest the capture's time (Accept-Datetime), read the memento's
Memento-Datetime, and log what was found, or that the archive holds none, as
a signed corroboration statement that refers to the capture (its record
page links it). --timegate is the prefix the URL is appended to, e.g.
https://web.archive.org/web/ or another exhibit's https://host/timegate/
(repeatable). An archive that does not answer as a TimeGate logs nothing
(exit status 1). A corroboration says what another archive held then; it
does not compare its bytes with exhibit's.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if len(timegates) == 0 {
				return usageError("give at least one --timegate")
			}
			return g.withWrite(cmd, false, func(ctx context.Context, a *archive.Archive) error {
				rs, err := (&memento.Client{}).Corroborate(ctx, a, args[0], timegates)
				w := cmd.OutOrStdout()
				for _, r := range rs {
					p := r.Statement.Corroboration.Predicate
					if output == "json" {
						writeJSON(w, r)
						continue
					}
					if p.Memento != "" {
						fmt.Fprintf(w, "corroboration %s: %s holds %s, of %s\n", r.ID, p.TimeGate, printable(p.Memento), p.MementoDatetime)
					} else {
						fmt.Fprintf(w, "corroboration %s: %s holds no copy (HTTP %d)\n", r.ID, p.TimeGate, p.Status)
					}
				}
				if errors.Is(err, memento.ErrArchive) {
					return &exitError{code: 1, err: err}
				}
				return docError(err)
			})
		},
	}
	cmd.Flags().StringArrayVar(&timegates, "timegate", nil, "a Memento TimeGate URL prefix, e.g. https://web.archive.org/web/ (repeatable)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
