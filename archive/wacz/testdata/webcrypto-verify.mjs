// Verifies the signedData of a datapackage-digest.json read from stdin as
// ReplayWeb.page (wabac.js src/wacz/certutils.ts) does for an anonymous
// signature: WebCrypto importKey("spki", publicKey, ECDSA P-384), then
// verify(ECDSA SHA-256, signature, UTF-8 bytes of hash). Prints "valid" or
// "invalid"; exits 1 when invalid.
import { webcrypto as crypto } from "node:crypto";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { signedData: sd } = JSON.parse(input);
const key = await crypto.subtle.importKey("spki", Buffer.from(sd.publicKey, "base64"),
  { name: "ECDSA", namedCurve: "P-384" }, true, ["verify"]);
const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key,
  Buffer.from(sd.signature, "base64"), new TextEncoder().encode(sd.hash));
console.log(ok ? "valid" : "invalid");
process.exit(ok ? 0 : 1);
