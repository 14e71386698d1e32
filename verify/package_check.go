package verify

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// Checking a package: every file against the manifest, the bundle, the
// policy and the time-stamp, and the derived documents.

// Names of the checks [CheckPackage] reports besides those of [Check].
const (
	CheckPackageZip       = "package-zip"
	CheckPackageManifest  = "manifest"
	CheckPackageFile      = "file"
	CheckPackageSums      = "sha256sums"
	CheckPackageLogKey    = "log-key"
	CheckPackageProof     = "bundle-forms"
	CheckPackageStatement = "provenance"
	CheckPackageTLSChain  = "tls-chain"
	CheckPackageHeaders   = "headers"
	CheckPackageText      = "text"
	CheckPackagePolicy    = "witnesses"
	CheckPackageTimestamp = "timestamp"
	CheckPackageDerived   = "derived-documents"
)

// PackageCheck is one check of a package: a [Result] and, when the check
// is about one file, its name.
type PackageCheck struct {
	Result
	File string `json:"file,omitempty"`
}

// PackageReport is the outcome of [CheckPackage].
type PackageReport struct {
	Verified bool           `json:"verified"`
	RecordID string         `json:"record_id"`
	Checks   []PackageCheck `json:"checks"`
	// Notes say what was present but could not be checked (a time-stamp
	// token without trusted TSA roots, say), for people.
	Notes []string `json:"notes,omitempty"`

	// Bundle is the bundle's report (its checks are also in Checks).
	Bundle *Report `json:"-"`
	// Package is the package read, when the zip could be opened.
	Package *Package `json:"-"`
}

// Failed returns the first failed check, or nil.
func (r *PackageReport) Failed() *PackageCheck {
	for i := range r.Checks {
		if !r.Checks[i].OK {
			return &r.Checks[i]
		}
	}
	return nil
}

// Package is a package's contents, as [CheckPackage] read them.
type Package struct {
	// Files maps each file's name to its bytes.
	Files map[string][]byte
	// Manifest is the parsed MANIFEST.json, or nil.
	Manifest *Manifest
	// Bundle is the bundle's verified report (nil before it ran).
	Bundle *Report
}

// PackageOptions configure [CheckPackage].
type PackageOptions struct {
	// RecordID, if set, is the record ID the verifier was cited; the
	// package must be that record's.
	RecordID string
	// Policy, if set, is the trust policy the verifier holds (C2SP
	// tlog-policy text). A policy.txt in the package must then be the same
	// bytes, and the bundle's checkpoint must meet its quorum. Without it,
	// a policy.txt in the package is used to report the witnesses, as a
	// claim, and a note says so.
	Policy []byte
	// AcceptFailOpen accepts a bundle marked fail-open without the
	// quorum of Policy (see [Options.AcceptFailOpen]).
	AcceptFailOpen bool
	// TSARoots, if set, are the trusted time-stamping authorities' root
	// certificates; the package must then hold a time-stamp token, which
	// is verified against them. Without them the token is not checked,
	// and a note says so. TSAUntrusted are the verifier's own intermediate
	// certificates of the TSA (see [ParseTSARoots]), used beside the
	// package's tsa/chain.pem only to build a chain to TSARoots.
	TSARoots     *x509.CertPool
	TSAUntrusted []*x509.Certificate
	// MaxSize bounds the total size of the files read from the zip; zero
	// means MaxPackageSize. (A canonical package stores its files
	// uncompressed, but a re-zipped one is read whole, inflated, so that
	// its files are compared one by one.)
	MaxSize int64
	// Derived, if set, regenerates the documents derived from the rest of
	// the package (certificate.html, certificate.pdf, VERIFY.md) from p,
	// whose bundle has verified. Each returned file must equal the
	// package's byte for byte (check "derived-documents"). It returns
	// [ErrNotReproducible] when it cannot (another generator version); the
	// check is then skipped with a note. Package verify has no such
	// generator: exhibit's CLI passes archive/export.Derived.
	Derived func(p *Package) (map[string][]byte, error)
}

// ErrNotReproducible is returned by a [PackageOptions.Derived] function
// that cannot regenerate a package's derived documents.
var ErrNotReproducible = errors.New("derived documents not reproducible by this generator")

// FileMismatchError reports a package file whose contents are not those
// the manifest (or the signed statement) names. WantSize is -1 when only
// the hash is known (a statement names objects by SHA-256 alone).
type FileMismatchError struct {
	File               string
	WantSHA256, SHA256 string
	WantSize, Size     int64
}

func (e *FileMismatchError) Error() string {
	if e.WantSize < 0 {
		return fmt.Sprintf("%s: SHA-256 %s (%d bytes), but the statement names %s", e.File, e.SHA256, e.Size, e.WantSHA256)
	}
	return fmt.Sprintf("%s: SHA-256 %s (%d bytes), but %s (%d bytes) is expected", e.File, e.SHA256, e.Size, e.WantSHA256, e.WantSize)
}

// CheckPackage verifies an evidence package (a zip, as `exhibit export`
// writes it) against the trusted log key, offline. It runs, in order and
// each by name:
//
//   - package-zip: the zip's end records list at most
//     [MaxPackageEntries] entries in a central directory of a size they
//     can take (checked before archive/zip reads the directory), the zip
//     opens, its file names are safe and unique, and its bytes are exactly
//     the canonical zip of its files ([WritePackage]), so that a changed
//     byte anywhere, in a header too, is caught (and the file whose entry
//     holds it named). A zip unpacked and zipped again (by zip(1), say:
//     compressed entries, directory entries, other times) fails this
//     check, saying so, and is still read, so that the checks below name
//     the files that changed;
//   - manifest: MANIFEST.json parses, is exactly as [Manifest.Marshal]
//     writes it, and names the bundle's record;
//   - file (one per file): each file the manifest lists is present with
//     the listed size and SHA-256, and no file is unlisted;
//   - sha256sums: SHA256SUMS is exactly the one the manifest gives;
//   - log-key: log-key.vkey holds the trusted key, and the manifest names
//     it and its origin (the package's own key is never trusted);
//   - the checks of [Check] on bundle.json, with the snapshot (or, for a
//     version or provision record, the text) it holds;
//   - bundle-forms: bundle.json and bundle.tlog-proof are the same bundle,
//     each exactly as [Bundle.Marshal] and [Bundle.MarshalProof] write it;
//   - provenance: provenance.json is the signed statement, exactly as
//     [IndentStatement] writes it;
//   - tls-chain, headers, text, artefact-digest: the stored objects the
//     statement names by SHA-256 are there, and are those (a browser
//     capture's rendering artefacts under rendering/, [RenderingFile]);
//   - wacz (for a browser capture with a WACZ that is the one signed):
//     the WACZ verifies with [CheckWACZ], its timeSignature against
//     [PackageOptions.TSARoots] if given;
//   - witnesses (with policy.txt): the checkpoint's cosignatures;
//   - timestamp (with tsa/checkpoint.tsr): the token stamps the bundle's
//     checkpoint body, verified against [PackageOptions.TSARoots];
//   - derived-documents (with [PackageOptions.Derived]): the certificate
//     and instructions are those the verified contents give.
//
// Verified is true only when every check passed. CheckPackage never
// returns an error: every problem is a failed check, naming its file.
func CheckPackage(zipData []byte, key *PublicKey, opts PackageOptions) *PackageReport {
	r := &PackageReport{}
	add := func(name, file string, err error, okDetail string) bool {
		c := PackageCheck{Result: Result{Name: name, OK: err == nil, Detail: okDetail, Err: err}, File: file}
		if err != nil {
			c.Detail = err.Error()
		}
		r.Checks = append(r.Checks, c)
		return err == nil
	}
	finish := func() *PackageReport {
		r.Verified = len(r.Checks) > 0 && r.Failed() == nil
		return r
	}
	if key == nil {
		add(CheckPackageLogKey, "", errors.New("no trusted log key given"), "")
		return finish()
	}

	// package-zip
	files, badFile, err := readPackage(zipData, opts.MaxSize)
	if !add(CheckPackageZip, badFile, err, fmt.Sprintf("%d files, %d bytes, canonical form", len(files), len(zipData))) {
		if files == nil {
			return finish()
		}
	}
	p := &Package{Files: files}
	r.Package = p

	// manifest
	m, err := ParseManifest(files[PackageManifest])
	if _, ok := files[PackageManifest]; !ok {
		err = fmt.Errorf("%w: no %s", ErrPackage, PackageManifest)
	}
	if err == nil && !bytes.Equal(files[PackageManifest], m.Marshal()) {
		err = fmt.Errorf("%s is not byte-identical to its canonical form, as if re-serialised (%s)", PackageManifest, firstLineDiff(files[PackageManifest], m.Marshal()))
	}
	if add(CheckPackageManifest, PackageManifest, err, "") {
		p.Manifest = m
		r.RecordID = m.RecordID
		r.Checks[len(r.Checks)-1].Detail = fmt.Sprintf("%s record %s of log %s, %d files, written by %s", m.Kind, m.RecordID, m.LogOrigin, len(m.Files), m.Generator)
	}

	// file, one per file
	listed := map[string]bool{PackageManifest: true, PackageSums: true}
	if m != nil {
		for _, f := range m.Files {
			listed[f.Name] = true
			b, ok := files[f.Name]
			switch {
			case !ok:
				add(CheckPackageFile, f.Name, fmt.Errorf("%s: listed in the manifest but missing from the package", f.Name), "")
			case SHA256Hex(b) != f.SHA256 || int64(len(b)) != f.Size:
				add(CheckPackageFile, f.Name, &FileMismatchError{File: f.Name, WantSHA256: f.SHA256, WantSize: f.Size, SHA256: SHA256Hex(b), Size: int64(len(b))}, "")
			default:
				add(CheckPackageFile, f.Name, nil, fmt.Sprintf("%s: %d bytes, SHA-256 %s", f.Name, f.Size, f.SHA256))
			}
		}
	}
	for _, n := range sortedKeys(files) {
		if !listed[n] {
			add(CheckPackageFile, n, fmt.Errorf("%s: in the package but not listed in the manifest", n), "")
		}
	}

	// sha256sums
	if m == nil {
		add(CheckPackageSums, PackageSums, errors.New("not checked: no valid manifest"), "")
	} else if want := m.Sums(files[PackageManifest]); !bytes.Equal(files[PackageSums], want) {
		add(CheckPackageSums, PackageSums, fmt.Errorf("%s is not the list the manifest gives (%s)", PackageSums, firstLineDiff(files[PackageSums], want)), "")
	} else {
		add(CheckPackageSums, PackageSums, nil, fmt.Sprintf("%d lines agree with the manifest", len(m.Files)+1))
	}

	// log-key
	gotKey := string(files[PackageLogKey])
	switch {
	case gotKey != key.VKey+"\n":
		add(CheckPackageLogKey, PackageLogKey, fmt.Errorf("the package's key %q is not the trusted key %s: the package's own key is never trusted", abbreviate(strings.TrimSuffix(gotKey, "\n"), 120), key.VKey), "")
	case m != nil && (m.LogKey != key.VKey || m.LogOrigin != key.Name):
		add(CheckPackageLogKey, PackageManifest, fmt.Errorf("the manifest names log %q with key %q, not the trusted key %s", m.LogOrigin, m.LogKey, key.VKey), "")
	default:
		add(CheckPackageLogKey, PackageLogKey, nil, "the package's key is the trusted key "+key.VKey)
	}

	// The bundle, with the snapshot or text the package holds.
	var bopts Options
	bopts.RecordID = opts.RecordID
	snapName, snap := onlyFileIn(files, PackageSnapshotDir)
	textName, text := onlyFileIn(files, PackageTextDir)
	if snapName != "" {
		bopts.Snapshot = bytes.NewReader(snap)
	}
	bundleData, ok := files[PackageBundle]
	if !ok {
		add(CheckBundleParse, PackageBundle, fmt.Errorf("%w: no %s", ErrPackage, PackageBundle), "")
		return finish()
	}
	// A version's text is its subject; a provision's quote is checked
	// against its version's text. Peek (unverified) at the kind to choose.
	if textName != "" {
		if b, err := ParseBundle(bundleData); err == nil {
			if env, err := ParseEnvelope(b.Entry); err == nil {
				var head struct {
					PredicateType string `json:"predicateType"`
				}
				json.Unmarshal(env.Payload, &head)
				switch head.PredicateType {
				case VersionPredicateType:
					bopts.Snapshot = bytes.NewReader(text)
				case ProvisionPredicateType:
					bopts.Text = text
				}
			}
		}
	}
	br := Check(bundleData, key, bopts)
	r.Bundle, p.Bundle = br, br
	for _, c := range br.Checks {
		file := PackageBundle
		switch c.Name {
		case CheckSnapshotDigest:
			file = snapName
			if file == "" {
				file = textName
			}
		case CheckProvisionQuote:
			file = textName
		}
		r.Checks = append(r.Checks, PackageCheck{Result: c, File: file})
	}
	if br.Bundle != nil && m != nil && br.RecordID != m.RecordID {
		add(CheckPackageManifest, PackageManifest, fmt.Errorf("the manifest names record %s, the bundle %s", m.RecordID, br.RecordID), "")
	}
	if r.RecordID == "" || br.Bundle != nil {
		r.RecordID = br.RecordID
	}
	if m != nil && br.Entry != nil && m.Kind != br.Entry.Kind() {
		add(CheckPackageManifest, PackageManifest, fmt.Errorf("the manifest says the record is a %s, the statement is a %s", m.Kind, br.Entry.Kind()), "")
	}
	if br.Bundle == nil {
		return finish()
	}
	b := br.Bundle

	// bundle-forms
	if !bytes.Equal(bundleData, b.Marshal()) {
		add(CheckPackageProof, PackageBundle, fmt.Errorf("%s is not byte-identical to its canonical form, as if re-serialised (%s)", PackageBundle, firstLineDiff(bundleData, b.Marshal())), "")
	}
	if pd, ok := files[PackageProof]; !ok {
		add(CheckPackageProof, PackageProof, fmt.Errorf("%w: no %s", ErrPackage, PackageProof), "")
	} else if pb, err := ParseProof(pd); err != nil {
		add(CheckPackageProof, PackageProof, err, "")
	} else if !bytes.Equal(pd, b.MarshalProof()) || pb.Index != b.Index {
		add(CheckPackageProof, PackageProof, fmt.Errorf("%s is not %s in tlog-proof form", PackageProof, PackageBundle), "")
	} else {
		add(CheckPackageProof, PackageProof, nil, PackageBundle+" and "+PackageProof+" are the same bundle, each in canonical form")
	}

	if br.Entry == nil {
		return finish()
	}
	// provenance
	env, _ := ParseEnvelope(b.Entry) // parsed by Check already
	pv, ok := files[PackageProvenance]
	switch {
	case !ok:
		add(CheckPackageStatement, PackageProvenance, fmt.Errorf("%w: no %s", ErrPackage, PackageProvenance), "")
	case !bytes.Equal(pv, IndentStatement(env.Payload)):
		add(CheckPackageStatement, PackageProvenance, fmt.Errorf("%s is not the signed statement, indented (%s)", PackageProvenance, firstLineDiff(pv, IndentStatement(env.Payload))), "")
	default:
		add(CheckPackageStatement, PackageProvenance, nil, fmt.Sprintf("the signed %s statement (%d bytes of payload), indented", br.Entry.Kind(), len(env.Payload)))
	}

	// The stored objects the statement names.
	wantObjects := map[string]string{} // file name -> sha256 named by the statement
	checkObject := func(name, file, digest, what string) {
		wantObjects[file] = digest
		got, ok := files[file]
		switch {
		case !ok:
			add(name, file, fmt.Errorf("the statement names %s %s, but the package has no %s", what, digest, file), "")
		case SHA256Hex(got) != digest:
			add(name, file, &FileMismatchError{File: file, WantSHA256: digest, WantSize: -1, SHA256: SHA256Hex(got), Size: int64(len(got))}, "")
		default:
			add(name, file, nil, fmt.Sprintf("%s: %s SHA-256 %s, as signed", file, what, digest))
		}
	}
	if st := br.Statement; st != nil {
		if st.Predicate.Snapshot != nil {
			wantObjects[snapName] = st.Predicate.Snapshot.SHA256
			if snapName == "" {
				add(CheckSnapshotDigest, PackageSnapshotDir, fmt.Errorf("the statement names snapshot %s, but the package has no %s file", st.Predicate.Snapshot.SHA256, PackageSnapshotDir), "")
			} else if snapName != snapshotName(st.Predicate.Snapshot) {
				add(CheckSnapshotDigest, snapName, fmt.Errorf("the snapshot is named %s, want %s", snapName, snapshotName(st.Predicate.Snapshot)), "")
			}
		}
		if o := st.Predicate.Observed; o != nil {
			if o.TLS != nil && o.TLS.CertificateChainSHA256 != "" {
				checkObject(CheckPackageTLSChain, PackageTLSChain, o.TLS.CertificateChainSHA256, "certificate chain")
				if certs, err := ParseCertificatesPEM(files[PackageTLSChain]); err == nil && len(certs) != o.TLS.Certificates {
					add(CheckPackageTLSChain, PackageTLSChain, fmt.Errorf("%s holds %d certificates, the statement says %d", PackageTLSChain, len(certs), o.TLS.Certificates), "")
				}
			}
			if o.HeadersDigest != "" {
				checkObject(CheckPackageHeaders, PackageHeaders, o.HeadersDigest, "response headers")
			}
		}
		for _, a := range st.Predicate.Rendering.Artefacts() {
			checkObject(CheckArtefactDigest, RenderingFile(a.Name), a.SHA256, a.Name)
		}
		if a := st.Predicate.Rendering.Artefact("wacz"); a != nil {
			if f := RenderingFile("wacz"); SHA256Hex(files[f]) == a.SHA256 {
				wo := WACZOptions{}
				if opts.TSARoots != nil {
					untrusted, _ := ParseCertificatesPEM(files[PackageTSAChain])
					wo.Timestamp = &TimestampOptions{Roots: opts.TSARoots, Untrusted: append(untrusted, opts.TSAUntrusted...)}
				}
				w, err := CheckWACZ(files[f], wo)
				add(CheckWACZArtefact, f, err, WACZDetail(w))
			}
		}
	} else if d := textDigest(br.Entry); d != "" {
		wantObjects[textName] = d
		if textName == "" {
			add(CheckPackageText, PackageTextDir, fmt.Errorf("the statement names text %s, but the package has no %s file", d, PackageTextDir), "")
		} else if want := PackageTextDir + d + ".txt"; textName != want {
			add(CheckPackageText, textName, fmt.Errorf("the text is named %s, want %s", textName, want), "")
		} else {
			checkObject(CheckPackageText, textName, d, "version text")
		}
	}
	// Objects the statement does not name have no place in the package.
	for _, f := range []string{PackageTLSChain, PackageHeaders, snapName, textName} {
		if _, named := wantObjects[f]; f != "" && !named {
			if _, ok := files[f]; ok {
				add(CheckPackageFile, f, fmt.Errorf("%s: the statement names no such object", f), "")
			}
		}
	}
	for _, n := range sortedKeys(files) {
		if (strings.HasPrefix(n, PackageSnapshotDir) && n != snapName) || (strings.HasPrefix(n, PackageTextDir) && n != textName) {
			add(CheckPackageFile, n, fmt.Errorf("%s: a second file in %s", n, path.Dir(n)), "")
		}
		if _, named := wantObjects[n]; strings.HasPrefix(n, PackageRenderingDir) && !named {
			add(CheckPackageFile, n, fmt.Errorf("%s: the statement names no such rendering artefact", n), "")
		}
	}

	checkPolicy(r, add, files, b, key, opts)
	checkPackageTimestamp(r, add, files, b, opts)

	// derived-documents
	if opts.Derived != nil && p.Manifest != nil && br.Verified {
		docs, err := opts.Derived(p)
		switch {
		case errors.Is(err, ErrNotReproducible):
			r.Notes = append(r.Notes, "the certificate and VERIFY.md were not compared: "+err.Error())
		case err != nil:
			add(CheckPackageDerived, "", err, "")
		default:
			var names []string
			ok := true
			for _, n := range sortedKeys(docs) {
				names = append(names, n)
				if got, present := files[n]; !present || !bytes.Equal(got, docs[n]) {
					ok = false
					add(CheckPackageDerived, n, fmt.Errorf("%s is not the document the verified contents give (%s)", n, firstLineDiff(got, docs[n])), "")
				}
			}
			if ok {
				for _, n := range names {
					add(CheckPackageDerived, n, nil, n+" is exactly the document the verified contents give")
				}
			}
		}
	}
	blameManifest(r, add)
	return finish()
}

// blameManifest names MANIFEST.json for a file whose listed hash it does
// not have, when the file itself passed every check of its contents: the
// manifest, not the file, was changed.
func blameManifest(r *PackageReport, add func(name, file string, err error, okDetail string) bool) {
	verified, failed := map[string]bool{}, map[string]bool{}
	var mismatched []string
	for _, c := range r.Checks {
		switch {
		case c.Name == CheckPackageFile && !c.OK:
			var fm *FileMismatchError
			if errors.As(c.Err, &fm) {
				mismatched = append(mismatched, c.File)
			}
		case c.Name == CheckPackageFile:
		case c.OK:
			verified[c.File] = true
		default:
			failed[c.File] = true
		}
	}
	for _, f := range mismatched {
		if verified[f] && !failed[f] {
			add(CheckPackageManifest, PackageManifest, fmt.Errorf("the manifest lists %s with another SHA-256, but %s passes every check of its contents: the manifest was changed", f, f), "")
		}
	}
}

func checkPolicy(r *PackageReport, add func(name, file string, err error, okDetail string) bool, files map[string][]byte, b *Bundle, key *PublicKey, opts PackageOptions) {
	text, ok := files[PackagePolicy]
	if !ok && opts.Policy == nil {
		return
	}
	trusted := opts.Policy != nil
	if trusted {
		if ok && !bytes.Equal(text, opts.Policy) {
			add(CheckPackagePolicy, PackagePolicy, fmt.Errorf("%s is not the trusted policy", PackagePolicy), "")
			return
		}
		text = opts.Policy
	}
	pol, err := ParsePolicy(text)
	if err != nil {
		add(CheckPackagePolicy, PackagePolicy, err, "")
		return
	}
	// The policy names the log by its origin, with a key of its own: after
	// a key rotation the log signs its checkpoints with each of its keys,
	// and the policy may list an earlier one (witnesses check only
	// Ed25519 signatures). The witnessed check below needs that key's
	// signature on the checkpoint.
	if pol.Log(key.Name) == nil {
		add(CheckPackagePolicy, PackagePolicy, fmt.Errorf("the policy names no key of the log %s", key.Name), "")
		return
	}
	// A quorum not met fails only a trusted policy, and not for a bundle
	// marked fail-open when the verifier accepts that (as the bundle's
	// witness-cosignatures check): either is reported as "NOT met".
	w, err := OpenWitnessed([]byte(b.Checkpoint), pol)
	failOpen := b.Witnessing == WitnessingFailOpen && opts.AcceptFailOpen
	if qe := (*QuorumError)(nil); errors.As(err, &qe) && (!trusted || failOpen) {
		err = nil
	}
	if err != nil {
		// The cosignatures are in the bundle's checkpoint.
		add(CheckPackagePolicy, PackageBundle, err, "")
		return
	}
	var who []string
	for _, c := range w.Cosignatures {
		who = append(who, fmt.Sprintf("%s witnessed no later than %s", c.Witness, c.Time.UTC().Format(time.RFC3339)))
	}
	detail := "no cosignature by a witness of the policy"
	if len(who) > 0 {
		detail = fmt.Sprintf("%d cosignature(s): %s", len(who), strings.Join(who, ", "))
	}
	detail += fmt.Sprintf("; quorum %q ", pol.Quorum)
	switch {
	case w.QuorumMet:
		detail += "met"
	case failOpen:
		detail += "NOT met (marked fail-open, which the verifier accepts for this log: accepted without the quorum)"
	default:
		detail += "NOT met"
	}
	if !trusted {
		detail += "; by the package's own policy"
		r.Notes = append(r.Notes, "the witnesses were checked against the package's policy.txt; pass your own copy of the log's policy to rely on them")
	}
	add(CheckPackagePolicy, PackagePolicy, nil, detail)
}

func checkPackageTimestamp(r *PackageReport, add func(name, file string, err error, okDetail string) bool, files map[string][]byte, b *Bundle, opts PackageOptions) {
	tok, ok := files[PackageTimestamp]
	if !ok {
		for _, f := range []string{PackageTSAChain, PackageCheckpointBody} {
			if _, ok := files[f]; ok {
				add(CheckPackageTimestamp, f, fmt.Errorf("%s without %s", f, PackageTimestamp), "")
				return
			}
		}
		switch {
		case b.Timestamp != nil:
			add(CheckPackageTimestamp, PackageTimestamp, fmt.Errorf("%w: %s carries a time-stamp token, but the package has no %s", ErrPackage, PackageBundle, PackageTimestamp), "")
		case b.TimestampStatus == TimestampPending && opts.TSARoots != nil:
			add(CheckPackageTimestamp, PackageBundle, fmt.Errorf("%w (the package was exported before the token arrived: export it again)", ErrTimestampPending), "")
		case b.TimestampStatus == TimestampPending:
			r.Notes = append(r.Notes, "the package holds no RFC 3161 time-stamp token: it was exported while the checkpoint's token was still pending")
		case opts.TSARoots != nil:
			add(CheckPackageTimestamp, PackageTimestamp, fmt.Errorf("%w: the package holds no %s", ErrNoTimestamp, PackageTimestamp), "")
		}
		return
	}
	if !bytes.Equal(tok, b.Timestamp) {
		add(CheckPackageTimestamp, PackageTimestamp, fmt.Errorf("%s is not the token %s carries", PackageTimestamp, PackageBundle), "")
		return
	}
	body, err := CheckpointBody([]byte(b.Checkpoint))
	if err != nil {
		add(CheckPackageTimestamp, PackageBundle, err, "")
		return
	}
	if !bytes.Equal(files[PackageCheckpointBody], body) {
		add(CheckPackageTimestamp, PackageCheckpointBody, fmt.Errorf("%s is not the body of the bundle's checkpoint", PackageCheckpointBody), "")
		return
	}
	var untrusted []*x509.Certificate
	if c, ok := files[PackageTSAChain]; ok {
		if untrusted, err = ParseCertificatesPEM(c); err != nil {
			add(CheckPackageTimestamp, PackageTSAChain, err, "")
			return
		}
	}
	if opts.TSARoots == nil {
		r.Notes = append(r.Notes, "the RFC 3161 time-stamp token was not checked: no trusted TSA roots were given")
		return
	}
	ts, err := CheckTimestamp(tok, body, TimestampOptions{Roots: opts.TSARoots, Untrusted: append(untrusted, opts.TSAUntrusted...)})
	if err != nil {
		add(CheckPackageTimestamp, PackageTimestamp, err, "")
		return
	}
	add(CheckPackageTimestamp, PackageTimestamp, nil, TimestampDetail(ts))
}

// readPackage reads every file of a zip and checks that the zip is the
// canonical one of its files. It returns the files read (nil if the zip
// cannot be opened) and, on error, the file the problem is in ("" when it
// is in no one file: a zip re-zipped as a whole, say). A zip that is not
// canonical is still read whole, directory entries skipped and compressed
// entries inflated (at most max bytes in all), so that the files are
// compared one by one.
func readPackage(data []byte, max int64) (map[string][]byte, string, error) {
	if max <= 0 {
		max = MaxPackageSize
	}
	if err := checkZipDirectory(data); err != nil {
		return nil, "", err
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, "", fmt.Errorf("%w: not a readable zip: %v", ErrPackage, err)
	}
	files := map[string][]byte{}
	var dirs, badCRC []string
	var total int64
	for _, f := range zr.File {
		if dir, ok := strings.CutSuffix(f.Name, "/"); ok && f.UncompressedSize64 == 0 {
			// A directory entry, as zip(1) writes unless -D.
			if err := checkPackageName(dir); err != nil {
				return nil, f.Name, fmt.Errorf("%w: %v", ErrPackage, err)
			}
			dirs = append(dirs, f.Name)
			continue
		}
		if err := checkPackageName(f.Name); err != nil {
			return nil, f.Name, fmt.Errorf("%w: %v", ErrPackage, err)
		}
		if _, dup := files[f.Name]; dup {
			return nil, f.Name, fmt.Errorf("%w: %s appears twice", ErrPackage, f.Name)
		}
		if f.Mode().IsDir() {
			return nil, f.Name, fmt.Errorf("%w: %s is a directory entry", ErrPackage, f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, f.Name, fmt.Errorf("%w: %s: %v", ErrPackage, f.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, max-total+1))
		rc.Close()
		if errors.Is(err, zip.ErrChecksum) {
			// Changed inside the zip: keep what was read, so that the
			// file is compared with the manifest below.
			badCRC, err = append(badCRC, f.Name), nil
		}
		if err != nil {
			return nil, f.Name, fmt.Errorf("%w: %s: %v", ErrPackage, f.Name, err)
		}
		total += int64(len(b))
		if total > max {
			return nil, f.Name, fmt.Errorf("%w: the files exceed %d bytes", ErrPackage, max)
		}
		files[f.Name] = b
	}
	if len(badCRC) > 0 {
		return files, badCRC[0], fmt.Errorf("%w: the CRC-32 of %s does not match the zip's record of it: changed inside the zip; the files are compared one by one below", ErrPackage, strings.Join(badCRC, ", "))
	}
	canon, offsets, err := writePackage(files)
	if err != nil {
		return files, "", err
	}
	if bytes.Equal(canon, data) {
		return files, "", nil
	}
	if how := rezipped(zr, canon, dirs); len(how) > 0 {
		return files, "", fmt.Errorf("%w: not the canonical zip of its files: it was re-zipped (%s); the files are compared one by one below", ErrPackage, strings.Join(how, "; "))
	}
	at := int64(0)
	for at < int64(len(data)) && at < int64(len(canon)) && data[at] == canon[at] {
		at++
	}
	where, file := "the central directory", ""
	if at < offsets[""] {
		for _, n := range sortedKeys(files) {
			if n != "" && offsets[n] <= at && (file == "" || offsets[n] >= offsets[file]) {
				file = n
			}
		}
		where = "the entry of " + file
	}
	return files, file, fmt.Errorf("%w: not the canonical zip of its files: byte %d differs (in %s); the files are compared one by one below", ErrPackage, at, where)
}

// rezipped says how a zip's entries differ from those of the canonical
// zip of its files (canon, as WritePackage writes it), beyond their
// contents: the marks of a package unpacked and zipped again, by zip(1) or
// another tool. None means the entries are laid out as in the canonical
// zip, so that a differing byte is in the entry that holds it.
func rezipped(zr *zip.Reader, canon []byte, dirs []string) []string {
	var how []string
	if len(dirs) > 0 {
		how = append(how, "directory entries "+strings.Join(dirs, ", "))
	}
	cr, err := zip.NewReader(bytes.NewReader(canon), int64(len(canon)))
	if err != nil {
		return how
	}
	want := map[string]*zip.File{}
	for _, f := range cr.File {
		want[f.Name] = f
	}
	var compressed, timed, extra, attrs, order, flags int
	prev := ""
	for _, f := range zr.File {
		c := want[f.Name]
		if c == nil {
			continue // a directory entry
		}
		if f.Method != c.Method {
			compressed++
		}
		if !f.Modified.Equal(c.Modified) || f.ModifiedTime != c.ModifiedTime || f.ModifiedDate != c.ModifiedDate {
			timed++
		}
		if !bytes.Equal(f.Extra, c.Extra) || f.Comment != c.Comment {
			extra++
		}
		if f.ExternalAttrs != c.ExternalAttrs || f.CreatorVersion != c.CreatorVersion || f.ReaderVersion != c.ReaderVersion {
			attrs++
		}
		if f.Flags != c.Flags {
			flags++
		}
		if f.Name < prev {
			order++
		}
		prev = f.Name
	}
	for _, d := range []struct {
		n    int
		what string
	}{
		{compressed, "compressed"},
		{timed, "with modification times other than " + PackageTime.Format(time.DateTime)},
		{extra, "with other extra fields or comments"},
		{attrs, "with other file attributes or versions"},
		{flags, "with other flags"},
		{order, "out of name order"},
	} {
		switch {
		case d.n == 1:
			how = append(how, "1 entry "+d.what)
		case d.n > 1:
			how = append(how, fmt.Sprintf("%d entries %s", d.n, d.what))
		}
	}
	if zr.Comment != "" {
		how = append(how, "a zip comment")
	}
	return how
}
