package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/export"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/spf13/cobra"
)

func newExportCmd(g *globals) *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "export RECORD_ID -o FILE.zip [--force]",
		Short: "Write a record's evidence package: everything a stranger needs to check it offline",
		Long: `Write a record's evidence package, one zip file: the snapshot (or a version's
text), the signed statement (provenance.json), the stored TLS certificate
chain and headers it names, the evidence bundle (JSON and C2SP tlog-proof,
against the checkpoint the record was first published with), the log key, a citation certificate (HTML
and PDF) stating the facts in the terms of US Federal Rules of Evidence
902(13) and 902(14) with a certification for a qualified person to
complete, VERIFY.md (how to check it with exhibit verify and with
sha256sum and openssl), MANIFEST.json and SHA256SUMS. The layout is in
docs/FORMATS.md section 6.3.

The zip is canonical: the same record, against the same checkpoint, exports
to the same bytes. The bundle is proved against the checkpoint the record was published
with: with witnesses, the cosigned one; with a TSA, the package holds that
checkpoint's RFC 3161 token (tsa/checkpoint.tsr), the body it stamps and
the TSA's chain; the archive's witness policy is policy.txt. When the token
is still pending the package says so (and exhibit export warns): export
again once it has arrived.

The package is checked with exhibit verify's package checks (with the
archive's policy and TSA roots) before it is written, atomically; an
existing FILE is refused unless --force. Check it with:
exhibit verify FILE.zip --key VKEY [--policy POLICY --tsa-roots PEM]`,
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
			data, rep, err := export.Build(ctx, a, args[0], export.Options{})
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
			for _, c := range rep.Checks {
				if c.OK && (c.Name == verify.CheckPackagePolicy || c.Name == verify.CheckPackageTimestamp) {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", c.Name, printable(c.Detail))
				}
			}
			if rep.Pending {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: the checkpoint's RFC 3161 time-stamp is still pending: the package holds none; export again once the archive has it\n")
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the zip file to write")
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
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
func verifyPackage(cmd *cobra.Command, data []byte, keys verify.Keyring, opts verify.PackageOptions, output, logURL string) error {
	opts.Derived = export.Derived
	// A package names one key of the log; with several trusted keys (a
	// rotated log), the package verifies under whichever it was made with.
	pk := keys[0]
	rep := verify.CheckPackage(data, pk, opts)
	for _, k := range keys[1:] {
		if rep.Verified {
			break
		}
		if r := verify.CheckPackage(data, k, opts); r.Verified {
			pk, rep = k, r
		}
	}
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
		// The package holds the rendering artefacts, checked above.
		notes, cite = summary(rep.Bundle, pk, false, verify.ArtefactNames())
	}
	notes = append(notes, rep.Notes...)
	if output == "json" {
		if err := writeJSON(out, struct {
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
		// Name every file a check failed on: after a package-level
		// failure (a re-zipped package, say) the files that changed.
		var bad []string
		for _, c := range rep.Checks {
			if !c.OK && c.File != "" && !slices.Contains(bad, c.File) {
				bad = append(bad, c.File)
			}
		}
		also := ""
		if len(bad) > 0 {
			also = "; files that fail: " + strings.Join(bad, ", ")
		}
		return &exitError{code: 1, err: fmt.Errorf("verification failed: %s%s: %s%s", f.Name, where, f.Detail, also)}
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
