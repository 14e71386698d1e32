// verify.js checks an exhibit record in the reader's own browser, with
// WebCrypto, against the log key the page states (docs/FORMATS.md 4, 5, 7):
// it fetches the evidence bundle, checks the checkpoint's signed-note
// signature, the DSSE statement signature, the leaf hash and record ID,
// and folds the RFC 6962 inclusion proof (RFC 9162 section 2.1.3.2) to the
// checkpoint's root. Each step is reported with ok, FAIL or unsupported and
// what was compared. It also wires the page's copy-citation button.
"use strict";

(function () {
  const enc = new TextEncoder();

  function b64decode(s) {
    if (typeof s !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
      throw new Error("not standard base64: " + JSON.stringify(String(s).slice(0, 40)));
    }
    const bin = atob(s);
    // One spelling per value: non-zero padding bits (RFC 4648 section
    // 3.5) are refused, as exhibit verify refuses them.
    if (btoa(bin) !== s) throw new Error("not canonical base64 (non-zero padding bits): " + JSON.stringify(s.slice(0, 40)));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(b) {
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
  function concat(...parts) {
    const n = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  async function sha256(...parts) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(...parts)));
  }
  const leafHash = (entry) => sha256(Uint8Array.of(0), entry);
  const nodeHash = (l, r) => sha256(Uint8Array.of(1), l, r);

  // recordID is "EXR-" and the first 100 bits of the leaf hash in
  // Crockford base32, most significant bit first, in four groups of five.
  function recordID(leaf) {
    const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let s = "EXR-";
    for (let c = 0; c < 20; c++) {
      let v = 0;
      for (let k = 0; k < 5; k++) {
        const i = c * 5 + k;
        v = (v << 1) | ((leaf[i >> 3] >> (7 - (i & 7))) & 1);
      }
      if (c > 0 && c % 5 === 0) s += "-";
      s += alphabet[v];
    }
    return s;
  }

  // rootFromInclusion folds an inclusion proof (leaf side first) for the
  // leaf at index in a tree of size, per RFC 9162 section 2.1.3.2.
  async function rootFromInclusion(index, size, leaf, proof) {
    if (index >= size) throw new Error("index " + index + " is not below tree size " + size);
    let fn = index, sn = size - 1n, r = leaf;
    for (const p of proof) {
      if (sn === 0n) throw new Error("proof has " + proof.length + " hashes: too many");
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n; sn >>= 1n;
    }
    if (sn !== 0n) throw new Error("proof has " + proof.length + " hashes: too few");
    return r;
  }

  // parseVKey parses a C2SP vkey, name+hex8+base64(type || key).
  async function parseVKey(vkey) {
    const i = vkey.indexOf("+"), j = vkey.indexOf("+", i + 1);
    if (i <= 0 || j < 0 || j - i !== 9) throw new Error("vkey is not name+hex8+base64");
    const name = vkey.slice(0, i), id = vkey.slice(i + 1, j), raw = b64decode(vkey.slice(j + 1));
    if (!/^[0-9a-f]{8}$/.test(id)) throw new Error("key ID " + id + " is not 8 hex digits");
    const k = { name, id, type: raw[0], key: null };
    if (raw[0] === 0x01) {
      if (raw.length !== 33) throw new Error("Ed25519 key is " + (raw.length - 1) + " bytes, want 32");
      const want = hex((await sha256(enc.encode(name + "\n"), raw)).slice(0, 4));
      if (want !== id) throw new Error("key ID " + id + " does not match the key (want " + want + ")");
      k.key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
    }
    return k;
  }

  function pae(type, body) {
    const t = enc.encode(type);
    return concat(enc.encode("DSSEv1 " + t.length + " "), t, enc.encode(" " + body.length + " "), body);
  }

  class Panel {
    constructor(root) {
      // A record page has one panel (#verify-steps, #verify-result); a
      // provision page one per record it rests on ([data-verify-…]).
      this.list = root.querySelector("#verify-steps, [data-verify-steps]");
      this.result = root.querySelector("#verify-result, [data-verify-result]");
      this.steps = [];
    }
    report(name, status, detail) {
      this.steps.push({ name, status });
      const li = document.createElement("li");
      li.dataset.step = name;
      li.className = status === "FAIL" ? "fail" : status;
      const b = document.createElement("strong");
      b.textContent = name + ": " + status;
      const d = document.createElement("span");
      d.className = "detail";
      d.textContent = detail;
      li.append(b, d);
      this.list.append(li);
    }
    finish() {
      const failed = this.steps.filter((s) => s.status === "FAIL").map((s) => s.name);
      const unsupported = this.steps.filter((s) => s.status === "unsupported").map((s) => s.name);
      if (failed.length > 0) {
        this.result.className = "fail";
        this.result.textContent = "NOT verified: failed " + failed.join(", ");
      } else if (unsupported.length > 0) {
        this.result.className = "unsupported";
        this.result.textContent = "not fully checked in this browser (" + unsupported.join(", ") + " unsupported): use exhibit verify";
      } else {
        this.result.className = "ok";
        this.result.textContent = "verified: all " + this.steps.length + " checks passed in this browser";
      }
      this.result.dataset.done = "true";
    }
  }

  async function run(root) {
    const panel = new Panel(root);
    panel.result.className = "pending";
    panel.result.textContent = "checking…";
    const citedID = root.dataset.recordId;
    const fail = (name, e) => panel.report(name, "FAIL", e instanceof Error ? e.message : String(e));

    // 1. The bundle.
    let b;
    try {
      const resp = await fetch(root.dataset.bundle, { cache: "no-store", credentials: "omit" });
      if (!resp.ok) throw new Error("GET " + root.dataset.bundle + ": HTTP " + resp.status);
      b = JSON.parse(await resp.text());
      if (b.media_type !== "application/vnd.exhibit.bundle.v1+json") throw new Error("media_type is " + JSON.stringify(b.media_type));
      for (const f of ["record_id", "entry", "index", "inclusion_proof", "checkpoint"]) {
        if (!(f in b)) throw new Error("missing " + f);
      }
      if (!Number.isSafeInteger(b.index) || b.index < 0) throw new Error("index " + b.index + " is not a non-negative integer");
      b.entryBytes = b64decode(b.entry);
      b.proof = b.inclusion_proof.map((h, i) => {
        const x = b64decode(h);
        if (x.length !== 32) throw new Error("inclusion_proof[" + i + "] is " + x.length + " bytes, want 32");
        return x;
      });
      panel.report("bundle-parse", "ok", "index " + b.index + ", " + b.proof.length + " proof hashes, entry " + b.entryBytes.length + " bytes");
    } catch (e) {
      fail("bundle-parse", e);
      panel.finish();
      return;
    }

    // 2. The log's keys (current first, then earlier ones: a log may have
    // rotated its key) and the checkpoint's signature by one of them.
    const keys = [];
    for (const v of (root.dataset.vkeys || "").split(" ").filter(Boolean)) {
      try {
        keys.push(await parseVKey(v));
      } catch (e) {
        fail("log-key", e);
      }
    }
    const key = keys.length > 0 ? keys[0] : null;
    const edKeys = keys.filter((k) => k.type === 0x01);
    let cp = null;
    try {
      const note = b.checkpoint;
      const split = note.lastIndexOf("\n\n");
      if (split < 0) throw new Error("checkpoint has no signature block");
      const text = note.slice(0, split + 1);
      if (key === null) throw new Error("not checked: no usable log key");
      if (edKeys.length === 0) {
        panel.report("checkpoint-signature", "unsupported",
          "the log's keys are not Ed25519 (ECDSA): this browser check supports Ed25519 only");
      } else {
        // Every signature line is well formed (C2SP signed-note: "— ",
        // a key name, a space, canonical base64 of a 4-byte key ID and
        // the signature; at most 100 lines), and every line by a key of
        // the log verifies, wherever it stands: exhibit verify applies
        // the same rules, so that the two never disagree.
        const sigLines = note.slice(split + 2).split("\n");
        if (sigLines.pop() !== "" || sigLines.length === 0) throw new Error("checkpoint's signature block does not end in a newline");
        if (sigLines.length > 100) throw new Error("checkpoint has " + sigLines.length + " signature lines, at most 100 are accepted");
        let signer = null;
        for (const [i, line] of sigLines.entries()) {
          const m = /^\u2014 ([^ +]+) ([^ ]+)$/.exec(line);
          if (m === null) throw new Error("signature line " + (i + 1) + " is not \"\u2014 <name> <base64>\"");
          let sig;
          try {
            sig = b64decode(m[2]);
          } catch (e) {
            throw new Error("signature line " + (i + 1) + " (by " + m[1] + "): " + e.message);
          }
          if (sig.length < 5) throw new Error("signature line " + (i + 1) + " (by " + m[1] + ") is too short");
          for (const k of edKeys) {
            if (m[1] !== k.name || hex(sig.slice(0, 4)) !== k.id) continue;
            if (sig.length !== 68 || !(await crypto.subtle.verify({ name: "Ed25519" }, k.key, sig.slice(4), enc.encode(text)))) {
              throw new Error("signature line " + (i + 1) + " by " + k.name + " (key ID " + k.id + ") does not verify over the checkpoint text");
            }
            signer = signer || k;
          }
        }
        if (signer === null) throw new Error("no signature line by " + key.name + " with any of the log's key IDs " + edKeys.map((k) => k.id).join(", "));
        panel.report("checkpoint-signature", "ok", "Ed25519 signature by " + signer.name + " (key ID " + signer.id + ") verifies");
      }
      const lines = text.slice(0, -1).split("\n");
      if (lines.length < 3) throw new Error("checkpoint body has " + lines.length + " lines, want at least 3");
      if (!/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new Error("tree size " + JSON.stringify(lines[1]) + " is not a decimal");
      const root = b64decode(lines[2]);
      if (root.length !== 32) throw new Error("root hash is " + root.length + " bytes, want 32");
      if (lines[0] !== key.name) throw new Error("origin " + JSON.stringify(lines[0]) + " is not the log " + JSON.stringify(key.name));
      cp = { origin: lines[0], size: BigInt(lines[1]), root };
      panel.report("checkpoint-body", "ok", "origin " + cp.origin + ", tree size " + cp.size + ", root " + hex(root));
    } catch (e) {
      if (!panel.steps.some((s) => s.name === "checkpoint-signature")) fail("checkpoint-signature", e);
      else fail("checkpoint-body", e);
    }

    // 3. The DSSE signature over the statement, by any of the log's keys.
    try {
      if (key === null) throw new Error("not checked: no usable log key");
      const env = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b.entryBytes));
      if (env.payloadType !== "application/vnd.in-toto+json") throw new Error("payloadType is " + JSON.stringify(env.payloadType));
      if (!Array.isArray(env.signatures) || env.signatures.length === 0) throw new Error("no signatures");
      if (edKeys.length === 0) {
        panel.report("statement-signature", "unsupported", "the log's keys are not Ed25519: this browser check supports Ed25519 only");
      } else {
        const msg = pae(env.payloadType, b64decode(env.payload));
        let signer = null;
        for (const s of env.signatures) {
          const sig = b64decode(s.sig);
          if (sig.length !== 64) continue;
          for (const k of edKeys) {
            if (await crypto.subtle.verify({ name: "Ed25519" }, k.key, sig, msg)) { signer = k; break; }
          }
          if (signer !== null) break;
        }
        if (signer === null) throw new Error("no signature verifies over PAE(payloadType, payload) under the log's keys");
        panel.report("statement-signature", "ok", "Ed25519 signature (key ID " + signer.id + ") over the DSSE PAE (" + msg.length + " bytes) verifies");
      }
    } catch (e) {
      fail("statement-signature", e);
    }

    // 4. Leaf hash and record ID.
    const leaf = await leafHash(b.entryBytes);
    if (b.entryBytes.length > 65535) fail("leaf-hash", "entry is " + b.entryBytes.length + " bytes, at most 65535");
    else panel.report("leaf-hash", "ok", "SHA-256(0x00 || entry) = " + hex(leaf));
    const id = recordID(leaf);
    if (id === b.record_id && id === citedID) {
      panel.report("record-id", "ok", id + " (from the entry) = bundle record_id = cited ID");
    } else {
      fail("record-id", "from the entry " + id + ", bundle says " + b.record_id + ", page cites " + citedID);
    }

    // 5. The inclusion proof, folded to the checkpoint's root.
    try {
      if (cp === null) throw new Error("not checked: the checkpoint did not verify");
      const got = await rootFromInclusion(BigInt(b.index), cp.size, leaf, b.proof);
      if (!equal(got, cp.root)) throw new Error("computed root " + hex(got) + " != checkpoint root " + hex(cp.root));
      panel.report("inclusion-proof", "ok", "leaf " + b.index + " of " + cp.size + " folds to root " + hex(got));
    } catch (e) {
      fail("inclusion-proof", e);
    }
    panel.finish();
  }

  function wireCopy() {
    const btn = document.getElementById("copy-citation");
    const text = document.getElementById("citation-text");
    const status = document.getElementById("copy-status");
    if (!btn || !text) return;
    btn.hidden = false;
    btn.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(text.textContent);
        status.textContent = "Copied.";
      } catch (e) {
        const r = document.createRange();
        r.selectNodeContents(text);
        const sel = getSelection();
        sel.removeAllRanges();
        sel.addRange(r);
        status.textContent = "Selected: press Ctrl+C to copy.";
      }
    });
  }

  function start() {
    wireCopy();
    for (const root of document.querySelectorAll(".verify[data-bundle]")) {
      const p = root.querySelector("#verify-result, [data-verify-result]");
      if (!window.crypto || !crypto.subtle) {
        p.className = "unsupported";
        p.textContent = "This browser has no WebCrypto here (it needs a secure context): use exhibit verify.";
        continue;
      }
      run(root).catch((e) => {
        p.className = "fail";
        p.textContent = "NOT verified: " + (e instanceof Error ? e.message : String(e));
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
