package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/export"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/spf13/cobra"
)

func newExportCmd(g *globals) *cobra.Command {
	var out, policy, checkpoint, tsr, tsaChain string
	var force bool
	cmd := &cobra.Command{
		Use:   "export RECORD_ID -o FILE.zip [--force]",
		Short: "Write a record's evidence package: everything a stranger needs to check it offline",
		Long: `Write a record's evidence package, one zip file: the snapshot (or a version's
text), the signed statement (provenance.json), the stored TLS certificate
chain and headers it names, the evidence bundle (JSON and C2SP tlog-proof,
against the latest checkpoint), the log key, a citation certificate (HTML
and PDF) stating the facts in the terms of US Federal Rules of Evidence
902(13) and 902(14) with a certification for a qualified person to
complete, VERIFY.md (how to check it with exhibit verify and with
sha256sum and openssl), MANIFEST.json and SHA256SUMS. The layout is in
docs/FORMATS.md section 6.3.

The zip is canonical: the same record, against the same checkpoint, exports
to the same bytes. It is checked with exhibit verify's package checks before
it is written, atomically; an existing FILE is refused unless --force.
Check it with: exhibit verify FILE.zip --key VKEY

Until the archive keeps them itself, a witness policy and an RFC 3161 token
are included from files: --policy, and --timestamp with the --checkpoint it
stamps (and --tsa-chain).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError("-o FILE.zip is required")
			}
			if _, err := verify.ParseRecordID(args[0]); err != nil {
				return usageError("%v", err)
			}
			if !force {
				if _, err := os.Lstat(out); err == nil {
					return usageError("%s exists; pass --force to replace it", out)
				} else if !errors.Is(err, fs.ErrNotExist) {
					return &exitError{code: 2, err: err}
				}
			}
			ctx, cancel := signalContext()
			defer cancel()
			a, err := g.openRead(ctx)
			if err != nil {
				return err
			}
			defer a.Close(context.Background())
			var o export.Options
			for _, f := range []struct {
				path string
				dst  *[]byte
			}{{policy, &o.Policy}, {checkpoint, &o.Checkpoint}, {tsr, &o.Timestamp}, {tsaChain, &o.TSAChain}} {
				if f.path == "" {
					continue
				}
				if *f.dst, err = os.ReadFile(f.path); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			if (o.Timestamp == nil) != (o.Checkpoint == nil) || (o.TSAChain != nil && o.Timestamp == nil) {
				return usageError("--timestamp needs --checkpoint (the signed checkpoint it stamps), and --tsa-chain needs --timestamp")
			}
			data, rep, err := export.Build(ctx, a, args[0], o)
			if err != nil {
				return err
			}
			write := writeNewFile
			if force {
				write = archive.WriteFileAtomic
			}
			if err := write(out, data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %s record %s, %d files, %d bytes\n", filepath.Clean(out), rep.Package.Manifest.Kind, rep.RecordID, len(rep.Package.Files), len(data))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the zip file to write")
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
	cmd.Flags().StringVar(&policy, "policy", "", "include this C2SP tlog-policy (the log's witnesses) as policy.txt")
	cmd.Flags().StringVar(&checkpoint, "checkpoint", "", "prove the record against this signed checkpoint of the log (the one --timestamp stamps) instead of the latest")
	cmd.Flags().StringVar(&tsr, "timestamp", "", "include this RFC 3161 TimeStampResp (DER) over the --checkpoint's body as tsa/checkpoint.tsr")
	cmd.Flags().StringVar(&tsaChain, "tsa-chain", "", "include the TSA's certificates (PEM) as tsa/chain.pem")
	return cmd
}

// writeNewFile writes data to a temporary file beside path, fsyncs it, and
// links it to path, failing if path exists: a file that appeared since it
// was checked is never replaced, and path is never seen half written.
func writeNewFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return usageError("%s exists; pass --force to replace it", path)
		}
		return err
	}
	return nil
}

// verifyPackage is exhibit verify for an evidence package (a .zip): every
// file, the bundle, the statement's objects and the derived documents,
// each check by name with the file it is about.
func verifyPackage(cmd *cobra.Command, data []byte, pk *verify.PublicKey, recordID, output, logURL string) error {
	rep := verify.CheckPackage(data, pk, verify.PackageOptions{RecordID: recordID, Derived: export.Derived})
	if logURL != "" && rep.Bundle != nil {
		c := publishedCheck(cmd.Context(), logURL, verify.Keyring{pk}, rep.Bundle)
		rep.Checks = append(rep.Checks, verify.PackageCheck{Result: c, File: verify.PackageBundle})
		rep.Bundle.Checks = append(rep.Bundle.Checks, c)
		rep.Verified = rep.Failed() == nil
		rep.Bundle.Verified = rep.Bundle.Failed() == nil
	}
	out := cmd.OutOrStdout()
	var notes []string
	var cite string
	if rep.Bundle != nil && rep.Verified {
		notes, cite = summary(rep.Bundle, pk)
	}
	notes = append(notes, rep.Notes...)
	if output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			*verify.PackageReport
			Notes    []string `json:"notes,omitempty"`
			Citation string   `json:"citation,omitempty"`
		}{rep, notes, cite}); err != nil {
			return err
		}
		if !rep.Verified {
			return &exitError{code: 1}
		}
		return nil
	}
	for _, c := range rep.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(out, "%s %-21s %s\n", mark, c.Name, printable(c.Detail))
	}
	if !rep.Verified {
		fmt.Fprintln(out, "\nNOT VERIFIED")
		f := rep.Failed()
		where := ""
		if f.File != "" {
			where = " (" + f.File + ")"
		}
		return &exitError{code: 1, err: fmt.Errorf("verification failed: %s%s: %s", f.Name, where, f.Detail)}
	}
	b := rep.Bundle
	fmt.Fprintf(out, "\nverified: package of record %s, entry %d of log %s (tree size %d), signed by %s\n",
		rep.RecordID, b.Bundle.Index, pk.Name, b.Checkpoint.Size, pk.VKey)
	for _, n := range notes {
		fmt.Fprintf(out, "note:     %s\n", printable(n))
	}
	fmt.Fprintf(out, "cite as:  %s\n", printable(cite))
	return nil
}

// isPackage reports whether the file verify was given is an evidence
// package: a name ending in .zip, or zip data (a bundle starts with "{" or
// its tlog-proof header).
func isPackage(name string, data []byte) bool {
	return strings.HasSuffix(strings.ToLower(name), ".zip") || bytes.HasPrefix(data, []byte("PK\x03\x04"))
}
