// The page's safety numbers and canonical JSON agree with the Python side (docs/protocol.md 1 and 14).
import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJson } from "../src/crypto.js";
import { safetyNumber, safetyQrPayload } from "../src/safety.js";

const ALICE = ["AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"];
const BOB = ["ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8", "//////////////////////////////////////////8"];
const NUMBER = "05973 60501 57868 73559 18363 19099 55201 02579 03552 62437 43178 11241";

test("the protocol's safety-number test vector", async () => {
  assert.equal(await safetyNumber("a_alice", ALICE, "a_bob", BOB), NUMBER);
  assert.equal(await safetyNumber("a_bob", [...BOB].reverse(), "a_alice", ALICE), NUMBER);
  assert.equal(
    await safetyQrPayload("a_alice", ALICE, "a_bob", BOB),
    "passerelle-safety:0:ZM/GQJXoxUa+dXb17gWs3e43Szfnd1zWu5RH2FK7P4g:3yrB3WGz2zMPczbBFNtgGElexAVTFQITiqa4NF+p8wQ",
  );
});

test("a key given twice counts once, no key is an error", async () => {
  assert.equal(await safetyNumber("a_alice", [...ALICE, ...ALICE], "a_bob", BOB), NUMBER);
  await assert.rejects(safetyNumber("a_alice", [], "a_bob", BOB));
});

test("canonical JSON is Python's json.dumps(sort_keys, compact, ensure_ascii=False)", () => {
  const value = { name: "Téléphone d'Anaïs 📱", ed25519: "k2", curve25519: "k1", nested: { b: [1, "x"], a: null } };
  assert.equal(
    canonicalJson(value),
    '{"curve25519":"k1","ed25519":"k2","name":"Téléphone d\'Anaïs 📱","nested":{"a":null,"b":[1,"x"]}}',
  );
});
