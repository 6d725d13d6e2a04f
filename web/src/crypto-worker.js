// The crypto worker: this device's Olm account, its Olm and Megolm sessions and the key that pickles
// them live here, in a dedicated worker, and never in the page's thread. The page asks for
// operations by message (crypto-client.js) and gets back only public keys, signatures, ciphertexts
// and the plaintexts it must show. The worker persists its state itself (IndexedDB, sealed under the
// non-extractable key: store.js), so the pickles never cross over either. It is the one place that
// imports the Olm library (crypto.js), so that library can be swapped behind this boundary.
import "./worker-window.js";
import { DeviceCrypto, initCrypto, verifyDevice, verifyOneTimeKey, verifySignature } from "./crypto.js";
import { LocalStore } from "./store.js";

let device = null;
let store = null;

/** A result that may leave the worker only once the state that produced it is stored. */
class AfterSave {
  constructor(value) {
    this.value = value;
  }
}

function ids() {
  return device ? { curve25519: device.curve25519, ed25519: device.ed25519 } : null;
}

/** The binding of an Olm plaintext (docs/protocol.md section 6), checked before it is accepted. */
function checkBinding(text, expected) {
  const p = JSON.parse(text);
  const ok =
    p.sender === expected.sender &&
    p.sender_device === expected.sender_device &&
    p.keys?.ed25519 === expected.ed25519 &&
    p.recipient === expected.recipient &&
    p.recipient_keys?.ed25519 === device.ed25519 &&
    p.conv === expected.conv;
  if (!ok) throw new Error("the plaintext's binding does not match (docs/protocol.md section 6)");
}

function outboundInfo(state) {
  return state ? { created: state.created, sent: state.sent, shared: [...state.shared] } : null;
}

function need() {
  if (!device) throw new Error("this browser has no device of the app");
  return device;
}

const OPS = {
  async init(app) {
    await initCrypto();
    store = await LocalStore.open(app);
    const saved = await store.loadRecord("crypto");
    device = saved ? DeviceCrypto.restore(saved) : null;
    return ids();
  },
  create() {
    device = DeviceCrypto.create();
    return ids();
  },
  save() {
    const d = need();
    return store.save("crypto", () => d.exportState());
  },
  async forget() {
    device = null;
    await store.settle();
  },
  verifyDevice: (d) => verifyDevice(d),
  verifyOneTimeKey: (d, otk) => verifyOneTimeKey(d, otk),
  verifySignature: (key, message, signature) => verifySignature(key, message, signature),
  deviceKeys: (name) => need().deviceKeys(name),
  loginSignature: (challenge, deviceId) => need().loginSignature(challenge, deviceId),
  newOneTimeKeys: (count) => need().newOneTimeKeys(count),
  newFallbackKey: () => need().newFallbackKey(),
  hasSession: (curve) => need().hasSession(curve),
  startSession: (curve, otk) => need().startSession(curve, otk),
  encrypt: (curve, plaintext, otk) => need().encrypt(curve, plaintext, otk),
  decrypt: (curve, type, body, binding) => need().decrypt(curve, type, body, (text) => checkBinding(text, binding)),
  outboundInfo: (conv) => outboundInfo(need().outboundFor(conv)),
  newOutbound: (conv, me) => outboundInfo(need().newOutbound(conv, me)),
  markShared(conv, deviceIds) {
    const state = need().outboundFor(conv);
    if (state) for (const d of deviceIds) state.shared.add(d);
  },
  discardOutbound: (conv) => need().discardOutbound(conv),
  roomKey: (conv) => need().roomKey(conv),
  // the session's new index is stored before the ciphertext leaves the worker
  encryptGroup: (conv, plaintext) => new AfterSave(need().encryptGroup(conv, plaintext)),
  withoutSession: (curves) => curves.filter((c) => !need().hasSession(c)),
  /**
   * Olm envelopes of one plaintext for several devices, each bound to its recipient (section 6),
   * stored before they are handed over. `targets`: [{account, device_id, curve25519, ed25519, otk?}].
   */
  seal(targets, plaintext, me) {
    const d = need();
    const payloads = {};
    const skipped = [];
    for (const t of targets) {
      if (!t.otk && !d.hasSession(t.curve25519)) {
        skipped.push(t.device_id);
        continue;
      }
      const body = JSON.stringify({
        ...plaintext,
        sender: me.account,
        sender_device: me.device,
        keys: { ed25519: d.ed25519 },
        recipient: t.account,
        recipient_keys: { ed25519: t.ed25519 },
      });
      const part = d.encrypt(t.curve25519, body, t.otk);
      payloads[t.device_id] = {
        algorithm: "m.olm.v1.curve25519-aes-sha2",
        sender_key: d.curve25519,
        ciphertext: { [t.curve25519]: { type: part.type, body: part.body } },
      };
    }
    return new AfterSave({ payloads, skipped });
  },
  addRoomKey: (...args) => need().addRoomKey(...args),
  decryptGroup: (...args) => need().decryptGroup(...args),
  exportOwn: (...args) => need().exportOwn(...args),
  addForwardedKey: (...args) => need().addForwardedKey(...args),
};

function failure(err) {
  const error = { message: String((err && err.message) || err) };
  for (const flag of ["binding", "noKey", "quiet"]) if (err && err[flag]) error[flag] = true;
  return error;
}

// Calls run one at a time, in the order they came: each sees the state the previous one left. The
// answer of an AfterSave result (ciphertexts) is posted once the state that made it is stored,
// while the next calls go on.
let queue = Promise.resolve();
self.onmessage = (event) => {
  const { id, op, args } = event.data;
  queue = queue.then(async () => {
    try {
      if (!Object.hasOwn(OPS, op)) throw new Error(`no such crypto operation: ${op}`);
      const result = await OPS[op](...args);
      if (!(result instanceof AfterSave)) {
        self.postMessage({ id, result });
        return;
      }
      OPS.save().then(
        () => self.postMessage({ id, result: result.value }),
        (err) => self.postMessage({ id, error: failure(err) }),
      );
    } catch (err) {
      self.postMessage({ id, error: failure(err) });
    }
  });
};
