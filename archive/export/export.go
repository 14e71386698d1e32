// Package export writes a record's evidence package: one zip holding
// everything a stranger needs to check the record offline, laid out as
// docs/FORMATS.md section 6.3 specifies (file names in package verify:
// [verify.PackageManifest] and the constants beside it).
//
// The package holds the record's signed evidence (the bundle in JSON and
// C2SP tlog-proof form, the snapshot or version text, the statement, the
// stored TLS certificate chain and headers it names, a browser capture's
// screenshot, PDF, DOM and WARC (rendering/), the log key, and,
// when the archive has them, a C2SP tlog-policy and an RFC 3161 token),
// and documents derived from it alone: a citation certificate (HTML and
// PDF) stating the facts in the terms of US Federal Rules of Evidence
// 902(13) and 902(14), with a certification for a qualified person to
// complete, and VERIFY.md, the instructions. The derived documents are a
// function of the evidence and of the generator version, so that a
// verifier regenerates them ([Derived]) and compares them byte for byte.
//
// The zip is canonical ([verify.WritePackage]): the same record, proved
// against the same checkpoint, exports to the same bytes.
package export

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/verify"
)

// Generator names the software that writes the derived documents, as the
// manifest records it.
func Generator() string { return "exhibit " + archive.Version }

// Options override the evidence [Build] takes from the archive. The zero
// value takes everything from the archive.
type Options struct {
	// Policy is the log's C2SP tlog-policy (witnesses and quorum), written
	// as policy.txt. If nil, the archive's witness policy, when it has one.
	Policy []byte
	// Checkpoint is the signed checkpoint to prove the record against. It
	// must be a checkpoint of the archive's log, larger than the record's
	// index. If nil, the checkpoint the record was first published with,
	// as the archive keeps it (with the witnesses' cosignatures it was
	// published with).
	Checkpoint []byte
	// Timestamp is an RFC 3161 TimeStampResp (DER) over the body of the
	// checkpoint the bundle is proved against, written in the bundle and
	// as tsa/checkpoint.tsr, with that body as tsa/checkpoint-body.txt. If
	// nil, the archive's token for that checkpoint, when it has one; when
	// the archive has a TSA but no token yet the bundle says "pending"
	// and the package holds no tsa/ files.
	Timestamp []byte
	// TSAChain (PEM) is written as tsa/chain.pem beside a token. If nil,
	// the archive's TSA roots file (the TSA's certificate chain).
	TSAChain []byte
}

// ErrTooLarge is returned for a record whose snapshot is over MaxSnapshot.
var ErrTooLarge = errors.New("snapshot too large to export")

// MaxSnapshot is the largest snapshot Build puts in a package: 1 GiB.
const MaxSnapshot = 1 << 30

// Build writes the evidence package of the record id (any form
// verify.ParseRecordID accepts), with the evidence the archive holds for
// it, as [Options] describes. Every stored object is re-hashed as it is
// read, and the result is checked with [verify.CheckPackage] against the
// archive's key, its witness policy and its TSA roots before it is
// returned. The report's Pending is true when the archive has a TSA but
// no token yet for the bundle's checkpoint.
func Build(ctx context.Context, a *archive.Archive, id string, o Options) ([]byte, *Report, error) {
	ent, b, err := prove(ctx, a, id, o.Checkpoint)
	if err != nil {
		return nil, nil, err
	}
	if o.Policy == nil {
		o.Policy = a.WitnessPolicy()
	}
	if o.Timestamp != nil {
		b.Timestamp, b.TimestampStatus = o.Timestamp, ""
	}
	if b.Timestamp != nil && o.TSAChain == nil {
		o.TSAChain = a.TSARoots()
	}
	key, err := packageKey(a.Keys(), b)
	if err != nil {
		return nil, nil, err
	}
	env, err := verify.ParseEnvelope(b.Entry)
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{
		verify.PackageBundle: b.Marshal(),
		verify.PackageProof:  b.MarshalProof(),
		verify.PackageLogKey: []byte(key.VKey + "\n"),
	}
	files[verify.PackageProvenance] = verify.IndentStatement(env.Payload)

	get := func(digest, what string) ([]byte, error) {
		rc, err := a.Store().Get(ctx, digest)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", what, digest, err)
		}
		defer rc.Close()
		data, err := io.ReadAll(io.LimitReader(rc, MaxSnapshot+1))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", what, digest, err)
		}
		if len(data) > MaxSnapshot {
			return nil, fmt.Errorf("%s %s: %w (over %d bytes)", what, digest, ErrTooLarge, MaxSnapshot)
		}
		if got := verify.SHA256Hex(data); got != digest {
			return nil, fmt.Errorf("%s %s: stored bytes hash to %s", what, digest, got)
		}
		return data, nil
	}
	if st := ent.Capture; st != nil {
		if n := verify.SnapshotName(st); n != "" {
			if files[n], err = get(st.Predicate.Snapshot.SHA256, "snapshot"); err != nil {
				return nil, nil, err
			}
		}
		if obs := st.Predicate.Observed; obs != nil {
			if obs.TLS != nil && obs.TLS.CertificateChainSHA256 != "" {
				if files[verify.PackageTLSChain], err = get(obs.TLS.CertificateChainSHA256, "certificate chain"); err != nil {
					return nil, nil, err
				}
			}
			if obs.HeadersDigest != "" {
				if files[verify.PackageHeaders], err = get(obs.HeadersDigest, "headers"); err != nil {
					return nil, nil, err
				}
			}
		}
		for _, a := range st.Predicate.Rendering.Artefacts() {
			if files[verify.RenderingFile(a.Name)], err = get(a.SHA256, a.Name); err != nil {
				return nil, nil, err
			}
		}
	} else if n := verify.TextName(ent); n != "" {
		digest := n[len(verify.PackageTextDir) : len(n)-len(".txt")]
		if files[n], err = get(digest, "version text"); err != nil {
			return nil, nil, err
		}
	}
	if o.Policy != nil {
		files[verify.PackagePolicy] = o.Policy
	}
	if b.Timestamp != nil {
		body, err := verify.CheckpointBody([]byte(b.Checkpoint))
		if err != nil {
			return nil, nil, err
		}
		files[verify.PackageTimestamp] = b.Timestamp
		files[verify.PackageCheckpointBody] = body
		if o.TSAChain != nil {
			files[verify.PackageTSAChain] = o.TSAChain
		}
	}

	rep := verify.Check(files[verify.PackageBundle], key, verify.Options{})
	if !rep.Verified {
		f := rep.Failed()
		return nil, nil, fmt.Errorf("the record's bundle does not verify: %s: %s", f.Name, f.Detail)
	}
	docs, err := documents(&verify.Package{Files: files, Bundle: rep}, key)
	if err != nil {
		return nil, nil, err
	}
	for n, d := range docs {
		files[n] = d
	}
	m := verify.NewManifest(rep.RecordID, rep.Entry.Kind(), key, Generator(), files)
	files[verify.PackageManifest] = m.Marshal()
	files[verify.PackageSums] = m.Sums(files[verify.PackageManifest])
	zipData, err := verify.WritePackage(files)
	if err != nil {
		return nil, nil, err
	}
	popts := verify.PackageOptions{Policy: o.Policy, AcceptFailOpen: a.WitnessFailOpen(), Derived: Derived}
	if roots := a.TSARoots(); roots != nil && b.Timestamp != nil {
		t, err := verify.ParseTSARoots(roots)
		if err != nil {
			return nil, nil, err
		}
		popts.TSARoots, popts.TSAUntrusted = t.Roots, t.Untrusted
	}
	check := verify.CheckPackage(zipData, key, popts)
	if !check.Verified {
		f := check.Failed()
		return nil, &Report{PackageReport: check}, fmt.Errorf("the package written does not verify: %s: %s: %s", f.Name, f.File, f.Detail)
	}
	return zipData, &Report{PackageReport: check, Pending: b.TimestampStatus == verify.TimestampPending}, nil
}

// Report is what [Build] reports of the package it wrote: its check by
// [verify.CheckPackage] with the archive's policy and TSA roots.
type Report struct {
	*verify.PackageReport
	// Pending is true when the archive has a TSA but no token yet for the
	// bundle's checkpoint: the bundle says "pending" and the package
	// holds no time-stamp. Export it again once the token has arrived.
	Pending bool
}

// prove returns the record's statement and bundle: against signed, one of
// the log's checkpoints, if set, else against the checkpoint the record
// was first published with, with the token the archive holds for it.
func prove(ctx context.Context, a *archive.Archive, id string, signed []byte) (*verify.Entry, *verify.Bundle, error) {
	r, b, err := a.Prove(ctx, id, archive.ProveOptions{})
	if err != nil {
		return nil, nil, err
	}
	if signed != nil {
		cp, _, err := a.Keys().OpenCheckpoint(signed)
		if err != nil {
			return nil, nil, err
		}
		r.Published, r.Checkpoint = cp.Size, signed
		if b, err = a.Bundle(ctx, r, archive.ProveOptions{}); err != nil {
			return nil, nil, err
		}
	}
	return r.Statement, b, nil
}

// Derived regenerates a package's derived documents (certificate.html,
// certificate.pdf, VERIFY.md) from its evidence, for
// verify.PackageOptions.Derived. p.Bundle must have verified. It returns
// verify.ErrNotReproducible for a package another version of exhibit
// wrote.
func Derived(p *verify.Package) (map[string][]byte, error) {
	if p.Manifest == nil || p.Bundle == nil || !p.Bundle.Verified {
		return nil, errors.New("the package's manifest or bundle did not verify")
	}
	if g := p.Manifest.Generator; g != Generator() {
		return nil, fmt.Errorf("%w: the package was written by %s, this is %s", verify.ErrNotReproducible, g, Generator())
	}
	key, err := verify.ParseVKey(p.Manifest.LogKey)
	if err != nil {
		return nil, err
	}
	return documents(p, key)
}

// documents renders the derived documents from the evidence files and the
// verified bundle report.
func documents(p *verify.Package, key *verify.PublicKey) (map[string][]byte, error) {
	c, err := newCertificate(p, key)
	if err != nil {
		return nil, err
	}
	html, err := c.HTML()
	if err != nil {
		return nil, err
	}
	pdf, err := c.PDF()
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		verify.PackageCertificateHTML: html,
		verify.PackageCertificatePDF:  pdf,
		verify.PackageInstructions:    c.Instructions(),
	}, nil
}

// packageKey picks the key a package names (log-key.vkey): the first key of
// the log, current first, that signs both the bundle's checkpoint and its
// statement. After a key rotation that is the old key for a record made
// before it, while the old key still cosigns checkpoints.
func packageKey(keys verify.Keyring, b *verify.Bundle) (*verify.PublicKey, error) {
	raw := b.Marshal()
	for _, k := range keys {
		if verify.Check(raw, k, verify.Options{}).Verified {
			return k, nil
		}
	}
	return nil, ErrNoCommonKey
}

// ErrNoCommonKey is returned by Build when no key of the log signs both the
// record's statement and the checkpoint it is proved against: an
// Options.Checkpoint made after a key rotation whose overlap has ended,
// for a record made before it. By default Build proves a record against
// the checkpoint it was published with, which its key signed.
var ErrNoCommonKey = errors.New("no single key of the log signs both the record's statement and the checkpoint (the record predates a key rotation whose overlap has ended): prove it against a checkpoint of its time, such as the one it was first published with (the default)")
