// Files encrypted in the page (docs/protocol.md section 8.3, passerelle.aes-256-gcm.v1) with
// WebCrypto: a fresh key and nonce per file, 1 MiB segments, each sealed with its own nonce and
// associated data, the blob's SHA-256 checked before anything is decrypted.
const SEGMENT = 1024 * 1024;
const TAG = 16;
const AAD = new TextEncoder().encode("passerelle-media\0");
export const ALG = "passerelle.aes-256-gcm.v1";

export function b64encode(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/=+$/, "");
}

export function b64decode(text) {
  const binary = atob(text + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function segments(size) {
  return Math.max(1, Math.ceil(size / SEGMENT));
}

function segmentNonce(nonce, i) {
  const out = nonce.slice();
  const tail = new DataView(out.buffer, out.byteOffset + 8, 4);
  tail.setUint32(0, (tail.getUint32(0) ^ i) >>> 0);
  return out;
}

function segmentAad(i, last) {
  const out = new Uint8Array(AAD.length + 5);
  out.set(AAD);
  new DataView(out.buffer).setUint32(AAD.length, i);
  out[AAD.length + 4] = last ? 1 : 0;
  return out;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** Encrypts `plain` (Uint8Array): {blob, key, nonce, sha256, size} with the binary values in base64. */
export async function encryptFile(plain) {
  const rawKey = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const key = await crypto.subtle.importKey("raw", rawKey, "AES-GCM", false, ["encrypt"]);
  const count = segments(plain.length);
  const blob = new Uint8Array(plain.length + TAG * count);
  for (let i = 0, at = 0; i < count; i++) {
    const part = plain.subarray(i * SEGMENT, (i + 1) * SEGMENT);
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv: segmentNonce(nonce, i), additionalData: segmentAad(i, i === count - 1) },
        key,
        part,
      ),
    );
    blob.set(sealed, at);
    at += sealed.length;
  }
  return {
    blob,
    key: b64encode(rawKey),
    nonce: b64encode(nonce),
    sha256: b64encode(await sha256(blob)),
    size: plain.length,
  };
}

/** Checks `blob` against the attachment (length, SHA-256) and decrypts it; throws when anything differs. */
export async function decryptFile(blob, att) {
  const count = segments(att.size);
  if (blob.length !== att.size + TAG * count) throw new Error("the file does not have the announced size");
  const digest = await sha256(blob);
  const expected = b64decode(att.sha256);
  if (digest.length !== expected.length || digest.some((b, i) => b !== expected[i])) {
    throw new Error("the file does not match the hash its message carried");
  }
  const key = await crypto.subtle.importKey("raw", b64decode(att.key), "AES-GCM", false, ["decrypt"]);
  const nonce = b64decode(att.nonce);
  const plain = new Uint8Array(att.size);
  const step = SEGMENT + TAG;
  for (let i = 0; i < count; i++) {
    const part = blob.subarray(i * step, (i + 1) * step);
    const opened = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: segmentNonce(nonce, i), additionalData: segmentAad(i, i === count - 1) },
      key,
      part,
    );
    plain.set(new Uint8Array(opened), i * SEGMENT);
  }
  return plain;
}

/** The plain-text stand-in an app without media shows (as the SDK writes it). */
export function standIn(kind, name, durationMs) {
  if (kind === "voice") {
    const s = Math.floor((durationMs || 0) / 1000);
    return `🎤 Voice note (${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")})`;
  }
  const label = { image: "📷 Photo", video: "🎬 Video", voice: "🎤 Voice note" }[kind] || "📎 File";
  return name ? `${label}: ${name}` : label;
}
