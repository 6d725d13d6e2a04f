// The crypto module: the ONLY file that imports the Olm library (@towns-protocol/olm, a libolm build).
// Everything else talks to the small interface below, so the library can be swapped (for instance for
// a vodozemac build) without touching the app: strings in, strings out, state out as pickles.
//
// Wire encodings follow docs/protocol.md sections 1, 4.2, 4.7 and 6: unpadded standard base64, the
// Matrix m.olm.v1.curve25519-aes-sha2 envelope, signatures over canonical JSON.
import OlmLib from "@towns-protocol/olm";

let olm = null;

/** Load the WebAssembly once; olm.wasm sits next to the bundle. */
export async function initCrypto() {
  if (olm === null) {
    const wasm = new URL("olm.wasm", import.meta.url).href;
    olm = await OlmLib.initAsync({ locateFile: () => wasm });
  }
  return olm;
}

/** Canonical JSON (docs/protocol.md section 1) of an object: sorted keys, no spaces, UTF-8 as is. */
export function canonicalJson(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
  const keys = Object.keys(value).sort();
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalJson(value[k])).join(",") + "}";
}

/** Throws unless `signature` is ed25519 `key`'s signature over `message` (a string, signed as UTF-8). */
export function verifySignature(key, message, signature) {
  const util = new olm.Utility();
  try {
    util.ed25519_verify(key, message, signature);
  } finally {
    util.free();
  }
}

/** The checked published device (docs/protocol.md section 4.2), or an exception. */
export function verifyDevice(device) {
  const { name, curve25519, ed25519, signature } = device;
  verifySignature(ed25519, canonicalJson({ curve25519, ed25519, name }), signature);
  return device;
}

/** Checks a claimed one-time (or fallback) key against the device that signed it. */
export function verifyOneTimeKey(device, otk) {
  verifySignature(device.ed25519, canonicalJson({ key: otk.key }), otk.signature);
  return otk;
}

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

/**
 * One device: its Olm account and its Olm sessions, per peer device curve25519 key, newest first.
 * The caller persists exportState() after every call that changes state, before acting on it.
 */
export class DeviceCrypto {
  constructor(account, pickleKey, sessions) {
    this.account = account;
    this.pickleKey = pickleKey;
    this.sessions = sessions; // Map<curve25519, Session[]>
    this.outbound = new Map(); // conv -> {session: OutboundGroupSession, created, sent, shared: Set<device id>}
    this.inbound = new Map(); // "senderKey|sessionId" -> {session: InboundGroupSession, conv, sender, device}
    this.seenIndexes = new Set(); // "senderKey|sessionId|index": Megolm does not detect replays
    const ids = JSON.parse(account.identity_keys());
    this.curve25519 = ids.curve25519;
    this.ed25519 = ids.ed25519;
  }

  static create() {
    const account = new olm.Account();
    account.create();
    return new DeviceCrypto(account, randomKey(), new Map());
  }

  static restore(state) {
    const device = DeviceCrypto.restoreOlm(state);
    for (const [conv, o] of Object.entries(state.outbound || {})) {
      const session = new olm.OutboundGroupSession();
      session.unpickle(state.pickleKey, o.pickle);
      device.outbound.set(conv, { session, created: o.created, sent: o.sent, shared: new Set(o.shared) });
    }
    for (const [key, i] of Object.entries(state.inbound || {})) {
      const session = new olm.InboundGroupSession();
      session.unpickle(state.pickleKey, i.pickle);
      device.inbound.set(key, { session, conv: i.conv, sender: i.sender, device: i.device });
    }
    device.seenIndexes = new Set(state.seenIndexes || []);
    return device;
  }

  static restoreOlm(state) {
    const account = new olm.Account();
    account.unpickle(state.pickleKey, state.account);
    const sessions = new Map();
    for (const [peer, pickles] of Object.entries(state.sessions)) {
      sessions.set(
        peer,
        pickles.map((p) => {
          const s = new olm.Session();
          s.unpickle(state.pickleKey, p);
          return s;
        }),
      );
    }
    return new DeviceCrypto(account, state.pickleKey, sessions);
  }

  exportState() {
    const sessions = {};
    for (const [peer, list] of this.sessions) sessions[peer] = list.map((s) => s.pickle(this.pickleKey));
    const outbound = {};
    for (const [conv, o] of this.outbound) {
      outbound[conv] = { pickle: o.session.pickle(this.pickleKey), created: o.created, sent: o.sent, shared: [...o.shared] };
    }
    const inbound = {};
    for (const [key, i] of this.inbound) {
      inbound[key] = { pickle: i.session.pickle(this.pickleKey), conv: i.conv, sender: i.sender, device: i.device };
    }
    const seenIndexes = [...this.seenIndexes].slice(-20000);
    return { pickleKey: this.pickleKey, account: this.account.pickle(this.pickleKey), sessions, outbound, inbound, seenIndexes };
  }

  // --- Megolm (docs/protocol.md section 10.4) -------------------------------------------------------

  /** This device's current outbound session for a group, or null. */
  outboundFor(conv) {
    return this.outbound.get(conv) || null;
  }

  /**
   * A new outbound session for a group (the old one, if any, is dropped). Its inbound twin is kept
   * too, as `me` ({account, device}) sent it, so that a member who asks can get it (key requests).
   */
  newOutbound(conv, me) {
    this.discardOutbound(conv);
    const session = new olm.OutboundGroupSession();
    session.create();
    const state = { session, created: Date.now(), sent: 0, shared: new Set() };
    this.outbound.set(conv, state);
    if (me) this.addRoomKey(this.curve25519, me.account, me.device, conv, session.session_id(), session.session_key());
    return state;
  }

  /** A v1 export of one of this device's own sessions of `conv`, from `index` on; null if none. */
  exportOwn(conv, sessionId, index) {
    const found = this.inbound.get(`${this.curve25519}|${sessionId}`);
    if (!found || found.conv !== conv) return null;
    return found.session.export_session(Math.max(index, found.session.first_known_index()));
  }

  /**
   * A session forwarded to us (p.forwarded_room_key, a v1 export) by its own sender device. An
   * unknown session is added; a known one is replaced only by an export that starts earlier.
   */
  addForwardedKey(senderKey, sender, device, conv, sessionId, exportedKey) {
    const key = `${senderKey}|${sessionId}`;
    const session = new olm.InboundGroupSession();
    session.import_session(exportedKey);
    const known = this.inbound.get(key);
    const bad = session.session_id() !== sessionId;
    const bound = known && (known.conv !== conv || known.sender !== sender || known.device !== device);
    if (bad || bound || (known && known.session.first_known_index() <= session.first_known_index())) {
      session.free();
      if (bad || bound) throw new Error("the forwarded key does not match its session or group");
      return false;
    }
    if (known) known.session.free();
    this.inbound.set(key, { session, conv, sender, device });
    return true;
  }

  discardOutbound(conv) {
    const old = this.outbound.get(conv);
    if (old) old.session.free();
    this.outbound.delete(conv);
  }

  /** The signed v2 session key to share, at the session's current index. */
  roomKey(conv) {
    const { session } = this.outbound.get(conv);
    return { session_id: session.session_id(), session_key: session.session_key() };
  }

  encryptGroup(conv, plaintext) {
    const state = this.outbound.get(conv);
    state.sent += 1;
    return { session_id: state.session.session_id(), ciphertext: state.session.encrypt(plaintext) };
  }

  /** Keeps a session shared with us over Olm by `device` of `sender` for `conv` (never rebinds one). */
  addRoomKey(senderKey, sender, device, conv, sessionId, sessionKey) {
    const key = `${senderKey}|${sessionId}`;
    const known = this.inbound.get(key);
    if (known) {
      if (known.conv !== conv || known.sender !== sender || known.device !== device) throw new Error("a room key for another group or sender");
      return;
    }
    const session = new olm.InboundGroupSession();
    session.create(sessionKey);
    if (session.session_id() !== sessionId) {
      session.free();
      throw new Error("the room key does not match its session id");
    }
    this.inbound.set(key, { session, conv, sender, device });
  }

  /** Decrypts a group body from `device` of `sender` in `conv`; refuses replays and foreign sessions. */
  decryptGroup(senderKey, sessionId, ciphertext, { conv, sender, device }) {
    const found = this.inbound.get(`${senderKey}|${sessionId}`);
    if (!found) throw Object.assign(new Error("no key for this group message yet"), { noKey: true });
    if (found.conv !== conv || found.sender !== sender || found.device !== device) {
      throw new Error("the group session belongs to another group or sender");
    }
    const { plaintext, message_index: index } = found.session.decrypt(ciphertext);
    const mark = `${senderKey}|${sessionId}|${index}`;
    if (this.seenIndexes.has(mark)) throw Object.assign(new Error("a group message seen already"), { quiet: true });
    this.seenIndexes.add(mark);
    return plaintext;
  }

  sign(message) {
    return this.account.sign(message);
  }

  /** The signed `device` object of registration (docs/protocol.md section 4.2). */
  deviceKeys(name) {
    const { curve25519, ed25519 } = this;
    return { name, curve25519, ed25519, signature: this.sign(canonicalJson({ curve25519, ed25519, name })) };
  }

  loginSignature(challenge, deviceId) {
    return this.sign(canonicalJson({ challenge, device_id: deviceId, purpose: "passerelle-login" }));
  }

  signedKey(keyId, key) {
    return { key_id: keyId, key, signature: this.sign(canonicalJson({ key })) };
  }

  /** New signed one-time keys, marked published (persist before uploading them). */
  newOneTimeKeys(count) {
    const n = Math.min(count, this.account.max_number_of_one_time_keys());
    this.account.generate_one_time_keys(n);
    const keys = JSON.parse(this.account.one_time_keys()).curve25519;
    this.account.mark_keys_as_published();
    return Object.entries(keys).map(([id, key]) => this.signedKey(id, key));
  }

  newFallbackKey() {
    this.account.generate_fallback_key();
    const keys = JSON.parse(this.account.unpublished_fallback_key()).curve25519;
    this.account.mark_keys_as_published();
    const [[id, key]] = Object.entries(keys);
    return this.signedKey(id, key);
  }

  /** A new outbound session to that device, which becomes the one we send on (recovery). */
  startSession(peerCurve, oneTimeKey) {
    const s = new olm.Session();
    s.create_outbound(this.account, peerCurve, oneTimeKey);
    this.sessions.set(peerCurve, [s, ...(this.sessions.get(peerCurve) || [])]);
  }

  hasSession(peerCurve) {
    return (this.sessions.get(peerCurve) || []).length > 0;
  }

  /** Encrypts a plaintext string for one device; starts a session from `oneTimeKey` if there is none. */
  encrypt(peerCurve, plaintext, oneTimeKey) {
    let list = this.sessions.get(peerCurve) || [];
    if (list.length === 0) {
      if (!oneTimeKey) throw new Error("no session with that device and no one-time key");
      const s = new olm.Session();
      s.create_outbound(this.account, peerCurve, oneTimeKey);
      list = [s];
      this.sessions.set(peerCurve, list);
    }
    return list[0].encrypt(plaintext);
  }

  /**
   * Decrypts an Olm message {type, body} from the device with curve25519 `senderCurve`.
   * `check(plaintext)` must throw when the plaintext is not acceptable (binding): the sessions are then
   * put back as they were, so a decryption is all or nothing.
   */
  decrypt(senderCurve, type, body, check) {
    const list = this.sessions.get(senderCurve) || [];
    if (type === 0) {
      for (const s of list) {
        if (s.matches_inbound_from(senderCurve, body)) return this.#decryptWith(s, list, 0, body, check);
      }
      const s = new olm.Session();
      s.create_inbound_from(this.account, senderCurve, body);
      let plain;
      try {
        plain = s.decrypt(0, body);
        check(plain);
      } catch (err) {
        s.free();
        throw err;
      }
      this.account.remove_one_time_keys(s);
      this.sessions.set(senderCurve, [s, ...list]);
      return plain;
    }
    for (const s of list) {
      let plain;
      try {
        plain = this.#decryptWith(s, list, 1, body, check);
      } catch (err) {
        if (err && err.binding) throw err;
        continue;
      }
      return plain;
    }
    throw new Error("no session with the sender device decrypts this message");
  }

  #decryptWith(session, list, type, body, check) {
    const before = session.pickle(this.pickleKey);
    const plain = session.decrypt(type, body);
    try {
      check(plain);
    } catch (err) {
      session.unpickle(this.pickleKey, before);
      err.binding = true;
      throw err;
    }
    list.splice(list.indexOf(session), 1);
    list.unshift(session);
    return plain;
  }
}
