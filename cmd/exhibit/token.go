package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/spf13/cobra"
)

func newTokenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token create|list|revoke",
		Short: "Manage the bearer tokens of the write API",
		Long: `Manage the bearer tokens that "exhibit serve" accepts on its write API
(POST /api/v1/captures and POST /api/v1/snapshots). The write API is off while
the archive has no token.

Tokens live in tokens.json in the archive directory (mode 0600), stored as
SHA-256 hashes only: a token is printed once, by create, and cannot be shown
again. A revocation takes effect at the server's next request; a token created
while the server runs without any token takes effect when it restarts.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var name string
	create := &cobra.Command{
		Use:   "create [--name NAME]",
		Short: "Create a token and print it, once, to stdout",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			tk, err := g.tokens()
			if err != nil {
				return err
			}
			k, s, err := tk.Create(name, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), s)
			fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: created token %s%s; it is shown only this once\n", k.ID, label(k))
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "a label for the token, unique in the archive")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the tokens: ID, name, creation time (never the tokens)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			tk, err := g.tokens()
			if err != nil {
				return err
			}
			toks, err := tk.List()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED")
			for _, k := range toks {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", k.ID, k.Name, k.Created)
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID|NAME",
		Short: "Revoke a token by its ID or name",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tk, err := g.tokens()
			if err != nil {
				return err
			}
			k, err := tk.Revoke(args[0])
			if errors.Is(err, api.ErrNoToken) {
				return &exitError{code: 1, err: err}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: revoked token %s%s\n", k.ID, label(k))
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func label(k api.Token) string {
	if k.Name == "" {
		return ""
	}
	return fmt.Sprintf(" (%s)", k.Name)
}

// tokens returns the token file of an existing archive.
func (g *globals) tokens() (*api.Tokens, error) {
	if _, err := archive.ReadConfig(g.archive); err != nil {
		return nil, err
	}
	return api.NewTokens(g.archive), nil
}
