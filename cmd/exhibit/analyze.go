package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/taxonomy"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/spf13/cobra"
)

func newAnalyzeCmd(g *globals) *cobra.Command {
	var o track.AnalysisOptions
	var why, impact, note, output string
	cmd := &cobra.Command{
		Use:   "analyze PROVISION --type ID --severity low|medium|high --confidence low|medium|high --basis explicit|implied|absent [--regulation NAME@JURISDICTION]... --author NAME [--why FILE] [--impact FILE] [--note FILE]",
		Short: "Record a signed analysis of a provision: its type, severity and why it matters",
		Long: `Record an analysis of a provision (a clause quoted with "exhibit quote"): the
type of clause it is (exhibit taxonomy lists them), its severity, the
author's confidence, its basis in the text (explicit: stated; implied; absent:
about what the text does not say), the regulations that apply, each
NAME@JURISDICTION (GDPR@EU, UK GDPR@UK, CCPA@US-CA: an assigned ISO 3166-1
alpha-2 code, EU or UK, or an ISO 3166-2 subdivision of an assigned code;
XX or ZZ-CA are refused), and why it matters, its
impact and a note, read from files (UTF-8, at most 8000 bytes each; "-" reads
standard input). The analysis is a signed statement in the log naming the
provision, the version analysed (--version; default the newest version the
provision stands in), the author and the time: provable and verifiable like
every record.

Analysing a provision again records a revision that supersedes the previous
analysis, which stays in the log and in the history (exhibit analyses
PROVISION). --supersedes names the analysis you revise; it is refused if
another revision came after it. When a later version of the document changes
or removes the provision, its analysis is flagged for review.

Bad input (an unknown type, a malformed regulation, a record that is not a
provision) is refused with exit status 2 and nothing is logged.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			for _, f := range []struct {
				flag, path string
				dst        *string
			}{{"why", why, &o.Why}, {"impact", impact, &o.Impact}, {"note", note, &o.Note}} {
				if f.path == "" {
					continue
				}
				s, err := readAnalysisText(cmd.InOrStdin(), f.path)
				if err != nil {
					return usageError("--%s: %v", f.flag, err)
				}
				*f.dst = s
			}
			return g.withWrite(cmd, false, func(ctx context.Context, a *archive.Archive) error {
				r, err := track.New(a).Analyze(ctx, args[0], o)
				if errors.Is(err, taxonomy.ErrFile) {
					return &exitError{code: 2, err: err}
				}
				if err != nil {
					return docError(err)
				}
				if output == "json" {
					return writeJSON(cmd.OutOrStdout(), r)
				}
				p := r.Statement.Analysis.Predicate
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "analysis %s of provision %s (%s), revision %d", r.ID, p.Provision, r.DocumentID, p.Revision)
				if p.Supersedes != "" {
					fmt.Fprintf(w, ", supersedes %s", p.Supersedes)
				}
				fmt.Fprintf(w, "\n  %s: severity %s, confidence %s, basis %s; version %s\n", p.Type.ID, p.Severity, p.Confidence, p.Basis, p.Version)
				fmt.Fprintf(w, "  logged at index %d, published with checkpoint %d\n", r.Index, r.Published)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Type, "type", "", "provision type ID (exhibit taxonomy lists them; required)")
	f.StringVar(&o.Severity, "severity", "", "low, medium or high (required)")
	f.StringVar(&o.Confidence, "confidence", "", "low, medium or high (required)")
	f.StringVar(&o.Basis, "basis", "", "explicit, implied or absent (required)")
	f.StringArrayVar(&o.Regulations, "regulation", nil, "an applicable regulation, NAME@JURISDICTION, e.g. GDPR@EU (repeatable)")
	f.StringVar(&o.Author, "author", "", "who makes the analysis (required)")
	f.StringVar(&why, "why", "", "file: why the clause matters")
	f.StringVar(&impact, "impact", "", "file: its impact on the people it binds")
	f.StringVar(&note, "note", "", "file: an interpretive note")
	f.StringVar(&o.Version, "version", "", "record ID of the version analysed (default: the newest the provision stands in)")
	f.StringVar(&o.Supersedes, "supersedes", "", "record ID of the analysis revised (must be the latest)")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	for _, n := range []string{"type", "severity", "confidence", "basis", "author"} {
		cmd.MarkFlagRequired(n)
	}
	return cmd
}

// readAnalysisText reads an analysis text from a regular file, or stdin
// for "-",
// at most one byte more than the limit (verify refuses more).
func readAnalysisText(stdin io.Reader, path string) (string, error) {
	r := stdin
	if path != "-" {
		// A regular file only: opening a named pipe nobody writes to
		// would block for ever.
		f, err := ingest.OpenRegular(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, verify.MaxAnalysisText+1))
	if err != nil {
		return "", err
	}
	if len(b) > verify.MaxAnalysisText {
		return "", fmt.Errorf("%s is longer than %d bytes", path, verify.MaxAnalysisText)
	}
	return strings.TrimRight(string(b), "\n"), nil
}

func newAnalysesCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "analyses PROVISION [--output text|json]",
		Short: "Show the history of a provision's analyses, and whether the current one needs review",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			return g.withRead(func(ctx context.Context, a *archive.Archive) error {
				h, err := track.New(a).Analyses(ctx, args[0])
				if err != nil {
					return docError(err)
				}
				w := cmd.OutOrStdout()
				if output == "json" {
					return writeJSON(w, struct {
						Provision string                `json:"provision"`
						Analyses  []*track.AnalysisInfo `json:"analyses"`
					}{args[0], h})
				}
				if len(h) == 0 {
					fmt.Fprintf(w, "provision %s has no analysis yet (exhibit analyze records one)\n", args[0])
					return nil
				}
				for i := len(h) - 1; i >= 0; i-- {
					ai := h[i]
					state := "current"
					if ai.SupersededBy != "" {
						state = "superseded by " + ai.SupersededBy
					}
					fmt.Fprintf(w, "revision %d  %s  %s  by %s, %s\n", ai.Revision, ai.RecordID, state, printable(ai.Author), ai.AnalyzedAt)
					fmt.Fprintf(w, "  %s: severity %s, confidence %s, basis %s; version %d (%s)\n", ai.Type.ID, ai.Severity, ai.Confidence, ai.Basis, ai.VersionNumber, ai.Version)
					for _, r := range ai.Regulations {
						fmt.Fprintf(w, "  regulation %s\n", printable(r.String()))
					}
					if rv := ai.Review; rv != nil {
						fmt.Fprintf(w, "  NEEDS REVIEW: the provision is %s in version %d (%s, status record %s)\n", strings.ToUpper(rv.Status), rv.VersionNumber, rv.Version, rv.StatusRecord)
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// printCurrentAnalyses lists the current analysis of each analysed
// provision of d, flagging those that need review.
func printCurrentAnalyses(ctx context.Context, w io.Writer, tr *track.Tracker, d *track.Document) error {
	current, err := tr.CurrentAnalysesOf(ctx, d)
	if err != nil {
		return err
	}
	var rows [][]string
	for _, p := range d.Provisions {
		ai := current[p.RecordID]
		if ai == nil {
			continue
		}
		flag := ""
		if rv := ai.Review; rv != nil {
			flag = fmt.Sprintf("NEEDS REVIEW (%s in version %d)", rv.Status, rv.VersionNumber)
		}
		rows = append(rows, []string{p.RecordID, ai.Type.ID, ai.Severity, fmt.Sprintf("revision %d", ai.Revision), ai.RecordID, flag})
	}
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nanalyses (exhibit analyses PROVISION shows each one's history):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, "  "+strings.Join(r, "\t"))
	}
	return tw.Flush()
}
