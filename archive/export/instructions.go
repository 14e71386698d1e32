package export

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"

	"github.com/exhibit-archive/exhibit/verify"
)

// fileRoles says what each file of a package is, for VERIFY.md.
var fileRoles = map[string]string{
	verify.PackageManifest:        "every other file but SHA256SUMS, with its size and SHA-256; the record ID, log origin and key",
	verify.PackageSums:            "the same hashes, for `sha256sum -c`",
	verify.PackageBundle:          "the evidence bundle: the log entry (the signed statement), its index, the inclusion proof and the signed checkpoint",
	verify.PackageProof:           "the same bundle in C2SP tlog-proof form",
	verify.PackageLogKey:          "the log's verifier key (C2SP vkey), for convenience: NOT to be trusted; obtain the key independently",
	verify.PackageProvenance:      "the signed statement (the entry's payload), indented: what exhibit observed and claims it was given",
	verify.PackageTLSChain:        "the server's TLS certificate chain, leaf first, as the statement names it by SHA-256",
	verify.PackageHeaders:         "the response headers, as the statement names them by SHA-256",
	verify.PackagePolicy:          "the log's witness trust policy (C2SP tlog-policy)",
	verify.PackageTimestamp:       "an RFC 3161 time-stamp token over the checkpoint body",
	verify.PackageCheckpointBody:  "the checkpoint body the token stamps",
	verify.PackageTSAChain:        "the time-stamping authority's certificates",
	verify.PackageCertificateHTML: "the citation certificate, with the certification to complete",
	verify.PackageCertificatePDF:  "the same certificate as PDF",
	verify.PackageInstructions:    "this file",
}

// Instructions renders VERIFY.md: what the package holds, and how to check
// it with exhibit and with standard tools. Every shell block runs in the
// unzipped package's directory, and fails if its check fails.
func (c *certificate) Instructions() []byte {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	p("# Verifying the evidence package of exhibit record %s\n\n", c.RecordID)
	p("This package holds the evidence of one record of an exhibit archive, a %s record", c.Kind)
	if c.Title != "" {
		p(" (%s)", c.Title)
	}
	p(", entry %d of the log `%s`. Anyone can check it offline. Nothing in it needs to be trusted except the log's key, which you must obtain from the archive's operator yourself (the copy in `log-key.vkey` proves nothing), and, for the witness and time-stamp steps, the log's witness policy and the time-stamping authority's root certificate, which you must obtain yourself too.\n\n", c.bundle.Index, c.checkpoint.Origin)
	p("Its layout is specified in exhibit's docs/FORMATS.md, section 6.3.\n\n## What is in it\n\n| file | what it is |\n|---|---|\n")
	names := []string{verify.PackageManifest, verify.PackageSums, verify.PackageInstructions}
	for n := range c.files {
		names = append(names, n)
	}
	names = append(names, verify.PackageCertificateHTML, verify.PackageCertificatePDF)
	slices.Sort(names)
	names = slices.Compact(names)
	for _, n := range names {
		role := fileRoles[n]
		switch {
		case n == c.snapshot:
			role = "the snapshot: the document's bytes as exhibit stored them"
		case n == c.text:
			role = "the version's text, as the statement names it by SHA-256"
		}
		p("| `%s` | %s |\n", n, role)
	}
	p("\n## 1. The log key\n\nObtain the log's verifier key from the archive's operator, through a channel you trust (it is published with `exhibit log-key`). The key this package was made with is\n\n    %s\n\nIf the key you obtained differs, stop: the package was not made by that log.\n\n", c.key.VKey)
	var trust, trustNote string
	if _, ok := c.files[verify.PackagePolicy]; ok {
		trust += " --policy YOUR-POLICY.txt"
	}
	if _, ok := c.files[verify.PackageTimestamp]; ok {
		trust += " --tsa-roots TSA-ROOT.pem"
	}
	if trust != "" {
		trustNote = "With `--policy`, the log's witness policy you obtained independently is the trusted one (`policy.txt` must be the same file) and the check `witnesses` names each witness that cosigned and when; with `--tsa-roots`, the time-stamping authority's root you obtained, the check `timestamp` says when the checkpoint existed no later than. "
	}
	p("## 2. With exhibit\n\n```\nexhibit verify PACKAGE.zip --key '%s' --record-id %s%s\n```\n\n%s", c.key.VKey, c.RecordID, trust, trustNote)
	p("`exhibit verify` checks that the zip is exactly the canonical zip of its files (so that a changed byte anywhere is caught), every file against `MANIFEST.json` and `SHA256SUMS`, that `log-key.vkey` is the key you gave, the bundle (checkpoint signature, statement signature, record ID, leaf hash, inclusion proof, and the snapshot's SHA-256), that `bundle.tlog-proof` and `provenance.json` are the same evidence, the stored objects the statement names, the witnesses and time-stamp when present, and that the certificate and this file are exactly those the evidence gives. It names each check, and the file of any that fails. It exits 0 when every check passed, 1 when one failed.\n\n")
	p("## 3. With standard tools\n\nThe same checks, step by step, with `unzip`, `sha256sum`, `openssl` (3.0 or later), `jq` and `python3`. Run each block in the directory the package was unzipped to (`unzip PACKAGE.zip -d package && cd package`); each stops with an error if its check fails.\n\n")
	p("### 3.1 The files are those listed\n\n```sh\nsha256sum -c SHA256SUMS\n```\n\n`SHA256SUMS` is not signed: this step catches damage, not forgery. What binds the files to the signed record are the steps below.\n\n")
	p("### 3.2 The key\n\nSet `KEY` to the key you obtained (step 1); below it is the value in this package.\n\n```sh\nKEY='%s'\nORIGIN=\"${KEY%%%%+*}\"\ntest \"$KEY\" = \"$(cat log-key.vkey)\" && echo \"log-key.vkey is the key you trust\"\n", c.key.VKey)
	_, ed := c.key.Key.(ed25519.PublicKey)
	if ed {
		p("# The Ed25519 public key as PEM: the vkey's base64 is 0x01 followed by the 32-byte key.\necho \"${KEY#*+*+}\" | base64 -d | tail -c 32 > key.raw\n{ printf '\\060\\052\\060\\005\\006\\003\\053\\145\\160\\003\\041\\000'; cat key.raw; } > key.der\n")
	} else {
		p("# The ECDSA P-256 public key as PEM: the vkey's base64 is 0x02 followed by the PKIX DER key.\necho \"${KEY#*+*+}\" | base64 -d | tail -c +2 > key.der\n")
	}
	p("openssl pkey -pubin -inform DER -in key.der -out log-key.pem\n```\n\n")
	verifyCmd := func(msg, sig string) string {
		if ed {
			return fmt.Sprintf("openssl pkeyutl -verify -pubin -inkey log-key.pem -rawin -in %s -sigfile %s", msg, sig)
		}
		return fmt.Sprintf("openssl dgst -sha256 -verify log-key.pem -signature %s %s", sig, msg)
	}
	p("### 3.3 The checkpoint is signed by the log key\n\nThe checkpoint (C2SP tlog-checkpoint) is a signed note: a body of three lines (origin, tree size, base64 root hash), a blank line, and signature lines `— <name> <base64 of a 4-byte key ID and the signature>`. The signature is over the body.\n\n```sh\njq -j .checkpoint bundle.json > checkpoint.txt\nsed '/^$/q' checkpoint.txt | sed '$d' > body.txt\ntest \"$(head -n 1 body.txt)\" = \"$ORIGIN\"\ngrep \"^— $ORIGIN \" checkpoint.txt | head -n 1 | cut -d' ' -f3 | base64 -d | tail -c +5 > checkpoint.sig\n%s\ncat body.txt\n```\n\n", verifyCmd("body.txt", "checkpoint.sig"))
	p("### 3.4 The statement is signed by the log key\n\nThe log entry is a DSSE envelope; its signature is over the pre-authentication encoding `DSSEv1 <len> <payloadType> <len> <payload>`.\n\n```sh\njq -r .entry bundle.json | base64 -d > entry.json\njq -r .payload entry.json | base64 -d > payload.json\ntest \"$(jq -r .payloadType entry.json)\" = application/vnd.in-toto+json\njq -r '.signatures[0].sig' entry.json | base64 -d > statement.sig\n{ printf 'DSSEv1 28 application/vnd.in-toto+json %%d ' \"$(wc -c < payload.json)\"; cat payload.json; } > pae.bin\n%s\n# provenance.json is that statement, indented.\ntest \"$(jq -S . provenance.json)\" = \"$(jq -S . payload.json)\" && echo \"provenance.json is the signed statement\"\n```\n\n", verifyCmd("pae.bin", "statement.sig"))
	p("### 3.5 The entry is in the log\n\nThe RFC 6962 leaf hash of the entry, with the inclusion proof, must lead to the checkpoint's root hash (RFC 9162 section 2.1.3.2).\n\n```sh\npython3 - <<'EOF'\nimport base64, hashlib, json\nb = json.load(open(\"bundle.json\"))\nbody = open(\"body.txt\").read().split(\"\\n\")\nsize, root = int(body[1]), base64.b64decode(body[2])\nh = lambda *p: hashlib.sha256(b\"\".join(p)).digest()\nnode = h(b\"\\0\", base64.b64decode(b[\"entry\"]))\nfn, sn = b[\"index\"], size - 1\nassert fn <= sn, \"the index is outside the tree\"\nfor p in map(base64.b64decode, b[\"inclusion_proof\"]):\n    assert sn > 0, \"the proof is too long\"\n    if fn %% 2 == 1 or fn == sn:\n        node = h(b\"\\1\", p, node)\n        while fn %% 2 == 0 and fn != 0:\n            fn >>= 1\n            sn >>= 1\n    else:\n        node = h(b\"\\1\", node, p)\n    fn >>= 1\n    sn >>= 1\nassert sn == 0 and node == root, \"the inclusion proof does not lead to the root\"\nprint(\"entry\", b[\"index\"], \"is in the tree of size\", size, \"with root\", root.hex())\nEOF\n```\n\n")
	p("The record ID (%s) is derived from the same leaf hash (docs/FORMATS.md section 4); `exhibit verify` recomputes it.\n\n", c.RecordID)
	p("### 3.6 The files are the ones the statement names\n\n```sh\n")
	if st := c.entry.Capture; st != nil {
		if c.snapshot != "" {
			p("test \"$(jq -r '.subject[0].digest.sha256' payload.json)\" = \"$(sha256sum %s | cut -d' ' -f1)\" && echo \"%s is the signed snapshot\"\n", c.snapshot, c.snapshot)
		} else {
			p("# A failed capture has no snapshot: its subject digest is the SHA-256 of its URL.\ntest \"$(jq -r '.subject[0].digest.sha256' payload.json)\" = \"$(jq -j '.subject[0].name' payload.json | sha256sum | cut -d' ' -f1)\" && echo \"the record attests a failed capture\"\n")
		}
		if _, ok := c.files[verify.PackageTLSChain]; ok {
			p("test \"$(jq -r .predicate.observed.tls.certificate_chain_sha256 payload.json)\" = \"$(sha256sum tls-chain.pem | cut -d' ' -f1)\" && echo \"tls-chain.pem is the signed chain\"\nopenssl crl2pkcs7 -nocrl -certfile tls-chain.pem | openssl pkcs7 -print_certs -noout\n")
		}
		if _, ok := c.files[verify.PackageHeaders]; ok {
			p("test \"$(jq -r .predicate.observed.headers_sha256 payload.json)\" = \"$(sha256sum headers.json | cut -d' ' -f1)\" && echo \"headers.json holds the signed headers\"\n")
		}
		for _, a := range st.Predicate.Rendering.Artefacts() {
			f := verify.RenderingFile(a.Name)
			p("test \"$(jq -r .predicate.rendering.%s.sha256 payload.json)\" = \"$(sha256sum %s | cut -d' ' -f1)\" && echo \"%s is the signed %s\"\n", a.Name, f, f, a.Name)
		}
	} else {
		p("jq '{kind: .predicateType, subject: .subject[0]}' payload.json\n")
		if c.text != "" {
			p("test \"$(jq -r .predicate.text.sha256 payload.json)\" = \"$(sha256sum %s | cut -d' ' -f1)\" && echo \"%s is the signed text\"\n", c.text, c.text)
		}
	}
	p("```\n\n")
	c.timeInstructions(p)
	return []byte(w.String())
}

// timeInstructions writes VERIFY.md's steps for the witnesses' cosignatures
// and the RFC 3161 token: what they state, and how to check them with
// python3 and openssl.
func (c *certificate) timeInstructions(p func(format string, args ...any)) {
	p("### 3.7 Witnesses\n\n")
	pol, w, err := c.witnessed()
	switch {
	case pol == nil && err == nil:
		p("This package holds no witness policy (`policy.txt`); the checkpoint's signatures by keys other than the log's, if any, are not checked.\n\n")
	case err != nil:
		p("`policy.txt` does not apply to this checkpoint: %s\n\n", err)
	default:
		p("`policy.txt` (C2SP tlog-policy) names the log's witnesses and the quorum that must cosign. Witnesses check that each checkpoint is consistent with every earlier one they saw, and add a cosignature line to it (C2SP tlog-cosignature) stating the time they saw it. The package's `policy.txt` is the archive's claim: obtain the log's policy independently and check it is the same file (`cmp policy.txt YOUR-POLICY.txt`), or pass yours to `exhibit verify --policy`.\n\n")
		if len(w.Cosignatures) == 0 {
			p("The checkpoint carries no cosignature by a witness of the policy: %s.\n\n", noCosignatures(pol, w))
		} else {
			p("The checkpoint was witnessed by:\n\n")
			for _, cs := range w.Cosignatures {
				p("* %s (key `%s`), no later than %s\n", cs.Witness, cs.KeyName, seconds(cs.Time))
			}
			p("\nQuorum: %s.\n\n", quorum(pol, w))
			p("Each cosignature is an Ed25519 signature over `cosignature/v1\\ntime <seconds>\\n` followed by the checkpoint body; its signature line holds a 4-byte key ID, the time (8 bytes, big-endian seconds since 1970) and the signature.\n\n```sh\npython3 - <<'EOF'\nimport base64, datetime\nwitnesses = [\n")
			for _, cs := range w.Cosignatures {
				for _, pw := range pol.Witnesses {
					if pw.Name == cs.Witness {
						p("    (%q, %q),\n", pw.Name, pw.Key.VKey)
					}
				}
			}
			p("]\ntext = open(\"checkpoint.txt\").read()\nbody = open(\"body.txt\").read()\nfor i, (name, vkey) in enumerate(witnesses):\n    kname, keyid, key = vkey.split(\"+\", 2)\n    key = base64.b64decode(key)\n    assert key[0] == 4 and len(key) == 33, \"not a cosignature/v1 key\"\n    open(f\"witness{i}.der\", \"wb\").write(bytes.fromhex(\"302a300506032b6570032100\") + key[1:])\n    sigs = [base64.b64decode(l.split(\" \")[2]) for l in text.split(\"\\n\") if l.startswith(\"\\u2014 \" + kname + \" \")]\n    sig = [s for s in sigs if s[:4].hex() == keyid][0]\n    t = int.from_bytes(sig[4:12], \"big\")\n    open(f\"witness{i}.msg\", \"w\").write(f\"cosignature/v1\\ntime {t}\\n\" + body)\n    open(f\"witness{i}.sig\", \"wb\").write(sig[12:])\n    print(name, \"cosigned at\", datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat())\nEOF\n")
			for i := range w.Cosignatures {
				p("openssl pkey -pubin -inform DER -in witness%d.der -out witness%d.pem\nopenssl pkeyutl -verify -pubin -inkey witness%d.pem -rawin -in witness%d.msg -sigfile witness%d.sig\n", i, i, i, i, i)
			}
			p("```\n\n")
		}
	}
	p("### 3.8 Time-stamp\n\n")
	ts, err := c.timestamp()
	switch {
	case ts != nil:
		p("`tsa/checkpoint.tsr` is an RFC 3161 time-stamp token over the checkpoint body (`tsa/checkpoint-body.txt`, the same bytes as `body.txt`), by the time-stamping authority `%s`. It states that the checkpoint, and so the record, existed no later than %s (serial %x%s).\n\n", ts.TSA, seconds(ts.GenTime), ts.Serial, accuracy(ts))
		p("`tsa/chain.pem` holds the authority's certificates as the archive has them: it is not to be trusted. Obtain the authority's root certificate independently, save it as `TSA-ROOT.pem` (or set `TSA_ROOT` to its file), then:\n\n```sh\nTSA_ROOT=\"${TSA_ROOT:-TSA-ROOT.pem}\"\ncmp tsa/checkpoint-body.txt body.txt\nopenssl ts -verify -data tsa/checkpoint-body.txt -in tsa/checkpoint.tsr -CAfile \"$TSA_ROOT\" -untrusted tsa/chain.pem\nopenssl ts -reply -in tsa/checkpoint.tsr -text | grep '^Time stamp:'\n```\n\n")
	case err != nil:
		p("`tsa/checkpoint.tsr` does not verify against the package's own `tsa/chain.pem`: %s\n\n", err)
	case c.bundle.TimestampStatus == verify.TimestampPending:
		p("This package holds no RFC 3161 time-stamp token: the archive had not yet obtained the token for this checkpoint when the package was exported (`\"timestamp_status\": \"pending\"` in `bundle.json`). Export the package again once it has.\n\n")
	default:
		p("This package holds no RFC 3161 time-stamp token (`tsa/checkpoint.tsr`). When one is present, `openssl ts -verify -data tsa/checkpoint-body.txt -in tsa/checkpoint.tsr -CAfile TSA-ROOT.pem -untrusted tsa/chain.pem` checks it against the time-stamping authority's root.\n\n")
	}
}
