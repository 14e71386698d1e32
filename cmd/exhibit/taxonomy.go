package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/exhibit-archive/exhibit/archive/taxonomy"
	"github.com/spf13/cobra"
)

func newTaxonomyCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "taxonomy [--output text|json]",
		Short: "List the provision types an analysis can classify a clause as",
		Long: `List the provision types (kinds of clause) that "exhibit analyze --type"
takes: exhibit's built-in vocabulary (name "exhibit", version ` + taxonomy.BuiltinVersion + `), then the
operator's, read from ` + taxonomy.FileName + ` in the archive directory when it exists
(docs/TAXONOMY.md describes the file). Type IDs are stable: an analysis
records the ID with the name and version of the vocabulary that defined it.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			tx, err := taxonomy.Load(g.archive)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			w := cmd.OutOrStdout()
			if output == "json" {
				return writeJSON(w, struct {
					Extension string           `json:"extension,omitempty"`
					Types     []*taxonomy.Type `json:"types"`
				}{tx.Extension, tx.Types()})
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCATEGORY\tNAME\tVOCABULARY")
			for _, ty := range tx.Types() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\n", ty.ID, ty.Category, printable(ty.Name), ty.Taxonomy, ty.Version)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if tx.Extension != "" {
				fmt.Fprintf(w, "(extended by %s)\n", tx.Extension)
			}
			fmt.Fprintln(w, "definitions: exhibit taxonomy -o json")
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
