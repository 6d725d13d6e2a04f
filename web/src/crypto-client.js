// The page's side of the crypto worker (crypto-worker.js): the same operations as crypto.js's
// DeviceCrypto, asynchronous, by message. The page never holds a private key, a session or a pickle:
// only this device's public identity keys, cached here.

/** An error from the worker, with the flags the client acts on (binding, noKey, quiet). */
function rebuilt(error) {
  return Object.assign(new Error(error.message), error);
}

const OPS = [
  "verifyDevice", "verifyOneTimeKey", "deviceKeys", "loginSignature", "newOneTimeKeys", "newFallbackKey",
  "hasSession", "startSession", "encrypt", "decrypt", "outboundInfo", "newOutbound", "markShared",
  "discardOutbound", "roomKey", "encryptGroup", "addRoomKey", "decryptGroup", "exportOwn", "addForwardedKey",
  "withoutSession", "seal", "verifySignature",
];

export class CryptoWorker {
  constructor(worker) {
    this.worker = worker;
    this.calls = new Map();
    this.next = 0;
    this.curve25519 = null;
    this.ed25519 = null;
    worker.onmessage = (event) => {
      const { id, result, error } = event.data;
      const call = this.calls.get(id);
      if (!call) return;
      this.calls.delete(id);
      if (error) call.reject(rebuilt(error));
      else call.resolve(result);
    };
    worker.onerror = (event) => {
      const err = new Error(`the crypto worker failed: ${event.message || "it could not start"}`);
      for (const call of this.calls.values()) call.reject(err);
      this.calls.clear();
    };
  }

  /** Starts the worker of `app`; it loads this browser's device of the app, if there is one. */
  static async start(app) {
    const url = new URL("crypto-worker.js", import.meta.url);
    const crypto = new CryptoWorker(new Worker(url, { type: "module", name: "passerelle-crypto" }));
    crypto.known(await crypto.call("init", app));
    return crypto;
  }

  call(op, ...args) {
    return new Promise((resolve, reject) => {
      const id = ++this.next;
      this.calls.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args });
    });
  }

  known(ids) {
    this.curve25519 = ids ? ids.curve25519 : null;
    this.ed25519 = ids ? ids.ed25519 : null;
  }

  /** Whether the worker holds a device (a new one, or this browser's, loaded). */
  get ready() {
    return this.curve25519 !== null;
  }

  /** A new device (its keys made in the worker); it replaces any other there. */
  async create() {
    this.known(await this.call("create"));
  }

  /** Persists the keys and sessions (the worker writes them itself). */
  save() {
    return this.call("save");
  }

  /** Ends the worker once its writes are done (this tab gave the device up). */
  async stop() {
    await this.call("forget");
    this.worker.terminate();
    this.known(null);
  }

  /** Drops the device (its writes finished) before its record is deleted. */
  async forget() {
    await this.call("forget");
    this.known(null);
  }
}

for (const op of OPS) {
  CryptoWorker.prototype[op] = function (...args) {
    return this.call(op, ...args);
  };
}
