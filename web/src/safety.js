// Safety numbers (docs/protocol.md section 14), with WebCrypto's SHA-512: the same 60 digits as the
// Python SDK's crypto/safety.py. Uses no Olm: only public keys and hashes.
const VERSION = 0;
const ITERATIONS = 5200;

function b64decode(text) {
  const binary = atob(text + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function b64encode(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

async function sha512(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-512", bytes));
}

async function fingerprint(accountId, ed25519Keys) {
  const unique = [...new Set(ed25519Keys)].map(b64decode);
  if (unique.length === 0) throw new Error("a safety number needs at least one key on each side");
  if (unique.some((k) => k.length !== 32)) throw new Error("an ed25519 key has 32 bytes");
  const keys = unique
    .sort(compareBytes)
    .filter((k, i, all) => i === 0 || compareBytes(k, all[i - 1]) !== 0);
  const material = concat(...keys);
  const version = new Uint8Array([(VERSION >> 8) & 0xff, VERSION & 0xff]);
  let digest = await sha512(concat(version, material, new TextEncoder().encode(accountId)));
  for (let i = 0; i < ITERATIONS; i++) digest = await sha512(concat(digest, material));
  return digest.slice(0, 32);
}

function digits(fp) {
  let out = "";
  for (let i = 0; i < 30; i += 5) {
    let n = 0;
    for (let j = i; j < i + 5; j++) n = n * 256 + fp[j];
    out += String(n % 100000).padStart(5, "0");
  }
  return out;
}

/** 60 digits in 12 groups of 5; both people get the same string. */
export async function safetyNumber(myId, myKeys, theirId, theirKeys) {
  const mine = digits(await fingerprint(myId, myKeys));
  const theirs = digits(await fingerprint(theirId, theirKeys));
  const all = mine <= theirs ? mine + theirs : theirs + mine;
  return all.match(/.{5}/g).join(" ");
}

/** What my screen shows as a QR code: passerelle-safety:0:<my fingerprint>:<theirs>. */
export async function safetyQrPayload(myId, myKeys, theirId, theirKeys) {
  const mine = b64encode(await fingerprint(myId, myKeys));
  const theirs = b64encode(await fingerprint(theirId, theirKeys));
  return `passerelle-safety:${VERSION}:${mine}:${theirs}`;
}
