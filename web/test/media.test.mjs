// Files encrypted in the page round-trip, and a blob changed by one bit or cut short is refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decryptFile, encryptFile } from "../src/media.js";

test("round trip over several segments, and tampering is refused", async () => {
  const plain = new Uint8Array(2 * 1024 * 1024 + 5).map((_, i) => i % 251);
  const sealed = await encryptFile(plain);
  assert.equal(sealed.blob.length, plain.length + 3 * 16);
  const att = { size: sealed.size, key: sealed.key, nonce: sealed.nonce, sha256: sealed.sha256 };
  assert.deepEqual(await decryptFile(sealed.blob, att), plain);
  const bent = sealed.blob.slice();
  bent[10] ^= 1;
  await assert.rejects(decryptFile(bent, att), /hash/);
  await assert.rejects(decryptFile(sealed.blob.subarray(1), att), /size/);
});

test("an empty file is one empty segment", async () => {
  const sealed = await encryptFile(new Uint8Array(0));
  assert.equal(sealed.blob.length, 16);
  const att = { size: 0, key: sealed.key, nonce: sealed.nonce, sha256: sealed.sha256 };
  assert.equal((await decryptFile(sealed.blob, att)).length, 0);
});
