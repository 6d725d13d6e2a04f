// Local state in IndexedDB, encrypted: one record per app holds the device's keys, sessions, token and
// history as AES-GCM ciphertext under a WebCrypto key that is generated non-extractable and kept in
// IndexedDB itself (structured clone keeps it a CryptoKey: script can use it, never read it out).
const DB_NAME = "passerelle";
const STORE = "state";

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function openDb() {
  const open = indexedDB.open(DB_NAME, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  return request(open);
}

async function get(db, key) {
  return request(db.transaction(STORE, "readonly").objectStore(STORE).get(key));
}

async function put(db, key, value) {
  const tx = db.transaction(STORE, "readwrite");
  tx.objectStore(STORE).put(value, key);
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** The state of one app in this browser. */
export class LocalStore {
  constructor(db, app, key) {
    this.db = db;
    this.app = app;
    this.key = key;
    this.writing = Promise.resolve();
    this.pending = null;
    this.latest = null;
  }

  static async open(app) {
    const db = await openDb();
    let key = await get(db, `key:${app}`);
    if (!key) {
      key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
      await put(db, `key:${app}`, key);
    }
    return new LocalStore(db, app, key);
  }

  async load() {
    const sealed = await get(this.db, `state:${this.app}`);
    if (!sealed) return null;
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: sealed.iv, additionalData: new TextEncoder().encode(this.app) },
      this.key,
      sealed.data,
    );
    return JSON.parse(new TextDecoder().decode(plain));
  }

  /**
   * Saves the state `snapshot()` returns, taken when the write starts. Writes happen one at a time;
   * calls made while a write waits share it (the later snapshot holds every earlier change), so a
   * burst of changes costs one write. Resolves once a write that includes this call's state is done.
   */
  save(snapshot) {
    if (!this.pending) {
      this.pending = this.writing.then(async () => {
        this.pending = null;
        await this.write(JSON.stringify(this.latest()));
      });
      this.writing = this.pending.catch(() => {});
    }
    this.latest = snapshot;
    return this.pending;
  }

  async write(text) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(this.app) },
      this.key,
      new TextEncoder().encode(text),
    );
    await put(this.db, `state:${this.app}`, { iv, data });
  }

  async clear() {
    await this.writing;
    await put(this.db, `state:${this.app}`, null);
  }
}
