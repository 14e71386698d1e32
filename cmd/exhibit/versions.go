package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/provision"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/textdiff"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/spf13/cobra"
)

func newDiffCmd(g *globals) *cobra.Command {
	var output, color string
	var context_ int
	cmd := &cobra.Command{
		Use:   "diff VERSION_A VERSION_B [--output text|json]",
		Short: "Show the word-level difference between two versions' text",
		Long: `Show the word-level difference between the texts of two versions (record IDs)
of the same tracked document. Text output marks deletions [-like this-] and
insertions {+like this+} (in red and green on a terminal), keeping --context
lines of unchanged text around each change (-1: all). JSON output is the
list of chunks {"op": "equal"|"insert"|"delete", "text": ...} and a summary.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if err := checkOutput(color, "auto", "always", "never"); err != nil {
				return usageError("--color %q: want auto, always or never", color)
			}
			return g.withRead(func(ctx context.Context, a *archive.Archive) error {
				va, ta, err := track.New(a).VersionText(ctx, args[0])
				if err != nil {
					return docError(err)
				}
				vb, tb, err := track.New(a).VersionText(ctx, args[1])
				if err != nil {
					return docError(err)
				}
				if va.DocumentID != vb.DocumentID {
					return usageError("%s is a version of %s, %s of %s: diff compares versions of one document", va.ID, va.DocumentID, vb.ID, vb.DocumentID)
				}
				chunks, err := textdiff.Words(string(ta), string(tb))
				if err != nil {
					return err
				}
				if output == "json" {
					return writeJSON(cmd.OutOrStdout(), struct {
						Document string           `json:"document_id"`
						From     string           `json:"from"`
						To       string           `json:"to"`
						Summary  string           `json:"summary"`
						Chunks   []textdiff.Chunk `json:"chunks"`
					}{va.DocumentID, va.ID, vb.ID, textdiff.Summary(chunks), chunks})
				}
				w := cmd.OutOrStdout()
				pa, pb := va.Statement.Version.Predicate, vb.Statement.Version.Predicate
				fmt.Fprintf(w, "%s: version %d (%s, captured %s) → version %d (%s, captured %s): %s\n\n",
					va.DocumentID, pa.Number, va.ID, pa.Snapshot.CapturedAt, pb.Number, vb.ID, pb.Snapshot.CapturedAt, textdiff.Summary(chunks))
				useColor := color == "always" || color == "auto" && isTerminal(os.Stdout) && w == os.Stdout
				return textdiff.Render(w, sanitizeChunks(chunks), useColor, context_)
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&color, "color", "auto", "color text output: auto, always or never")
	cmd.Flags().IntVar(&context_, "context", 2, "lines of unchanged text kept around each change (-1: all)")
	return cmd
}

// sanitizeChunks escapes control characters other than newlines and tabs,
// so that a document's text cannot drive the terminal.
func sanitizeChunks(chunks []textdiff.Chunk) []textdiff.Chunk {
	out := make([]textdiff.Chunk, len(chunks))
	for i, c := range chunks {
		lines := strings.Split(c.Text, "\n")
		for j, l := range lines {
			lines[j] = printableKeepTabs(l)
		}
		out[i] = textdiff.Chunk{Op: c.Op, Text: strings.Join(lines, "\n")}
	}
	return out
}

func printableKeepTabs(s string) string {
	parts := strings.Split(s, "\t")
	for i, p := range parts {
		parts[i] = printable(p)
	}
	return strings.Join(parts, "\t")
}

func newChangesCmd(g *globals) *cobra.Command {
	var output, since, entity string
	cmd := &cobra.Command{
		Use:   "changes [--since 30d|RFC3339] [--entity E] [--output text|json]",
		Short: "List the tracked documents that changed, and when",
		Long: `List the changes of tracked documents captured since a time (--since: a
duration back from now in days "30d", hours "12h" or any Go duration, a date
(2026-05-08, midnight UTC) or an RFC 3339 time; default 30d), newest first. A change is a version whose text
differs from the one before; first versions and technical upgrades (after
reextract) are not changes. The time shown is the capture of the snapshot
that first showed the change: the document changed no later than that.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			t, err := track.ParseSince(since, time.Now())
			if err != nil {
				return usageError("--since: %v", err)
			}
			return g.withRead(func(ctx context.Context, a *archive.Archive) error {
				changes, err := track.New(a).Changes(ctx, t, entity)
				if err != nil {
					return err
				}
				if entity != "" && len(changes) == 0 {
					if docs, err := track.New(a).Documents(ctx); err == nil && !hasEntity(docs, entity) {
						fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: no tracked document has the entity %q (entities are matched exactly; exhibit track list shows them)\n", entity)
					}
				}
				if output == "json" {
					return writeJSON(cmd.OutOrStdout(), changes)
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "%s since %s\n", plural(len(changes), "change", "changes"), t.UTC().Format(time.RFC3339))
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				for _, c := range changes {
					fmt.Fprintf(tw, "%s\t%s\t%s %s\tv%d\t%s\t(diff %s %s)\n", c.CapturedAt, c.Document, printable(c.Entity), printable(c.Title), c.Number, c.Version, c.Previous, c.Version)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&since, "since", "30d", "how far back: 30d, 12h, or an RFC 3339 time")
	cmd.Flags().StringVar(&entity, "entity", "", "only this entity's documents")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func hasEntity(docs []*track.Document, entity string) bool {
	for _, d := range docs {
		if d.Entity == entity {
			return true
		}
	}
	return false
}

func newTextCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "text VERSION_ID [--output text|json]",
		Short: "Print a version's text, the text provisions quote",
		Long: `Print the text of a version (a record ID) of a tracked document, exactly as
stored and signed: Markdown for HTML pages, plain text for PDF and text
files. Its SHA-256 is checked against the digest the version record signs
before anything is printed. Offsets of provisions (TextPositionSelector)
count Unicode code points in this text, and "exhibit quote" matches --exact
against it. JSON output adds the version's number, document, digest, media
type and how the snapshot was decoded.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			return g.withRead(func(ctx context.Context, a *archive.Archive) error {
				v, text, err := track.New(a).VersionText(ctx, args[0])
				if err != nil {
					return docError(err)
				}
				p := v.Statement.Version.Predicate
				if output == "json" {
					return writeJSON(cmd.OutOrStdout(), struct {
						Version   string           `json:"version"`
						Document  string           `json:"document_id"`
						Number    int              `json:"number"`
						Kind      string           `json:"kind"`
						Text      verify.Text      `json:"text_info"`
						Decoding  *verify.Decoding `json:"decoding,omitempty"`
						TextValue string           `json:"text"`
					}{v.ID, v.DocumentID, p.Number, p.Kind, p.Text, p.Decoding, string(text)})
				}
				_, err = cmd.OutOrStdout().Write(text)
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func newQuoteCmd(g *globals) *cobra.Command {
	var o track.QuoteOptions
	var output string
	cmd := &cobra.Command{
		Use:   "quote VERSION_ID --exact TEXT [--prefix TEXT] [--suffix TEXT] [--label NAME]",
		Short: "Record a provision: a clause quoted from a version's text",
		Long: `Record a provision: a clause quoted from a version's text, as a W3C Web
Annotation TextQuoteSelector (exact, prefix, suffix) and TextPositionSelector
(start and end in Unicode code points) over the text, with the text's
SHA-256; signed and logged. The quote must stand in the text exactly once
with the --prefix and --suffix given (when they are not given, up to 32 code
points of surrounding text are recorded, to recognise it later). A quote
not found, or found more than once, is refused (exit status 2).

On every new version of the document the provision is re-checked and gets a
status record: present (with its new position), changed (the closest
passage and its similarity) or removed. A provision is followed by its
position, through the word diff from the version it last stood in: an
identical or similar sentence elsewhere is not taken for it, only noted
when it is removed. Quoting an older version checks the provision against
each later version in turn.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			return g.withWrite(cmd, false, func(ctx context.Context, a *archive.Archive) error {
				p, statuses, err := track.New(a).Quote(ctx, args[0], o)
				if errors.Is(err, provision.ErrNotFound) {
					err = fmt.Errorf("%w\n(exhibit text %s prints the version's text, which the quote must match)", err, args[0])
				}
				if err != nil {
					return docError(err)
				}
				if output == "json" {
					return writeJSON(cmd.OutOrStdout(), struct {
						Provision *record.Record   `json:"provision"`
						Statuses  []*record.Record `json:"provision_statuses"`
					}{p, statuses})
				}
				pp := p.Statement.Provision.Predicate
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "provision %s of %s: code points [%d, %d) of version %s\n", p.ID, p.DocumentID, pp.Position.Start, pp.Position.End, pp.Version)
				fmt.Fprintf(w, "  logged at index %d, published with checkpoint %d\n", p.Index, p.Published)
				for _, s := range statuses {
					sp := s.Statement.ProvisionStatus.Predicate
					fmt.Fprintf(w, "  %-8s in later version %s (%s, log index %d)\n", sp.Status, sp.Version, s.ID, s.Index)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Exact, "exact", "", "the quoted text, exactly as in the version's text (required)")
	f.StringVar(&o.Prefix, "prefix", "", "text just before the quote, to tell repeats apart")
	f.StringVar(&o.Suffix, "suffix", "", "text just after the quote, to tell repeats apart")
	f.StringVar(&o.Label, "label", "", "a name for the clause")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.MarkFlagRequired("exact")
	return cmd
}

func newProvisionsCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "provisions DOCUMENT [--output text|json]",
		Short: "List a document's provisions with their current status and history",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			return g.withRead(func(ctx context.Context, a *archive.Archive) error {
				d, err := track.New(a).Document(ctx, args[0])
				if err != nil {
					return docError(err)
				}
				if output == "json" {
					if d.Provisions == nil {
						d.Provisions = []*track.ProvisionInfo{}
					}
					return writeJSON(cmd.OutOrStdout(), struct {
						Document   string                 `json:"document_id"`
						Provisions []*track.ProvisionInfo `json:"provisions"`
					}{d.ID, d.Provisions})
				}
				printProvisions(cmd.OutOrStdout(), d)
				return printCurrentAnalyses(ctx, cmd.OutOrStdout(), track.New(a), d)
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
