package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/spf13/cobra"
)

func newMonitorCmd(g *globals) *cobra.Command {
	var (
		state      string
		keyArgs    []string
		full, once bool
		interval   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "monitor URL [--key VKEY... | --archive DIR] [--state FILE] [--full] [--once]",
		Short: "Follow a published log and check that it only ever grows",
		Long: `Follow the log published at URL (a C2SP tlog-tiles endpoint, such as
exhibit serve's) as an auditor: fetch its checkpoint every --interval, check
its signature by the trusted key (--key VKEY or a file holding one, else
--archive's keys; repeat --key for a rotated log), and check an RFC 6962 consistency proof, built from the
served tiles, from the last checkpoint seen to the new one. The last
checkpoint is kept in --state (default exhibit-monitor.state), written
atomically, so a later run continues from it.

With --full, also download every entry, check each statement's signature,
and recompute the root from the leaves.

The server is not trusted: every response is read only up to what the
resource can be (a checkpoint 64 KiB, a tile 8,192 bytes, an entry bundle
16,777,472 bytes, after any compression is undone: C2SP tlog-tiles and the
65,535-byte entry limit), and a larger one is an error naming its URL.

A fork (two checkpoints signed by the key that cannot both be true: a
smaller tree, another root for the same size, or no consistency proof)
prints both checkpoints and the proof as evidence and exits with status 1,
leaving the state as it was. --once checks once and exits: 0 if the log is
consistent, 1 if not or if it cannot be read.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return usageError("--interval must be positive")
			}
			keys, err := trustedKeys(g, keyArgs, nil)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			ctx, cancel := signalContext()
			defer cancel()
			out := cmd.OutOrStdout()
			hc := &http.Client{Timeout: time.Minute}
			for {
				err := monitorOnce(ctx, out, args[0], keys, state, full, hc)
				var fork *ledger.ForkError
				if errors.As(err, &fork) {
					return &exitError{code: 1, err: err}
				}
				if err != nil {
					if once || errors.Is(err, context.Canceled) {
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: %v (retrying in %v)\n", err, interval)
				}
				if once {
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	cmd.Flags().StringArrayVar(&keyArgs, "key", nil, "trusted log key: C2SP vkey, or a file holding one; repeat for the keys of a rotated log")
	cmd.Flags().StringVar(&state, "state", "exhibit-monitor.state", "file keeping the last checkpoint seen")
	cmd.Flags().BoolVar(&full, "full", false, "also download every entry, check its signature and recompute the root")
	cmd.Flags().BoolVar(&once, "once", false, "check once and exit")
	cmd.Flags().DurationVar(&interval, "interval", time.Minute, "time between checks")
	return cmd
}

// monitorOnce runs one round: follow the log from the state's checkpoint,
// report, and save the new checkpoint.
func monitorOnce(ctx context.Context, out io.Writer, logURL string, keys verify.Keyring, state string, full bool, hc *http.Client) error {
	pk := keys[0]
	var prev *verify.Checkpoint
	prevRaw, err := readSmall(state)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		if prev, _, err = keys.OpenCheckpoint(prevRaw); err != nil {
			return fmt.Errorf("state %s: %w", state, err)
		}
	}
	raw, latest, err := ledger.Follow(ctx, logURL, pk, prev, hc, keys[1:]...)
	var fork *ledger.ForkError
	if errors.As(err, &fork) {
		fmt.Fprintf(out, "FORK: %s\n\nearlier checkpoint (from %s):\n%s\nlatest checkpoint (from %s):\n%s\n", fork.Reason, state, prevRaw, logURL, fork.New)
		if len(fork.Proof) > 0 {
			fmt.Fprintln(out, "consistency proof served:")
			for _, h := range fork.Proof {
				fmt.Fprintln(out, base64.StdEncoding.EncodeToString(h))
			}
		}
		return err
	}
	if err != nil {
		return err
	}
	if prev == nil {
		fmt.Fprintf(out, "%s: tree size %d, root %x (first checkpoint seen)\n", logURL, latest.Size, latest.Hash)
	} else {
		fmt.Fprintf(out, "%s: tree size %d, root %x, consistent with size %d seen before\n", logURL, latest.Size, latest.Hash, prev.Size)
	}
	if full {
		n, err := ledger.AuditPublished(ctx, logURL, pk, latest, hc, nil, keys[1:]...)
		if errors.As(err, &fork) {
			fmt.Fprintf(out, "FORK: %s\n\ncheckpoint:\n%s\n", fork.Reason, raw)
			return err
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  all %d entries downloaded, every statement signature checked, root recomputed\n", n)
	}
	return archive.WriteFileAtomic(state, raw, 0o644)
}
