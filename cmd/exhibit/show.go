package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/cite"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/spf13/cobra"
)

func newProveCmd(g *globals) *cobra.Command {
	var outFile, format string
	var latest bool
	cmd := &cobra.Command{
		Use:   "prove RECORD_ID [-o FILE] [--format json|tlog-proof] [--latest]",
		Short: "Write an evidence bundle for a record",
		Long: `Write the evidence bundle of a record, computed now: its log entry, index, an
RFC 6962 inclusion proof and a signed checkpoint. By default the checkpoint
is the one the record was first published with, as the archive kept it: with
the witness cosignatures it was published with, and its RFC 3161 time-stamp
token (or "timestamp_status": "pending" if the time-stamping authority has
not answered yet). --latest proves it against the latest checkpoint instead.
Anyone can check the bundle offline with exhibit verify and the log key.
prove reads the archive only: it takes no lock and writes nothing.

--format json (default) writes exhibit's bundle (media type
application/vnd.exhibit.bundle.v1+json); tlog-proof writes the C2SP
c2sp.org/tlog-proof@v1 text form, with the log entry in its "extra" line.
Without -o the bundle goes to stdout.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "json" && format != "tlog-proof" {
				return usageError("--format %q: want json or tlog-proof", format)
			}
			if _, err := verify.ParseRecordID(args[0]); err != nil {
				return usageError("%v", err)
			}
			ctx, cancel := signalContext()
			defer cancel()
			a, err := g.openRead(ctx)
			if err != nil {
				return err
			}
			defer a.Close(context.Background())
			_, b, err := a.Prove(ctx, args[0], archive.ProveOptions{Latest: latest})
			if err != nil {
				return err
			}
			data := b.Marshal()
			if format == "tlog-proof" {
				data = b.MarshalProof()
			}
			if outFile == "" || outFile == "-" {
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			if err := os.WriteFile(outFile, data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%s, index %d)\n", outFile, b.RecordID, b.Index)
			return nil
		},
	}
	cmd.Flags().StringVarP(&outFile, "out", "o", "", "write the bundle to FILE instead of stdout")
	cmd.Flags().StringVar(&format, "format", "json", "bundle format: json or tlog-proof")
	cmd.Flags().BoolVar(&latest, "latest", false, "prove against the latest checkpoint, not the one the record was first published with")
	return cmd
}

func newShowCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show RECORD_ID [--output text|json|markdown]",
		Short: "Print a record's citation",
		Long: `Print the citation record of a record: entity, document, record ID, captured
time (UTC), SHA-256, URL and final URL (with each redirect, and a warning
when the fetch was redirected to another URL, or a browser capture's page
navigated by itself to one: the snapshot is that URL's page, perhaps a
login or consent page, and the citation says so), the
response headers Date, Last-Modified, Server and Content-Type as the
statement signs them (-o json gives them all), log origin and index, the
checkpoint (size and root) it was first published with, and a one-line
citation for a legal filing. The inclusion proof is checked first. For a tracking record,
what it attests. show reads the archive only: it takes no lock and writes
nothing.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json", "markdown"); err != nil {
				return err
			}
			if _, err := verify.ParseRecordID(args[0]); err != nil {
				return usageError("%v", err)
			}
			ctx, cancel := signalContext()
			defer cancel()
			a, err := g.openRead(ctx)
			if err != nil {
				return err
			}
			defer a.Close(context.Background())
			rec, b, err := a.Prove(ctx, args[0], archive.ProveOptions{})
			if err != nil {
				return err
			}
			if rec.Statement.Capture == nil {
				return printTracking(cmd.OutOrStdout(), output, rec.Statement, b)
			}
			cp, _, err := a.Keys().OpenCheckpoint([]byte(b.Checkpoint))
			if err != nil {
				return err
			}
			c := cite.New(rec, cp, a.Key().VKey)
			if h, err := a.ResponseHeaders(ctx, rec.Statement.Capture.Predicate.Observed); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: warning: the response headers cannot be shown: %v\n", err)
			} else {
				c.ResponseHeaders = h
			}
			return printCitation(cmd.OutOrStdout(), output, c)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json or markdown")
	return cmd
}

// printTracking prints a tracking record: what it attests, and where it
// stands in the log.
func printTracking(w io.Writer, output string, e *verify.Entry, b *verify.Bundle) error {
	if output == "json" {
		return writeJSON(w, struct {
			RecordID    string `json:"record_id"`
			Kind        string `json:"kind"`
			Document    string `json:"document_id"`
			Description string `json:"description"`
			LogIndex    uint64 `json:"log_index"`
			Statement   any    `json:"statement"`
		}{b.RecordID, e.Kind(), e.DocumentID(), cite.Describe(e), b.Index, e.Statement()})
	}
	fmt.Fprintf(w, "%s record %s, entry %d of the log\n%s\n", e.Kind(), b.RecordID, b.Index, printable(cite.Describe(e)))
	return nil
}

func printCitation(w io.Writer, output string, c *cite.Citation) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(c)
	}
	timeLabel, when := "Captured", humanTime(c.CapturedAt)
	urlLabel := "URL"
	switch {
	case c.Outcome == verify.OutcomeFailed:
		timeLabel = "Attempted"
	case c.Uploaded && c.Claimed:
		timeLabel = "Fetched"
		when += " (as stated by the supplier; a copy received by exhibit " + humanTime(c.ReceivedAt) + ")"
		urlLabel = "URL (claimed)"
	case c.Uploaded:
		timeLabel = "Received"
		when += " (a copy supplied to exhibit out of band)"
		urlLabel = "URL (claimed)"
	}
	outcome := c.Outcome
	if c.Status != 0 {
		outcome += fmt.Sprintf(" (HTTP %d)", c.Status)
	}
	rows := [][2]string{
		{"Entity", c.Entity},
		{"Document", c.Document},
		{"Record ID", c.RecordID},
		{timeLabel, when},
		{"Outcome", outcome},
		{"SHA-256", c.SHA256},
		{urlLabel, c.URL},
		{"File name", c.FileName},
		{"Final URL", c.FinalURL},
		redirectNote(c),
	}
	for i, n := range c.Navigations {
		rows = append(rows, [2]string{fmt.Sprintf("Navigation %d", i+1), fmt.Sprintf("%s to %s after %d ms", n.Kind, n.URL, n.AtMS)})
	}
	for i, h := range c.Redirects {
		rows = append(rows, [2]string{fmt.Sprintf("Redirect %d", i+1), fmt.Sprintf("%s: HTTP %d to %s", h.URL, h.Status, h.Location)})
	}
	for _, h := range c.KeyResponseHeaders() {
		rows = append(rows, [2]string{h.Name, h.Value + " (response header)"})
	}
	rows = append(rows, [][2]string{
		{"TLS", c.TLS},
		{"Failure", c.Failure},
		{"Log", fmt.Sprintf("%s #%d", c.LogOrigin, c.LogIndex)},
		{"Checkpoint", fmt.Sprintf("tree size %d, root %s", c.CheckpointSize, c.CheckpointRoot)},
		{"Log key", c.LogKey},
	}...)
	if output == "markdown" {
		fmt.Fprintf(w, "### Citation record\n\n| Field | Value |\n| --- | --- |\n")
		for _, r := range rows {
			if r[1] != "" {
				fmt.Fprintf(w, "| %s | %s |\n", r[0], mdEscape(printable(r[1])))
			}
		}
		fmt.Fprintf(w, "\n> %s\n", mdEscape(printable(c.Text)))
		return nil
	}
	fmt.Fprintln(w, "Citation record")
	for _, r := range rows {
		if r[1] != "" {
			fmt.Fprintf(w, "  %-15s %s\n", r[0]+":", printable(r[1]))
		}
	}
	fmt.Fprintf(w, "\n%s\n", printable(c.Text))
	return nil
}

// redirectNote is the row that says where a capture was redirected to,
// or where its page navigated by itself to, and what that means for the
// snapshot; its value is "" when neither happened.
func redirectNote(c *cite.Citation) [2]string {
	const means = "the snapshot is what that URL served, which may not be the document asked for"
	switch {
	case c.RedirectedTo == "":
		return [2]string{"Redirected to", ""}
	case len(c.Navigations) > 0:
		return [2]string{"Navigated to", c.RedirectedTo + " (" + c.Redirection + "; " + means + ")"}
	}
	return [2]string{"Redirected to", c.RedirectedTo + " (" + means + ")"}
}

func humanTime(s string) string {
	t, err := verify.ParseTime(s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func mdEscape(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '|', '*', '_', '`', '[', ']', '<', '>':
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// printable escapes control characters and text-direction marks (see
// verify.IsControl), so that text from a statement or a server cannot move
// the cursor, fake lines, recolour a terminal or reorder what it shows.
func printable(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !isControl(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

func isControl(r rune) bool { return verify.IsControl(r) || r == utf8.RuneError }
