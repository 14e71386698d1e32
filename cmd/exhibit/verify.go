package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/cite"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/spf13/cobra"
)

func newVerifyCmd(g *globals) *cobra.Command {
	var snapshot, text, output, recordID, logURL, policyPath, tsaRoots string
	var keyArgs, artefacts []string
	var acceptFailOpen bool
	cmd := &cobra.Command{
		Use:   "verify BUNDLE|PACKAGE.zip [--snapshot FILE] [--artefact NAME=FILE...] [--key VKEY... | --archive DIR]",
		Short: "Verify an evidence bundle or package offline",
		Long: `Verify an evidence bundle (exhibit JSON or C2SP tlog-proof) offline, and report
each check by name:

  bundle-parse          the bundle is well formed
  checkpoint-signature  the checkpoint is signed by the trusted log key
  statement-signature   the entry is a DSSE envelope signed by that key,
                        around an in-toto statement of one of exhibit's types
                        (capture, declaration, version, extraction,
                        provision, provision-status)
  record-id             the bundle's record ID (and --record-id, if given) is
                        the one derived from the entry
  leaf-hash             the entry's RFC 6962 leaf hash
  inclusion-proof       the entry is in the tree the checkpoint commits to
  snapshot-digest       (with --snapshot) the file's SHA-256 is the signed one
                        (for a version record: the version's text)
  artefact-digest       (with --artefact NAME=FILE, repeatable, for a
                        browser capture) the file's SHA-256 is the one the
                        statement's rendering block names for NAME:
                        screenshot, pdf, dom, warc or wacz
  wacz                  (with --artefact wacz=FILE whose digest matched) the
                        WACZ 1.1.1 package verifies: every file has the
                        SHA-256 and size datapackage.json lists (none
                        missing, none extra), datapackage-digest.json has
                        the hash of datapackage.json, its signedData
                        signature verifies, and (with --tsa-roots) its
                        timeSignature is a trusted RFC 3161 token over it
  provision-quote       (with --text, for a provision) the file is the quoted
                        version's text, and the quote stands at the stated
                        code points of it: the clause was in the document
  witness-cosignatures  (with --policy FILE, a C2SP tlog-policy) every
                        cosignature by a policy witness verifies; which
                        witnesses signed and when ("witnessed no later
                        than"); whether the quorum is met. Signatures by
                        keys the policy does not name are ignored. With
                        --accept-fail-open, a bundle marked "witnessing":
                        "fail-open" passes without the quorum, reported as
                        "quorum NOT met"
  timestamp             (with --tsa-roots PEM, the TSA's chain or root) the
                        bundle's RFC 3161 token verifies over the checkpoint:
                        it "existed no later than" the token's time; fails
                        when the token is missing or still pending
  log-consistency       (with --log URL, online) the log published there has a
                        checkpoint signed by the key that extends the bundle's
                        (an RFC 6962 consistency proof from the served tiles):
                        the entry is still in the log the public sees
                        (responses larger than a checkpoint or tile can be
                        are refused, naming the URL: see exhibit help
                        monitor)

A PACKAGE.zip (exhibit export) is checked whole, each check naming its
file: the zip is the canonical zip of its files, every file is the one
MANIFEST.json and SHA256SUMS list (none missing, none extra), log-key.vkey
is the trusted key, the bundle's checks above with the snapshot (or text)
it holds, bundle.tlog-proof and provenance.json are the same evidence,
tls-chain.pem, headers.json and a browser capture's rendering/ files
(screenshot.png, page.pdf, dom.html, capture.warc.gz, capture.wacz) are the
objects the statement names, the WACZ verifies (check wacz, as above), the
witnesses (policy.txt) and time-stamp (tsa/) when present, and the
certificate and VERIFY.md are exactly those the evidence gives. --policy
and --tsa-roots are the trusted ones: the package's policy.txt must be the
same file (without --policy it is only reported, as the package's claim),
and with --tsa-roots the package must hold a token that verifies.

The trusted key is --key (a C2SP vkey, name+hex8+base64, or a file holding
one), else every key of --archive (its current and earlier keys), else the
"log" lines of --policy. Repeat --key to trust several keys of a log whose
key was rotated: the checkpoint and the statement must each be signed by
one of them, and the report names the key that verified. Nothing in the
bundle is trusted.

Exit status: 0 all checks passed; 1 a check failed; 2 usage error or
unreadable input. Input that is a bundle or package in form (a JSON
object, text starting with the tlog-proof header line, or a zip) and fails
to parse fails the bundle-parse (or package-zip) check: 1. Input in none
of these forms (empty, "null", random bytes, a .zip that is no zip) is not
evidence at all: 2.
BUNDLE "-" reads stdin.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			var pol *verify.Policy
			var policyBytes []byte
			if policyPath != "" {
				b, err := readSmallFile("--policy", policyPath, maxPolicyFile)
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				policyBytes = b
				if pol, err = verify.ParsePolicy(b); err != nil {
					return &exitError{code: 2, err: fmt.Errorf("%s: %w", policyPath, err)}
				}
			}
			keys, err := trustedKeys(g, keyArgs, pol)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			pk := keys[0]
			data, err := readInput(args[0])
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			opts := verify.Options{RecordID: recordID, Policy: pol, Keys: keys[1:], AcceptFailOpen: acceptFailOpen}
			popts := verify.PackageOptions{RecordID: recordID, Policy: policyBytes, AcceptFailOpen: acceptFailOpen}
			if tsaRoots != "" {
				b, err := readSmallFile("--tsa-roots", tsaRoots, maxPolicyFile)
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				o, err := verify.ParseTSARoots(b)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("%s: %w", tsaRoots, err)}
				}
				opts.Timestamps = &o
				popts.TSARoots, popts.TSAUntrusted = o.Roots, o.Untrusted
			}
			if recordID != "" {
				if _, err := verify.ParseRecordID(recordID); err != nil {
					return usageError("--record-id: %v", err)
				}
			}
			if isPackage(args[0], data) {
				if !bytes.HasPrefix(data, []byte("PK")) {
					return &exitError{code: 2, err: fmt.Errorf("%s is not an evidence bundle or package: it is named .zip but is not a zip", inputName(args[0]))}
				}
				if snapshot != "" || text != "" || len(artefacts) > 0 {
					return usageError("--snapshot, --artefact and --text do not apply to an evidence package: it holds them")
				}
				return verifyPackage(cmd, data, keys, popts, output, logURL)
			}
			if _, err := verify.ParseBundle(data); errors.Is(err, verify.ErrNotBundle) {
				// Not evidence at all: a usage error, not a failed check.
				return &exitError{code: 2, err: fmt.Errorf("%s is not an evidence bundle or package: %w", inputName(args[0]), err)}
			}
			if snapshot != "" {
				f, err := ingest.OpenRegular(snapshot)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--snapshot: %w", err)}
				}
				defer f.Close()
				opts.Snapshot = f
			}
			for _, a := range artefacts {
				name, file, ok := strings.Cut(a, "=")
				if _, known := verify.ArtefactKindOf(name); !ok || !known || file == "" {
					return usageError("--artefact %q: want NAME=FILE, NAME one of %s", a, strings.Join(verify.ArtefactNames(), ", "))
				}
				if _, dup := opts.Artefacts[name]; dup {
					return usageError("--artefact %s given twice", name)
				}
				f, err := ingest.OpenRegular(file)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("reading %s artefact: %w", name, err)}
				}
				defer f.Close()
				if opts.Artefacts == nil {
					opts.Artefacts = map[string]io.Reader{}
				}
				opts.Artefacts[name] = f
				if opts.ArtefactFiles == nil {
					opts.ArtefactFiles = map[string]string{}
				}
				opts.ArtefactFiles[name] = file
			}
			if text != "" {
				if opts.Text, err = readSmallFile("--text", text, maxTextFile); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			rep := verify.Check(data, pk, opts)
			if rep.Key != nil {
				pk = rep.Key // the trusted key that signed the checkpoint
			}
			if logURL != "" {
				rep.Checks = append(rep.Checks, publishedCheck(cmd.Context(), logURL, keys, rep))
				rep.Verified = rep.Failed() == nil
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				notes, cite := summary(rep, pk, true, slices.Sorted(maps.Keys(opts.Artefacts)))
				if err := writeJSON(out, struct {
					*verify.Report
					Notes    []string `json:"notes,omitempty"`
					Citation string   `json:"citation,omitempty"`
				}{rep, notes, cite}); err != nil {
					return err
				}
			} else {
				printReport(out, rep, pk, slices.Sorted(maps.Keys(opts.Artefacts)))
			}
			if !rep.Verified {
				if output == "json" {
					return &exitError{code: 1}
				}
				f := rep.Failed()
				return &exitError{code: 1, err: fmt.Errorf("verification failed: %s: %s", f.Name, f.Detail)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&snapshot, "snapshot", "", "also check that this file is the captured snapshot")
	cmd.Flags().StringArrayVar(&artefacts, "artefact", nil, "for a browser capture: NAME=FILE, also check that FILE is its "+strings.Join(verify.ArtefactNames(), ", ")+" (repeatable)")
	cmd.Flags().BoolVar(&acceptFailOpen, "accept-fail-open", false, "with --policy: accept a bundle marked fail-open without the witnesses' quorum (only if you know the log publishes fail-open: the mark is not signed)")
	cmd.Flags().StringVar(&text, "text", "", "for a provision: the quoted version's text, to check the quote stands in it")
	cmd.Flags().StringVar(&logURL, "log", "", "also check online that the log published at this URL still contains the bundle's checkpoint (consistency proof)")
	cmd.Flags().StringVar(&policyPath, "policy", "", "witness trust policy (C2SP tlog-policy): check the checkpoint's cosignatures and quorum")
	cmd.Flags().StringVar(&tsaRoots, "tsa-roots", "", "PEM of the trusted TSA's chain or root: check the bundle's RFC 3161 time-stamp")
	cmd.Flags().StringVar(&recordID, "record-id", "", "the record ID you were cited: the bundle must be that record's (any case; hyphens, spaces and EXR optional; O for 0, I and L for 1; ASCII only); reports print the canonical ID")
	cmd.Flags().StringArrayVar(&keyArgs, "key", nil, "trusted log key: C2SP vkey, or a file holding one; repeat for the keys of a rotated log")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// Input limits of verify: an evidence package holds at most a 1 GiB
// snapshot (export.MaxSnapshot) beside small files; a bundle, at most a
// 64 KiB entry, 64 proof hashes, a checkpoint and a 1 MiB time-stamp
// token, in base64.
const (
	maxPackageInput = verify.MaxPackageSize
	maxBundleInput  = 4 << 20
)

// Limits of the files verify reads beside the bundle: a trust policy or a
// TSA's PEM chain is a few KiB, a verifier key one short line; a
// provision's version text is at most the snapshot it was taken from.
const (
	maxPolicyFile = 1 << 20
	maxKeyFile    = 4 << 10
	maxTextFile   = maxPackageInput
)

// readSmallFile reads the file path given to flag, refusing anything but
// a regular file (a named pipe would block for ever, a device never end)
// without blocking on it, and a file larger than limit without reading it
// whole.
func readSmallFile(flag, path string, limit int64) ([]byte, error) {
	f, err := ingest.OpenRegular(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", flag, path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %s is over %d bytes, larger than any such file", flag, path, limit)
	}
	return b, nil
}

// inputName names BUNDLE in messages.
func inputName(name string) string {
	if name == "-" {
		return "standard input"
	}
	return name
}

// readInput reads a bundle or package from a file or stdin ("-"),
// refusing one larger than any exhibit writes without reading it whole.
func readInput(name string) ([]byte, error) {
	var r io.Reader = os.Stdin
	size := int64(-1)
	if name != "-" {
		// Without blocking: a named pipe is read (verify <(curl ...)),
		// but one nobody writes to is empty instead of waited on for ever.
		f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, fmt.Errorf("reading bundle: %w", err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		r = f
	}
	br := bufio.NewReader(r)
	head, _ := br.Peek(4)
	limit := int64(maxBundleInput)
	if isPackage(name, head) {
		limit = maxPackageInput
	}
	if size > limit {
		return nil, fmt.Errorf("%s is %d bytes, larger than any bundle (%d bytes) or evidence package (%d bytes) exhibit writes", name, size, int64(maxBundleInput), int64(maxPackageInput))
	}
	data, err := io.ReadAll(io.LimitReader(br, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading bundle: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes, larger than any bundle (%d bytes) or evidence package (%d bytes) exhibit writes", name, limit, int64(maxBundleInput), int64(maxPackageInput))
	}
	return data, nil
}

// trustedKeys returns the keys given by --key; else, with an --archive,
// every key of the archive (the current one first); else the log keys of
// the --policy.
func trustedKeys(g *globals, keyArgs []string, pol *verify.Policy) (verify.Keyring, error) {
	var keys []*verify.PublicKey
	for _, k := range keyArgs {
		pk, err := trustedKey(k)
		if err != nil {
			return nil, err
		}
		keys = append(keys, pk)
	}
	if len(keys) > 0 {
		return keys, nil
	}
	cfg, err := archive.ReadConfig(g.archive)
	if errors.Is(err, archive.ErrNoArchive) && pol != nil && len(pol.Logs) > 0 {
		for _, l := range pol.Logs {
			keys = append(keys, l.Key)
		}
		return keys, nil
	}
	if errors.Is(err, archive.ErrNoArchive) {
		return nil, fmt.Errorf("no trusted key: pass --key VKEY, or --archive DIR of the archive that made the bundle (%s holds none)", g.archive)
	}
	if err != nil {
		return nil, err
	}
	return cfg.Keys()
}

// trustedKey parses one --key: a vkey, or a file holding one.
func trustedKey(key string) (*verify.PublicKey, error) {
	pk, err := verify.ParseVKey(key)
	if err == nil {
		return pk, nil
	}
	if _, serr := os.Stat(key); serr != nil && strings.Count(key, "+") >= 2 {
		return nil, err // meant as a vkey
	}
	b, ferr := readSmallFile("--key", key, maxKeyFile)
	if ferr != nil {
		var nr *ingest.NotRegularError
		if errors.As(ferr, &nr) {
			return nil, ferr
		}
		return nil, fmt.Errorf("--key %q is neither a verifier key (name+hex8+base64) nor a readable file: %w", key, errors.Unwrap(ferr))
	}
	text := strings.TrimSpace(string(b))
	if len(text) > 1024 || strings.Contains(text, "\n") {
		return nil, fmt.Errorf("--key file %s does not hold one verifier key (name+hex8+base64) on one line", key)
	}
	return verify.ParseVKey(text)
}

// publishedCheck is the online check that the bundle's checkpoint is part
// of the log published at logURL.
func publishedCheck(ctx context.Context, logURL string, keys verify.Keyring, rep *verify.Report) verify.Result {
	r := verify.Result{Name: "log-consistency"}
	if rep.Checkpoint == nil {
		r.Err = errors.New("not checked: the bundle's checkpoint is not trusted")
		r.Detail = r.Err.Error()
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	latest, err := ledger.CheckPublished(ctx, logURL, keys[0], rep.Checkpoint, &http.Client{Timeout: 30 * time.Second}, keys[1:]...)
	if err != nil {
		r.Err, r.Detail = err, err.Error()
		return r
	}
	r.OK = true
	r.Detail = fmt.Sprintf("%s serves tree size %d (root %x), which contains the bundle's tree size %d", logURL, latest.Size, latest.Hash, rep.Checkpoint.Size)
	return r
}

// summary says, for a verified report, what a reader must know beyond the
// checks, and the citation. With trust, it says what the witnesses and the
// TSA attest, or that they were not checked (a package's report says so
// itself, from its own checks). checked names the rendering artefacts
// whose files were checked (given with --artefact, or held by a
// package); the note on a browser capture asks for the others.
func summary(rep *verify.Report, pk *verify.PublicKey, trust bool, checked []string) (notes []string, citation string) {
	if !rep.Verified {
		return nil, ""
	}
	if rep.Statement == nil {
		d := cite.Describe(rep.Entry)
		if trust {
			notes = trustNotes(rep)
		}
		return notes, fmt.Sprintf("exhibit %s record %s, entry %d of log %s (tree size %d): %s",
			rep.Entry.Kind(), rep.RecordID, rep.Bundle.Index, pk.Name, rep.Checkpoint.Size, d)
	}
	c := cite.New(record.New(rep.RecordID, rep.Bundle.Index, rep.Entry, nil), rep.Checkpoint, pk.VKey)
	p := rep.Statement.Predicate
	switch {
	case p.Outcome == verify.OutcomeFailed:
		notes = append(notes, fmt.Sprintf("the record attests a FAILED capture (%s: %s); it has no snapshot", p.Failure.Reason, p.Failure.Message))
	case c.Uploaded:
		notes = append(notes, "a copy supplied to exhibit out of band: its URL and fetch time are the supplier's claims")
	case p.Outcome == verify.OutcomeHTTPError:
		notes = append(notes, fmt.Sprintf("the server answered HTTP %d (not a success); its body is the snapshot", p.Observed.Status))
	}
	if c.TLSVerified != nil && !*c.TLSVerified {
		notes = append(notes, "the server's TLS certificate was NOT verified (captured with --insecure-skip-verify)")
	}
	if rd := p.Rendering; rd != nil && p.Outcome != verify.OutcomeFailed {
		var names, unchecked []string
		for _, a := range rd.Artefacts() {
			names = append(names, a.Name)
			if !slices.Contains(checked, a.Name) {
				unchecked = append(unchecked, a.Name)
			}
		}
		note := fmt.Sprintf("rendered in %s %s: the statement names its %s by SHA-256", rd.Browser.Name, rd.Browser.Version, strings.Join(names, ", "))
		switch {
		case len(unchecked) == 0:
			note += " (each file checked above)"
		case len(unchecked) < len(names):
			note += fmt.Sprintf(" (not checked: %s; check them with --artefact NAME=FILE)", strings.Join(unchecked, ", "))
		default:
			note += " (check them with --artefact NAME=FILE)"
		}
		if rd.WARC == nil {
			note += "; it records no WARC of the page's HTTP exchanges (a capture by an exhibit before WARC recording)"
		}
		if !rd.Wait.Settled {
			note += "; the page had NOT settled when it was taken"
		}
		notes = append(notes, note)
	}
	if trust {
		notes = append(notes, trustNotes(rep)...)
	}
	return notes, c.Text
}

func printReport(w io.Writer, rep *verify.Report, pk *verify.PublicKey, checked []string) {
	for _, c := range rep.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s %-21s %s\n", mark, c.Name, printable(c.Detail))
	}
	if !rep.Verified {
		fmt.Fprintln(w, "\nNOT VERIFIED")
		return
	}
	fmt.Fprintf(w, "\nverified: record %s is entry %d of log %s (tree size %d), signed by %s\n",
		rep.RecordID, rep.Bundle.Index, pk.Name, rep.Checkpoint.Size, pk.VKey)
	notes, cite := summary(rep, pk, true, checked)
	for _, n := range notes {
		fmt.Fprintf(w, "note:     %s\n", printable(n))
	}
	fmt.Fprintf(w, "cite as:  %s\n", printable(cite))
}

// trustNotes says what the witnesses and the TSA attest, when checked,
// and what evidence the bundle carries that was not checked.
func trustNotes(rep *verify.Report) []string {
	var notes []string
	if b := rep.Bundle; b != nil && rep.Witnessed == nil {
		if n := cosignatureLines(b.Checkpoint, rep.Checkpoint.Origin); n > 0 {
			notes = append(notes, fmt.Sprintf("the checkpoint carries %d signature line(s) by other keys than the log's (witness cosignatures?), NOT checked: give the log's witness policy with --policy", n))
		}
	}
	if b := rep.Bundle; b != nil && rep.Timestamp == nil && !hasCheck(rep, verify.CheckTimestampToken) {
		switch {
		case b.Timestamp != nil:
			notes = append(notes, "the bundle carries an RFC 3161 time-stamp token, NOT checked: give the TSA's roots with --tsa-roots")
		case b.TimestampStatus == verify.TimestampPending:
			notes = append(notes, "the bundle says its RFC 3161 time-stamp is pending: exhibit prove gives a fresh bundle with the token once the archive has it")
		}
	}
	if w := rep.Witnessed; w != nil {
		if w.QuorumMet {
			notes = append(notes, fmt.Sprintf("witnessed: %d witness cosignature(s), quorum met", len(w.Cosignatures)))
		} else {
			notes = append(notes, fmt.Sprintf("witness quorum NOT met (%d cosignature(s)): accepted because you said the log publishes fail-open (--accept-fail-open)", len(w.Cosignatures)))
		}
	}
	if ts := rep.Timestamp; ts != nil {
		notes = append(notes, fmt.Sprintf("the checkpoint existed no later than %s (TSA %s)", ts.GenTime.UTC().Format(time.RFC3339Nano), ts.TSA))
	}
	return notes
}

// cosignatureLines counts the signature lines of a signed note by keys
// named other than origin.
func cosignatureLines(note, origin string) int {
	i := strings.LastIndex(note, "\n\n")
	if i < 0 {
		return 0
	}
	n := 0
	for _, l := range strings.Split(note[i+2:], "\n") {
		if strings.HasPrefix(l, "\u2014 ") && !strings.HasPrefix(l, "\u2014 "+origin+" ") {
			n++
		}
	}
	return n
}

func hasCheck(rep *verify.Report, name string) bool {
	for _, c := range rep.Checks {
		if c.Name == name {
			return true
		}
	}
	return false
}
