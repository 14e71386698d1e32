// Package verify checks exhibit evidence offline, without trusting the
// archive that produced it.
//
// An evidence bundle binds one log entry (a DSSE envelope around an in-toto
// Statement v1 about a captured document) to a signed checkpoint of the
// archive's append-only Merkle log by an inclusion proof. Given the log's
// verifier key (after a key rotation, several keys of the log: see
// [Keyring] and Options.Keys; any one of them may sign the checkpoint, and
// any one the statement), [Check] runs, in order and each by name:
//
//   - bundle-parse: the bundle is well formed (see [ParseBundle], [ParseProof]);
//   - checkpoint-signature: the checkpoint is a C2SP signed note carrying a
//     valid signature by the trusted log key, and its body is a C2SP
//     tlog-checkpoint for that key's origin;
//   - statement-signature: the entry is a DSSE envelope with a valid signature
//     by the same key over its pre-authentication encoding, and its payload
//     is an in-toto Statement v1 with exhibit's capture predicate;
//   - record-id: the record ID recomputed from the entry equals the one in
//     the bundle and, if given, the one the verifier was cited;
//   - leaf-hash: the entry is within the tlog-tiles size limit (65,535
//     bytes) and its RFC 6962 leaf hash is computed;
//   - inclusion-proof: the RFC 6962 inclusion proof leads from that leaf hash
//     at the given index to the checkpoint's root hash;
//   - snapshot-digest (optional): a snapshot file's SHA-256 equals the
//     digest of the statement's subject;
//   - provision-quote (optional): a provision's quote stands in the given
//     version text;
//   - witness-cosignatures (with Options.Policy): the checkpoint's witness
//     cosignatures, as [OpenWitnessed] checks them, meet the policy's
//     quorum (a bundle marked fail-open passes without it, reported);
//   - timestamp (with Options.Timestamps): the bundle's RFC 3161 token,
//     as [CheckTimestamp] checks it, covers the checkpoint's body;
//   - artefact-digest and wacz (optional): a browser capture's rendering
//     files against the digests the statement names, and its WACZ
//     package, as [CheckWACZ] checks it.
//
// [CheckPackage] checks a whole evidence package (the zip `exhibit export`
// writes): every byte of the zip, every file against its manifest, the
// bundle with the snapshot it holds, and the objects its statement names,
// naming the file of each failure.
//
// The witness-cosignatures and timestamp checks rest on two kinds of
// evidence that bound a checkpoint in time and against split views, which
// the package also checks alone:
//
//   - witness cosignatures: [ParsePolicy] reads a C2SP tlog-policy trust
//     policy and [OpenWitnessed] checks a checkpoint's log signature, the
//     C2SP tlog-cosignature v1 cosignatures of the policy's witnesses
//     (timestamped Ed25519, vkey type 0x04, see [CosignerKey]), which
//     witnessed it and when, and whether the quorum is met, ignoring
//     signatures by unknown keys;
//   - trusted time: [CheckTimestamp] verifies an RFC 3161 time-stamp token
//     (CMS SignedData, RFC 5652) over a checkpoint body against trusted TSA
//     roots, with encoding/asn1 and crypto/x509 alone.
//
// The package imports only the Go standard library,
// golang.org/x/mod/sumdb/note and github.com/transparency-dev/merkle, so that
// auditors can vendor and read it whole. It does no I/O of its own beyond
// hashing a snapshot reader the caller provides, and never logs.
//
// Specifications followed:
//   - in-toto Statement v1: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
//   - DSSE v1: https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
//   - C2SP signed-note: https://c2sp.org/signed-note
//   - C2SP tlog-checkpoint: https://c2sp.org/tlog-checkpoint
//   - C2SP tlog-tiles (entry size limit): https://c2sp.org/tlog-tiles
//   - C2SP tlog-proof: https://c2sp.org/tlog-proof
//   - C2SP tlog-cosignature: https://c2sp.org/tlog-cosignature
//   - C2SP tlog-policy: https://c2sp.org/tlog-policy
//   - RFC 3161 Time-Stamp Protocol: https://www.rfc-editor.org/rfc/rfc3161
//   - RFC 5652 Cryptographic Message Syntax: https://www.rfc-editor.org/rfc/rfc5652
//   - RFC 5035 ESS signing-certificate-v2: https://www.rfc-editor.org/rfc/rfc5035
//   - RFC 6962 Merkle tree hashing and proofs: https://www.rfc-editor.org/rfc/rfc6962#section-2.1
//   - WACZ 1.1.1: https://specs.webrecorder.net/wacz/1.1.1/
//   - WACZ Signing and Verification 0.1.0: https://specs.webrecorder.net/wacz-auth/0.1.0/
//
// The statement, record ID and bundle formats are specified in
// docs/FORMATS.md in exhibit's repository, with a worked example and JSON
// Schemas.
package verify
