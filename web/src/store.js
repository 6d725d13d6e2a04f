// Local state in IndexedDB, encrypted: two records per app hold the device's keys and sessions, and its
// token and history, as AES-GCM ciphertext under a WebCrypto key that is generated non-extractable and kept in
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

/**
 * The state of one app in this browser, in two sealed records: `crypto` (the device's keys and
 * sessions, small, written before any envelope leaves) and `state` (token, conversations, history).
 * Each record has its own write queue, so a history write never delays a send.
 */
export class LocalStore {
  constructor(db, app, key) {
    this.db = db;
    this.app = app;
    this.key = key;
    this.queues = new Map(); // record -> {writing, pending, latest}
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

  async open(record, aad = `${this.app}/${record}`) {
    const sealed = await get(this.db, `${record}:${this.app}`);
    if (!sealed) return null;
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: sealed.iv, additionalData: new TextEncoder().encode(aad) },
      this.key,
      sealed.data,
    );
    return JSON.parse(new TextDecoder().decode(plain));
  }

  /**
   * One record ("crypto" or "state"), or null. The first version kept both in one record,
   * {crypto, state}, sealed with the app's name alone: its halves are still read.
   */
  async loadRecord(record) {
    const found = await this.open(record).catch(() => null);
    if (found) return found;
    const legacy = await this.open("state", this.app).catch(() => null);
    return legacy && legacy.crypto && legacy.state ? legacy[record] : null;
  }

  /**
   * Saves the value `snapshot()` returns into `record` ("crypto" or "state"), taken when the write
   * starts. Writes of one record happen one at a time; calls made while a write waits share it (the
   * later snapshot holds every earlier change), so a burst of changes costs one write. Resolves once
   * a write that includes this call's state is done.
   */
  save(record, snapshot) {
    let q = this.queues.get(record);
    if (!q) this.queues.set(record, (q = { writing: Promise.resolve(), pending: null, latest: null }));
    if (!q.pending) {
      q.pending = q.writing.then(async () => {
        q.pending = null;
        await this.write(record, JSON.stringify(q.latest()));
      });
      q.writing = q.pending.catch(() => {});
    }
    q.latest = snapshot;
    return q.pending;
  }

  async write(record, text) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(`${this.app}/${record}`) },
      this.key,
      new TextEncoder().encode(text),
    );
    await put(this.db, `${record}:${this.app}`, { iv, data });
  }

  /** Resolves once every write asked for so far is done. */
  async settle() {
    await Promise.all([...this.queues.values()].map((q) => q.writing));
  }

  async clear() {
    await this.settle();
    await put(this.db, `state:${this.app}`, null);
    await put(this.db, `crypto:${this.app}`, null);
  }
}
