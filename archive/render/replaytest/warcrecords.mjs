// Reads a WARC file with warcio.js's WARCParser and prints, for each
// record in order, one line of JSON: its type, target URI, record ID,
// content type and length, HTTP status, and its block and payload
// digests as written and as computed from the bytes warcio read.
//
//   node warcrecords.mjs WARCIO_DIST_INDEX_JS FILE
//
// Two passes over FILE: the first with parseHttp off, so that a record's
// block comes whole (HTTP headers and payload) for its block digest; the
// second as warcio reads by default, for the HTTP status it parses.
// A file warcio cannot read ends the script with its error on standard
// error and exit status 1.
import { createReadStream } from "node:fs";
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";

const [warcioIndex, file] = process.argv.slice(2);
const { WARCParser } = await import(pathToFileURL(warcioIndex).href);

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// base32 is RFC 4648 base32 without padding, as WARC digests are
// written (a padded one is compared without its "=").
function base32(buf) {
  let out = "", bits = 0, value = 0;
  for (const b of buf) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

const algorithms = { sha1: "sha1", "sha-1": "sha1", sha256: "sha256", "sha-256": "sha256", sha512: "sha512", "sha-512": "sha512", md5: "md5" };

// digest computes bytes' digest in the algorithm and encoding of the
// declared "algorithm:value" (hex when the value is hex of the digest's
// length, base32 otherwise); "" when nothing is declared or the algorithm
// is unknown.
function digest(declared, bytes) {
  if (!declared) return "";
  const i = declared.indexOf(":");
  if (i < 0) return "";
  const alg = algorithms[declared.slice(0, i).toLowerCase()];
  if (!alg) return "";
  const value = declared.slice(i + 1);
  const h = createHash(alg).update(bytes).digest();
  const hex = value.length === 2 * h.length && /^[0-9a-fA-F]+$/.test(value);
  return declared.slice(0, i) + ":" + (hex ? h.toString("hex") : base32(h));
}

function same(written, computed) {
  return !!written && !!computed && written.replace(/=+$/, "").toLowerCase() === computed.toLowerCase();
}

// payloadOf is the block after its HTTP headers for an application/http
// record, the whole block otherwise.
function payloadOf(contentType, block) {
  if (!/^application\/http\b/i.test(contentType || "")) return block;
  for (let i = 0; i + 3 < block.length; i++) {
    if (block[i] === 13 && block[i + 1] === 10 && block[i + 2] === 13 && block[i + 3] === 10) {
      return block.subarray(i + 4);
    }
  }
  return new Uint8Array(0);
}

try {
  const records = [];
  for await (const record of new WARCParser(createReadStream(file), { parseHttp: false })) {
    // warcio reads leniently: what does not start as a WARC record
    // comes as a record of no type.
    const version = record.warcHeaders.statusline || "";
    if (!/^WARC\/1\.[01]$/.test(version.trim()) || !record.warcType) {
      throw new Error(`record ${records.length + 1} is not a WARC record: it starts ${JSON.stringify(version.slice(0, 40))}, WARC-Type ${JSON.stringify(record.warcType || "")}`);
    }
    const block = await record.readFully(false);
    const contentType = record.warcContentType || "";
    const blockDigest = record.warcBlockDigest || "";
    const payloadDigest = record.warcPayloadDigest || "";
    const computedBlock = digest(blockDigest, block);
    const computedPayload = record.warcType === "revisit" ? "" : digest(payloadDigest, payloadOf(contentType, block));
    records.push({
      type: record.warcType,
      targetURI: record.warcTargetURI || "",
      recordID: record.warcHeader("WARC-Record-ID") || "",
      concurrentTo: record.warcHeader("WARC-Concurrent-To") || "",
      contentType,
      length: record.warcContentLength,
      httpStatus: 0,
      blockDigest,
      blockOK: same(blockDigest, computedBlock),
      payloadDigest,
      payloadOK: same(payloadDigest, computedPayload),
      computedBlock,
      computedPayload,
    });
  }
  let i = 0;
  for await (const record of new WARCParser(createReadStream(file))) {
    const status = record.httpHeaders ? Number(record.httpHeaders.statusCode) : 0;
    if (i < records.length && (record.warcType === "response" || record.warcType === "revisit")) {
      records[i].httpStatus = status || 0;
    }
    i++;
  }
  if (i !== records.length) {
    throw new Error(`the two passes read ${records.length} and ${i} records`);
  }
  for (const r of records) process.stdout.write(JSON.stringify(r) + "\n");
} catch (e) {
  process.stderr.write(`warcio: ${file}: ${e instanceof Error ? e.message : e}\n`);
  process.exit(1);
}
