// Package ledger is exhibit's append-only log: it signs statements, appends
// them to a Tessera tile-based Merkle log, and publishes signed checkpoints.
//
// Every log entry is a DSSE envelope (https://github.com/secure-systems-lab/dsse)
// around an in-toto Statement v1, signed by the archive key; the entry bytes
// are hashed into the tree as RFC 6962 leaves
// (https://www.rfc-editor.org/rfc/rfc6962#section-2.1). The log is stored in
// the C2SP tlog-tiles layout (https://c2sp.org/tlog-tiles) by Tessera's
// POSIX driver in a directory ([OpenWriter]), or by its storage/aws driver
// in an S3 bucket, with sequencing coordinated through MySQL or MariaDB so
// that several processes may append at once ([OpenAWSWriter]); its checkpoints follow C2SP tlog-checkpoint
// (https://c2sp.org/tlog-checkpoint) and are signed as C2SP signed notes
// (https://c2sp.org/signed-note) by a note.Signer backed by a
// sigstore/sigstore signer: Ed25519 (signature type 0x01) or ECDSA P-256
// (type 0x02).
//
// Checkpoints can be submitted to witnesses over C2SP tlog-witness
// (https://c2sp.org/tlog-witness) by [Witnesses], which gathers their C2SP
// tlog-cosignature (https://c2sp.org/tlog-cosignature) cosignatures under a
// C2SP tlog-policy (https://c2sp.org/tlog-policy), and time-stamped by an
// RFC 3161 time-stamping authority (https://www.rfc-editor.org/rfc/rfc3161)
// with [TSAClient]. Both check what they receive before returning it.
//
// Keys, signatures and proofs are checked by package verify, which this
// package also uses to check what it hands out.
package ledger
