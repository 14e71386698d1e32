package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/spf13/cobra"
)

// maxSearchLimit is the largest page exhibit search asks for, as the API
// allows (index.SearchQuery).
const maxSearchLimit = 500

func newSearchCmd(g *globals) *cobra.Command {
	var (
		sq     archive.SearchQuery
		output string
	)
	cmd := &cobra.Command{
		Use:   "search [QUERY] [--url URL] [--sha256 HEX] [--entity E] [--document D] [--limit N] [--before I] [-o text|json]",
		Short: "Find captures by URL, SHA-256, entity or document; without criteria, list the newest",
		Long: `Find the captures in the archive, newest first: what GET /api/v1/search and
the search box of "exhibit serve" find, from the index (the API needs a criterion).

With --url, --sha256, --entity and --document (exact values; given
together, a capture must match all), the captures that match. A QUERY is
read as the search box reads it: 64 hex digits are a SHA-256, text with
"://" a URL, a record ID (EXR-…) that record, anything else an entity or,
when no entity matches, a document title. With neither, the newest
captures: the archive's recent records, as the page / of "exhibit serve"
lists them.

--limit (default 20, at most 500) records are listed at a time; when there
are more, the last line (stderr in text) gives the command for the next
page, --before the index of the last record listed. -o json prints
{"records": [...], "next": "I"} as the API does, each record with its
record_id, index, outcome, URL, final_url, entity, document, captured_at,
sha256 and the rest of its fields ("next" absent on the last page).
Tracking records (versions, provisions) are found with "exhibit history".
search reads the archive only: it takes no lock and writes nothing.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError("search takes at most one QUERY (quote it): got %d arguments\nRun '%s --help' for usage.", len(args), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if sq.Limit < 1 || sq.Limit > maxSearchLimit {
				return usageError("--limit %d: want 1 to %d", sq.Limit, maxSearchLimit)
			}
			if sq.SHA256 != "" && !store.ValidDigest(strings.ToLower(sq.SHA256)) {
				return usageError("--sha256 %q: want 64 hex digits", sq.SHA256)
			}
			sq.SHA256 = strings.ToLower(sq.SHA256)
			query := ""
			if len(args) == 1 {
				query = strings.TrimSpace(args[0])
				if query == "" {
					return usageError("QUERY is empty; to list the newest captures give none")
				}
				if sq.URL != "" || sq.SHA256 != "" || sq.Entity != "" || sq.Document != "" {
					return usageError("give a QUERY or --url, --sha256, --entity, --document, not both")
				}
			}
			return g.withRead(func(ctx context.Context, a *archive.Archive) error {
				recs, err := search(ctx, a, query, sq)
				if err != nil {
					return err
				}
				next := ""
				if len(recs) == sq.Limit && recs[len(recs)-1].Index > 0 {
					next = strconv.FormatUint(recs[len(recs)-1].Index, 10)
				}
				if output == "json" {
					return writeJSON(cmd.OutOrStdout(), struct {
						Records []*record.Record `json:"records"`
						Next    string           `json:"next,omitempty"`
					}{append([]*record.Record{}, recs...), next})
				}
				if len(recs) == 0 {
					fmt.Fprintln(cmd.ErrOrStderr(), "no captures found")
					return nil
				}
				printRecords(cmd, recs)
				if next != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "more: run again with --before %s for the next page\n", next)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&sq.URL, "url", "", "captures of this URL (as requested, or as claimed for a supplied copy)")
	f.StringVar(&sq.SHA256, "sha256", "", "captures whose snapshot has this SHA-256")
	f.StringVar(&sq.Entity, "entity", "", "captures of this entity")
	f.StringVar(&sq.Document, "document", "", "captures of this document title")
	f.IntVar(&sq.Limit, "limit", 20, "records per page, 1 to 500")
	f.Uint64Var(&sq.Before, "before", 0, "only records with a smaller log index (the next page)")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// search runs a QUERY (as the index page reads it) or sq's criteria.
func search(ctx context.Context, a *archive.Archive, query string, sq archive.SearchQuery) ([]*record.Record, error) {
	// Only a QUERY that starts with the prefix is taken for a record ID:
	// a title such as "Zoom Privacy Statement" has 20 Crockford letters
	// too.
	if id, err := verify.ParseRecordID(query); err == nil && strings.HasPrefix(strings.ToUpper(query), "EXR") {
		r, err := a.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if r.Kind != record.Capture || (sq.Before > 0 && r.Index >= sq.Before) {
			return nil, nil
		}
		return []*record.Record{r}, nil
	}
	if query != "" {
		recs, _, err := a.SearchText(ctx, query, sq)
		return recs, err
	}
	return a.Search(ctx, sq)
}

// printRecords prints one line per capture: record ID, time, outcome,
// entity and document, URL (and where it was redirected to).
func printRecords(cmd *cobra.Command, recs []*record.Record) {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECORD\tINDEX\tCAPTURED (UTC)\tOUTCOME\tENTITY\tDOCUMENT\tURL")
	for _, r := range recs {
		when := humanTime(r.CapturedAt)
		if r.Claimed {
			when += " (claimed)"
		}
		outcome := r.Outcome
		if r.Status != 0 && r.Outcome != verify.OutcomeCaptured {
			outcome += fmt.Sprintf(" %d", r.Status)
		}
		if r.Method == verify.MethodUpload {
			outcome = "supplied copy"
		}
		u := r.URL
		if r.Redirected {
			u += " -> " + r.FinalURL
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Index, strings.TrimSuffix(when, " UTC"), outcome,
			orDash(tabless(r.Entity)), orDash(tabless(r.Document)), orDash(tabless(u)))
	}
	tw.Flush()
}

// tabless makes s printable and one tabwriter cell.
func tabless(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ").Replace(printable(s))
}
