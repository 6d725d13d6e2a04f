// A Passerelle device in the page: registration, keys, lookup, 1:1 sends and receives (docs/protocol.md
// sections 4 to 6). All encryption goes through crypto.js; all traffic through api.js.
import { ApiError, Rest, Socket } from "./api.js";
import { Businesses } from "./businesses.js";
import { INTERACTIVE, keptCloud, numbered } from "./cloud.js";
import { CryptoWorker } from "./crypto-client.js";
import { ALG, decryptFile, encryptFile, standIn } from "./media.js";
import { safetyNumber } from "./safety.js";
import { expiry, unexpired } from "./timers.js";
import { LocalStore } from "./store.js";

const OTK_TARGET = 50;
const RECEIPT_CHUNK = 256; // ids in one receipt frame (docs/protocol.md section 3)
const RANK = { failed: 0, sending: 0, sent: 1, delivered: 2, read: 3 };
const MAX_MESSAGES = 500;

function clientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const MEDIA = ["image", "file", "video", "voice"];
const MEGOLM = "m.megolm.v1.aes-sha2";

function imageSize(file) {
  return createImageBitmap(file).then((bitmap) => {
    const size = { width: bitmap.width, height: bitmap.height };
    bitmap.close();
    return size;
  });
}

/** A video's size and duration, read by the page's own player (nothing leaves the page). */
function videoDetails(file) {
  return new Promise((resolve, reject) => {
    const video = document.createElement("video");
    const url = URL.createObjectURL(file);
    const done = (value, err) => {
      URL.revokeObjectURL(url);
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => done(null, new Error("the video cannot be read")), 3000);
    video.preload = "metadata";
    video.onloadedmetadata = () => {
      const out = {};
      if (video.videoWidth) Object.assign(out, { width: video.videoWidth, height: video.videoHeight });
      if (Number.isFinite(video.duration)) out.duration_ms = Math.round(video.duration * 1000);
      done(out);
    };
    video.onerror = () => done(null, new Error("the video cannot be read"));
    video.src = url;
  });
}

/** The change msgtypes and the app feature that shows each (docs/protocol.md section 11.1). */
const CHANGES = { reaction: "reaction", edit: "edit", delete: "delete" };

/** Mentions of `people` ([account, display name]) written "@Name" in `text`, in code points. */
function mentionsIn(text, people) {
  const points = [...text];
  const found = [];
  for (const [account, name] of people) {
    if (!name) continue;
    const written = [..."@" + name];
    for (let i = 0; i + written.length <= points.length; i++) {
      if (written.every((c, j) => points[i + j] === c)) found.push({ account, offset: i, length: written.length });
    }
  }
  return found.sort((a, b) => a.offset - b.offset);
}

function refTo(message) {
  return { id: message.id, sender: message.from, quote: [...message.body].slice(0, 80).join("") };
}

/** A readable stand-in for content an app cannot show (section 11.2). */
function fallbackFor(content) {
  const quote = content.in_reply_to ? String(content.in_reply_to.quote || "") : String(content.quote || "");
  switch (content.msgtype) {
    case "reaction":
      return content.body ? `${content.body} reacted to: “${quote}”` : `removed a reaction to: “${quote}”`;
    case "edit":
      return `✏️ edited: ${content.body}`;
    case "delete":
      return "🗑 deleted a message";
    case "theme":
      return content.theme && content.theme.colour ? `🎨 changed the conversation's colour to ${content.theme.colour}` : "🎨 changed the conversation's colour";
    default:
      return typeof content.body === "string" && content.body ? content.body : `[${content.msgtype}]`;
  }
}

function defaultDeviceName(app) {
  const platform = (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || "";
  return `${app.display_name} in a browser${platform ? ` (${platform.slice(0, 24)})` : ""}`;
}

export class Client extends EventTarget {
  constructor(app, store, rest) {
    super();
    this.app = app; // {name, display_name, identity, colors, features}
    this.store = store;
    this.rest = rest;
    this.device = null;
    this.state = null; // {me, token, expiresAt, seen: [mid], convs: {conv: {...}}, people: {}}
    this.devices = new Map(); // account -> [published device]
    this.pending = new Map(); // client id -> {frame, resolve, reject}: sends without their answer yet
    this.socket = null;
    this.frames = Promise.resolve(); // server frames are handled one at a time, in order
    this.media = new Map(); // blob id -> object URL of the decrypted file
    this.recovering = new Map(); // "account/device" -> when we last asked it to send again
    this.businesses = new Businesses(this);
  }

  static async open(app) {
    const store = await LocalStore.open(app.name); // makes the wrapping key first, for the worker too
    const client = new Client(app, store, new Rest());
    client.device = await CryptoWorker.start(app.name);
    const state = await store.loadRecord("state");
    if (state && client.device.ready) {
      client.state = state;
      client.rest.token = state.token;
    }
    return client;
  }

  get signedIn() {
    return this.state !== null;
  }

  /** Persists everything: the device's keys and sessions, and the conversations. */
  async save() {
    const state = this.state;
    await Promise.all([this.saveCrypto(), this.store.save("state", () => state)]);
  }

  /** Persists the keys and sessions only: what must be stored before an envelope leaves. */
  async saveCrypto() {
    await this.device.save(); // the worker writes them: they never come to the page
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // --- accounts -------------------------------------------------------------------------------

  async requestCode(phone) {
    await this.rest.post("/v1/codes", { app: this.app.name, phone });
  }

  /** Registers a new account (`join: false`) or adds this browser to an existing one (`join: true`). */
  async enrol(identity, { join = false, deviceName = defaultDeviceName(this.app) } = {}) {
    await this.device.create();
    const body = { app: this.app.name, ...identity, device: await this.device.deviceKeys(deviceName) };
    const grant = await this.rest.post(join ? "/v1/devices" : "/v1/accounts", body);
    this.state = {
      me: { account: grant.account_id, device: grant.device_id, address: grant.address },
      token: grant.token,
      expiresAt: grant.expires_at,
      seen: [],
      convs: {},
      people: {},
    };
    this.rest.token = grant.token;
    await this.save();
    await this.uploadKeys(OTK_TARGET, true);
  }

  async uploadKeys(count, withFallback) {
    const body = { one_time_keys: await this.device.newOneTimeKeys(count) };
    if (withFallback) body.fallback_key = await this.device.newFallbackKey();
    await this.save(); // the private halves are stored before the public ones leave
    return this.rest.post("/v1/keys", body);
  }

  /** A fresh token from the device key (docs/protocol.md section 4.5). */
  async login() {
    const deviceId = this.state.me.device;
    const { challenge } = await this.rest.post("/v1/auth/challenge", { device_id: deviceId });
    const grant = await this.rest.post("/v1/auth/token", {
      device_id: deviceId,
      challenge,
      signature: await this.device.loginSignature(challenge, deviceId),
    });
    this.state.token = grant.token;
    this.state.expiresAt = grant.expires_at;
    this.rest.token = grant.token;
    await this.save();
  }

  async me() {
    const me = await this.rest.get("/v1/me");
    this.state.readReceipts = me.settings.read_receipts;
    return me;
  }

  async updateSettings(settings) {
    const now = await this.rest.call("PATCH", "/v1/me/settings", settings);
    this.state.readReceipts = now.read_receipts;
    await this.save();
    return now;
  }

  /** The privacy settings of docs/protocol.md section 9.4 (findability, read receipts, who may write, last seen). */
  async privacy() {
    return this.rest.get("/v1/me/privacy");
  }

  async updatePrivacy(settings) {
    const now = await this.rest.call("PATCH", "/v1/me/privacy", settings);
    this.state.readReceipts = now.read_receipts;
    await this.save();
    return now;
  }

  /** Whether my stories reach my contacts on other apps (section 12.1). */
  async storySettings() {
    return this.rest.get("/v1/stories/settings");
  }

  async setStoriesCrossApp(crossApp) {
    return this.rest.call("PATCH", "/v1/stories/settings", { cross_app: crossApp });
  }

  /** When that person was last connected (ms), or null when their setting hides it from me. */
  async lastSeen(accountId) {
    const profile = await this.rest.get(`/v1/accounts/${encodeURIComponent(accountId)}`);
    return Number.isInteger(profile.last_seen) ? profile.last_seen : null;
  }

  async contacts() {
    return (await this.rest.get("/v1/contacts")).contacts;
  }

  async removeContact(accountId) {
    await this.rest.call("DELETE", `/v1/contacts/${encodeURIComponent(accountId)}`);
  }

  async blocks() {
    return (await this.rest.get("/v1/blocks")).blocks;
  }

  /** Everything the server holds about me (section 9.6), as the JSON text it sends. */
  async exportData() {
    const resp = await this.rest.fetch("GET", "/v1/me/export");
    return resp.text();
  }

  /**
   * Erases my account on the server, at once and for good (section 9.7), proving who I am again
   * (`{password}`, or `{code}` on a phone app); then this browser forgets everything of it.
   */
  async erase(proof) {
    await this.rest.call("DELETE", "/v1/me", proof);
    await this.forget();
  }

  async removeDevice(deviceId) {
    await this.rest.call("DELETE", `/v1/devices/${encodeURIComponent(deviceId)}`);
    this.devices.delete(this.state.me.account);
  }

  /** This browser's device was removed from the account (from another device): forget it here. */
  async forget() {
    if (this.socket) this.socket.close();
    await this.device.forget();
    await this.store.clear();
    this.state = null;
  }

  /**
   * This tab stops using the device (another tab of the browser takes it over): the connection
   * closes, every write finishes, and the worker that held the keys ends.
   */
  async suspend() {
    if (this.socket) this.socket.close();
    await this.frames.catch(() => {});
    if (this.state) await this.save();
    await this.store.settle();
    await this.device.stop();
    this.state = null;
  }

  async signOut() {
    if (this.socket) this.socket.close();
    try {
      await this.rest.call("DELETE", `/v1/devices/${encodeURIComponent(this.state.me.device)}`);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
    }
    await this.device.forget();
    await this.store.clear();
    this.state = null;
  }

  // --- the connection -----------------------------------------------------------------------

  async connect() {
    if (this.state.expiresAt - Date.now() < 86_400_000) await this.login();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.socket = new Socket(`${scheme}//${location.host}/v1/ws`, this.state.token, {
      onFrame: (frame) => {
        this.frames = this.frames
          .then(() => this.onFrame(frame))
          .catch((err) => this.emit("problem", err.message));
      },
      onState: (state) => {
        if (state === "unauthorized") {
          this.login().then(
            () => {
              this.socket.token = this.state.token;
              this.socket.start();
            },
            (err) => {
              if (err.status === 401) this.forget().then(() => this.emit("removed"));
              else this.emit("problem", err.message);
            },
          );
          return;
        }
        this.emit("connection", state);
      },
    });
    this.socket.start();
  }

  async onFrame(frame) {
    switch (frame.t) {
      case "welcome":
        // Sends that got no answer before the connection dropped go again, same id: the server
        // stores a repeated id once and answers it with the first "sent".
        for (const entry of this.pending.values()) {
          if (entry.generation !== undefined && entry.generation < this.socket.generation) {
            entry.generation = await this.socket.send(entry.frame);
          }
        }
        if (frame.otk_count < OTK_TARGET / 2) await this.uploadKeys(OTK_TARGET - frame.otk_count, false);
        break;
      case "deliver":
        await this.onDeliver(frame.items);
        break;
      case "sent":
      case "error": {
        const waiter = this.pending.get(frame.t === "sent" ? frame.id : frame.ref);
        if (!waiter) {
          if (frame.t === "error") this.emit("problem", frame.message);
          break;
        }
        this.pending.delete(frame.t === "sent" ? frame.id : frame.ref);
        if (frame.t === "sent") {
          waiter.onSent(frame);
          waiter.resolve(frame);
        }
        else waiter.reject(new ApiError(0, frame.code, frame.message, frame));
        break;
      }
      case "keys_low":
        await this.uploadKeys(Math.max(1, OTK_TARGET - frame.count), false);
        break;
      case "typing":
        this.emit("typing", frame);
        break;
      default:
        break;
    }
  }

  // --- people and devices -------------------------------------------------------------------

  async lookup(address) {
    const person = await this.rest.get(`/v1/lookup?address=${encodeURIComponent(address)}`);
    this.state.people[person.account_id] = person;
    return person;
  }

  async person(accountId) {
    if (!this.state.people[accountId]) {
      this.state.people[accountId] = await this.rest.get(`/v1/accounts/${encodeURIComponent(accountId)}`);
    }
    return this.state.people[accountId];
  }

  /** The account's devices, every signature checked; a device with a bad signature is left out. */
  async devicesOf(accountId, refresh = false) {
    if (refresh || !this.devices.has(accountId)) {
      const answer = await this.rest.get(`/v1/accounts/${encodeURIComponent(accountId)}/devices`);
      const good = [];
      for (const d of answer.devices) {
        try {
          good.push(await this.device.verifyDevice(d));
        } catch {
          this.emit("problem", `a device of ${accountId} has a bad signature; it is left out`);
        }
      }
      this.devices.set(accountId, good);
    }
    return this.devices.get(accountId);
  }

  /** The safety number with that person, from both accounts' device keys fetched afresh. */
  async safetyNumber(accountId) {
    const me = this.state.me.account;
    const mine = (await this.devicesOf(me, true)).map((d) => d.ed25519);
    const theirs = (await this.devicesOf(accountId, true)).map((d) => d.ed25519);
    return safetyNumber(me, mine, accountId, theirs);
  }

  async conversationWith(accountId) {
    const found = Object.values(this.state.convs).find((c) => c.with === accountId);
    if (found) return found;
    const answer = await this.rest.post("/v1/conversations", { with: accountId });
    const conv = this.remember(answer.conv, accountId);
    conv.timer = answer.timer || 0;
    return conv;
  }

  /** The other member of one of my direct conversations (for copies sent by my other devices). */
  async otherMember(conv) {
    if (this.state.convs[conv]) return this.state.convs[conv].with;
    const { conversations } = await this.rest.get("/v1/conversations");
    const found = conversations.find((c) => c.conv === conv);
    const other = found && found.members.find((m) => m !== this.state.me.account);
    if (!other) throw new Error("a copy for a conversation this device does not know");
    return other;
  }

  remember(conv, withAccount) {
    if (!this.state.convs[conv]) this.state.convs[conv] = { conv, with: withAccount, messages: [] };
    return this.state.convs[conv];
  }

  // --- groups (docs/protocol.md section 10) -------------------------------------------------------

  /** Creates a group with these people (account ids); its name travels encrypted (p.group). */
  async createGroup(name, accountIds) {
    const info = await this.rest.post("/v1/groups", { members: accountIds });
    const conv = this.rememberGroup(info);
    conv.name = name;
    await this.sendGroup(conv.conv, "p.group", { name }, clientId());
    await this.save();
    return conv;
  }

  async addMembers(convId, accountIds) {
    this.rememberGroup(await this.rest.post(`/v1/groups/${encodeURIComponent(convId)}/members`, { accounts: accountIds }));
    await this.save();
  }

  /** Removes someone (admin): my session is replaced before my next message, which they never get. */
  async removeMember(convId, accountId) {
    const info = await this.rest.call("DELETE", `/v1/groups/${encodeURIComponent(convId)}/members/${encodeURIComponent(accountId)}`);
    await this.device.discardOutbound(convId);
    this.rememberGroup(info);
    await this.save();
  }

  async leaveGroup(convId) {
    await this.rest.post(`/v1/groups/${encodeURIComponent(convId)}/leave`, {});
    await this.device.discardOutbound(convId);
    this.state.convs[convId].gone = true;
    await this.save();
  }

  /** Makes someone an admin of the group (`admin` true) or takes the rights back (admin only). */
  async setAdmin(convId, accountId, admin) {
    const path = `/v1/groups/${encodeURIComponent(convId)}/admins/${encodeURIComponent(accountId)}`;
    this.rememberGroup(await this.rest.call(admin ? "PUT" : "DELETE", path));
    await this.save();
  }

  /** A new invite link's secret (admin only; the server keeps only its hash). */
  async createInvite(convId) {
    return this.rest.post(`/v1/groups/${encodeURIComponent(convId)}/invites`, {});
  }

  async invites(convId) {
    return (await this.rest.get(`/v1/groups/${encodeURIComponent(convId)}/invites`)).invites;
  }

  async revokeInvite(convId, inviteId) {
    await this.rest.call("DELETE", `/v1/groups/${encodeURIComponent(convId)}/invites/${encodeURIComponent(inviteId)}`);
  }

  /** Joins the group of an invite link; its name and keys arrive with the members' next messages. */
  async joinGroup(token) {
    const conv = this.rememberGroup(await this.rest.post("/v1/groups/join", { token }));
    conv.gone = false;
    await this.knowMembers(conv);
    await this.save();
    return conv;
  }

  /** Renames the group: the name is content, sent encrypted to the members (p.group). */
  async renameGroup(convId, name) {
    const conv = this.state.convs[convId];
    await this.sendGroup(convId, "p.group", { name }, clientId());
    conv.name = name;
    this.groupNotice(conv, this.state.me.account, { name });
    await this.save();
  }

  /** Sets the group's picture: encrypted here, uploaded into the group, its key sent in p.group. */
  async setGroupAvatar(convId, file) {
    const conv = this.state.convs[convId];
    const attachment = await this.upload({ conv: convId }, file, new Uint8Array(await file.arrayBuffer()), "image");
    const avatar = attachment; // an attachment of section 8.4 (kind "image"), as the SDK sends it
    await this.sendGroup(convId, "p.group", { avatar }, clientId());
    conv.avatar = avatar;
    this.groupNotice(conv, this.state.me.account, { avatar });
    await this.save();
  }

  /** Takes a group's name and picture from a p.group or a shared key; a notice for a change. */
  applyGroupState(conv, values, by = null) {
    const changed = {};
    if (typeof values.name === "string" && values.name) {
      const name = [...values.name].slice(0, 64).join("");
      if (name !== conv.name) conv.name = changed.name = name;
    }
    const a = values.avatar;
    if (a && typeof a === "object" && typeof a.blob === "string" && (!conv.avatar || conv.avatar.blob !== a.blob)) {
      conv.avatar = { kind: "image", blob: a.blob, mime: String(a.mime || ""), size: Number(a.size), key: String(a.key),
        nonce: String(a.nonce), sha256: String(a.sha256) };
      for (const k of ["width", "height"]) if (Number.isInteger(a[k])) conv.avatar[k] = a[k];
      changed.avatar = conv.avatar;
    }
    if (by) this.groupNotice(conv, by, changed);
    this.emit("message", { conv: conv.conv, message: null });
  }

  groupNotice(conv, by, changed) {
    const who = by === this.state.me.account ? "You" : this.nameOf(by);
    const say = (text) => this.addMessage(conv, { id: `group-${Date.now()}-${Math.random()}`, notice: true, text, from: by, ts: Date.now() }, "notice");
    if (changed.name) say(`${who} named the group “${conv.name}”`);
    if (changed.avatar) say(`${who} changed the group's picture`);
  }

  rememberGroup(info) {
    const conv = this.state.convs[info.conv] || { conv: info.conv, kind: "group", with: info.conv, name: "", messages: [] };
    Object.assign(conv, { kind: "group", with: info.conv, members: info.members, admins: info.admins, timer: info.timer || 0 });
    this.state.convs[info.conv] = conv;
    return conv;
  }

  async learnGroup(convId) {
    const conv = this.rememberGroup(await this.rest.get(`/v1/groups/${encodeURIComponent(convId)}`));
    await this.knowMembers(conv);
    return conv;
  }

  /** The profiles of a group's members this device has not seen yet (members may see each other). */
  async knowMembers(conv) {
    const unknown = conv.members.filter((a) => !this.state.people[a]);
    await Promise.all(unknown.map((a) => this.person(a).catch(() => null)));
  }

  /**
   * A group send (section 10.3): the Megolm body for every member device, and over Olm the session's
   * key for the devices that lack it. The session is rotated when missing (a member or device left),
   * after 100 messages or 7 days. On stale_devices the lists are fetched again, once.
   */
  async sendGroup(convId, type, content, id, onSent = () => {}) {
    const me = this.state.me;
    for (let attempt = 0; ; attempt++) {
      const conv = await this.learnGroup(convId);
      const targets = [];
      for (const member of conv.members) {
        for (const d of await this.devicesOf(member, attempt > 0)) {
          if (!(member === me.account && d.device_id === me.device)) targets.push({ account: member, ...d });
        }
      }
      let state = await this.device.outboundInfo(convId);
      if (!state || state.sent >= 100 || Date.now() - state.created > 7 * 86_400_000) state = await this.device.newOutbound(convId, me);
      const shared = new Set(state.shared);
      const need = targets.filter((d) => !shared.has(d.device_id));
      const share = { algorithm: MEGOLM, conv: convId, ...(await this.device.roomKey(convId)) };
      const group = this.groupState(conv);
      if (Object.keys(group).length) share.group = group;
      const payloads = need.length ? await this.encryptFor(need, { type: "p.room_key", conv: convId, content: share }) : {};
      // the worker stores the session's new index before it hands the ciphertext over
      const { session_id, ciphertext } = await this.device.encryptGroup(convId, JSON.stringify({ type, conv: convId, content }));
      const body = { algorithm: MEGOLM, sender_key: this.device.curve25519, device_id: me.device, session_id, ciphertext };
      try {
        const sent = await this.submit({ t: "send", id, conv: convId, payloads, body }, onSent);
        await this.device.markShared(convId, Object.keys(payloads));
        await this.save();
        return sent;
      } catch (err) {
        if (err.code !== "stale_devices" || attempt > 0) throw err;
      }
    }
  }

  /** The group's name and picture as this device knows them, for members who joined later. */
  groupState(conv) {
    const group = {};
    if (conv.name) group.name = conv.name;
    if (conv.avatar) group.avatar = { ...conv.avatar, alg: ALG };
    return group;
  }

  /** A member item (section 10.2): the member list changed; a departure rotates my session. */
  async onMember(item) {
    const body = item.body || {};
    const conv = this.state.convs[item.conv];
    if (["removed", "left", "device_removed"].includes(body.event)) await this.device.discardOutbound(item.conv);
    const accounts = Array.isArray(body.accounts) ? body.accounts : body.account ? [body.account] : [];
    if (body.event === "removed" && accounts.includes(this.state.me.account)) {
      if (conv) conv.gone = true;
    } else {
      await this.learnGroup(item.conv).catch(() => null);
    }
    const group = this.state.convs[item.conv];
    if (!group || body.event === "device_added" || body.event === "device_removed") return;
    for (const a of [...accounts, body.by]) if (a) await this.person(a).catch(() => null);
    const names = accounts.map((a) => (a === this.state.me.account ? "you" : this.nameOf(a))).join(", ");
    const by = body.by === this.state.me.account ? "You" : this.nameOf(body.by);
    const said = { added: `${by} added ${names}`, removed: `${by} removed ${names}`, left: `${names} left`,
      joined: `${names} joined`, promoted: `${by} made ${names} an admin`, demoted: `${by} made ${names} no longer an admin` }[body.event];
    if (said) this.addMessage(group, { id: `member-${item.pos}`, notice: true, text: said, from: body.by, ts: item.ts }, "notice");
  }

  nameOf(accountId) {
    const p = this.state.people[accountId];
    return p ? p.display_name : "someone";
  }

  /** A group body (section 10.4): checked against the sending device and the session's group. */
  async onGroupBody(item, env) {
    const sender = await this.senderDevice(item);
    if (env.sender_key !== sender.curve25519 || env.device_id !== item.dev) throw new Error("the group message's sender is not the device that sent it");
    let text;
    try {
      text = await this.device.decryptGroup(env.sender_key, env.session_id, env.ciphertext, { conv: item.conv, sender: item.from, device: item.dev });
    } catch (err) {
      if (!err.noKey) throw err;
      this.keepPending(item, env, sender);
      return false;
    }
    this.dropWaiting(item);
    const plain = JSON.parse(text);
    if (plain.conv !== item.conv) throw new Error("the group message names another group");
    const conv = this.state.convs[item.conv] || (await this.learnGroup(item.conv));
    const content = plain.content || {};
    if (plain.type === "p.group") {
      await this.person(item.from).catch(() => null);
      this.applyGroupState(conv, content, item.from);
      return false;
    }
    if (plain.type !== "p.msg") return false;
    await this.person(item.from).catch(() => null);
    return this.showContent(conv, item, content, item.from === this.state.me.account);
  }

  /** The name and picture a shared or forwarded key carries, for what this device does not know yet. */
  keyGroupState(conv, group) {
    if (!group || typeof group !== "object") return;
    const unknown = {};
    if (!conv.name) unknown.name = group.name;
    if (!conv.avatar) unknown.avatar = group.avatar;
    this.applyGroupState(conv, unknown);
  }

  // --- key requests (docs/protocol.md section 10.4) ------------------------------------------------

  /**
   * A group body whose key this device does not have: kept (at most 200), a line says so, and the
   * sending device is asked for the key (p.key_request, once per session and page load).
   */
  keepPending(item, env, sender) {
    const pending = (this.state.pendingGroup = this.state.pendingGroup || []);
    const mark = `${env.sender_key}|${env.session_id}`;
    if (!pending.some((p) => p.item.pos === item.pos && p.mark === mark)) pending.push({ mark, item });
    if (pending.length > 200) pending.splice(0, pending.length - 200);
    const conv = this.state.convs[item.conv];
    if (conv && item.mid !== undefined && !conv.messages.some((m) => m.id === `wait-${item.mid}`)) {
      const text = `🔒 A message from ${this.nameOf(item.from)} is waiting for its key; this device asked for it.`;
      this.addMessage(conv, { id: `wait-${item.mid}`, notice: true, text, from: item.from, ts: item.ts }, "notice");
    }
    this.requested = this.requested || new Set();
    if (this.requested.has(mark)) return;
    this.requested.add(mark);
    const content = { conv: item.conv, session_id: env.session_id, sender_key: env.sender_key, index: 0 };
    this.later(async () => {
      try {
        await this.olmToDevice(item.conv, { account: item.from, ...sender }, "p.key_request", content);
      } catch (err) {
        this.requested.delete(mark);
        throw err;
      }
    });
  }

  /** The "waiting for its key" line of a message goes once the message can be read. */
  dropWaiting(item) {
    const conv = this.state.convs[item.conv];
    if (!conv || item.mid === undefined) return;
    const at = conv.messages.findIndex((m) => m.id === `wait-${item.mid}`);
    if (at === -1) return;
    conv.messages.splice(at, 1);
    this.emit("message", { conv: conv.conv, message: null });
  }

  /** The bodies that waited for this session's key, decrypted now that it came. */
  async retryPending(senderKey, sessionId) {
    const mark = `${senderKey}|${sessionId}`;
    const pending = this.state.pendingGroup || [];
    const now = pending.filter((p) => p.mark === mark);
    if (now.length === 0) return;
    this.state.pendingGroup = pending.filter((p) => p.mark !== mark);
    for (const { item } of now) {
      try {
        await this.onMessage(item);
      } catch (err) {
        if (!err.quiet) this.emit("problem", `a message from ${this.nameOf(item.from)} could not be read: ${err.message}`);
      }
    }
  }

  /**
   * Another device asks for one of my sessions: answered (p.forwarded_room_key, a v1 export) only
   * for a device of a current member, as the server says, and only about my own sessions.
   */
  async answerKeyRequest(convId, requester, account, request) {
    if (typeof request.session_id !== "string" || request.sender_key !== this.device.curve25519) return;
    let conv;
    try {
      conv = await this.learnGroup(convId);
    } catch {
      return; // I am no longer in this group myself
    }
    if (!conv.members.includes(account)) return;
    const known = (await this.devicesOf(account, true)).find((d) => d.device_id === requester.device_id);
    if (!known || known.curve25519 !== requester.curve25519) return;
    const index = Number.isInteger(request.index) && request.index >= 0 ? request.index : 0;
    const exported = await this.device.exportOwn(convId, request.session_id, index);
    if (!exported) return;
    const reply = { conv: convId, session_id: request.session_id, sender_key: this.device.curve25519, exported_key: exported };
    const group = this.groupState(conv);
    if (Object.keys(group).length) reply.group = group;
    await this.olmToDevice(convId, { account, ...known }, "p.forwarded_room_key", reply);
  }

  /** One Olm event to one device of a group member (a key request or its answer). */
  async olmToDevice(convId, target, type, content) {
    const payloads = await this.encryptFor([target], { type, conv: convId, content });
    if (Object.keys(payloads).length === 0) return;
    await this.submit({ t: "send", id: clientId(), conv: convId, payloads }, () => {});
  }

  async senderDevice(item) {
    let sender = (await this.devicesOf(item.from)).find((d) => d.device_id === item.dev);
    if (!sender) sender = (await this.devicesOf(item.from, true)).find((d) => d.device_id === item.dev);
    if (!sender) throw new Error("unknown sender device");
    return sender;
  }

  // --- contacts and stories (docs/protocol.md sections 9.1 and 12) ---------------------------------

  async addContact(accountId) {
    await this.rest.call("PUT", `/v1/contacts/${encodeURIComponent(accountId)}`);
  }

  async appFeatures() {
    if (!this.allApps) {
      const { apps } = await this.rest.get("/v1/apps");
      this.allApps = new Map(apps.map((a) => [a.name, new Set(a.features)]));
    }
    return this.allApps;
  }

  /**
   * Posts a story: a text, or a photo or video with `text` as its caption. The server names its
   * audience (my contacts now); the file is encrypted here and uploaded into the story; each member
   * gets the content over Olm in our direct conversation (p.story), and those whose app shows no
   * stories a line of text too (docs/protocol.md section 12).
   */
  async postStory(text, file = null) {
    const kind = file ? (file.type.startsWith("video/") ? "video" : "image") : "text";
    if (!file && !text) throw new Error("a text story needs a text");
    const posted = await this.rest.post("/v1/stories", {});
    const content = { id: posted.story, ts: Date.now(), expires_at: posted.expires_at, kind, text };
    try {
      if (file) content.attachment = await this.upload({ story: posted.story }, file, new Uint8Array(await file.arrayBuffer()), kind);
    } catch (err) {
      await this.rest.call("DELETE", `/v1/stories/${encodeURIComponent(posted.story)}`).catch(() => {});
      throw err;
    }
    this.state.stories = this.state.stories || {};
    this.state.stories[posted.story] = { ...content, author: this.state.me.account, mine: true, seenBy: {} };
    await this.save();
    this.emit("stories");
    const features = await this.appFeatures();
    for (const member of posted.audience) {
      const conv = await this.conversationWith(member.account_id);
      await this.deliver(member.account_id, conv.conv, content, clientId(), () => {}, "p.story");
      if (!(features.get(member.app) || new Set()).has("stories")) await this.sendText(member.account_id, "📖 posted a story");
    }
    this.emit("stories");
    return posted;
  }

  /** Takes my story down now: the server deletes it and its file; it leaves this device's list. */
  async deleteStory(storyId) {
    await this.rest.call("DELETE", `/v1/stories/${encodeURIComponent(storyId)}`);
    delete this.state.stories[storyId];
    await this.save();
    this.emit("stories");
  }

  /** Answers a story in the direct conversation with its author (section 12.3): a reply quoting it. */
  async replyToStory(storyId, text) {
    const story = this.state.stories[storyId];
    const label = { image: "📷 Story", video: "🎬 Story" }[story.kind] || "📖 Story";
    const caption = [...story.text].length <= 80 ? story.text : [...story.text].slice(0, 79).join("") + "…";
    const quote = caption ? `${label}: ${caption}` : label;
    return this.sendText(story.author, text, { replyTo: { id: story.id, from: story.author, body: quote } });
  }

  /** The stories I may see now (the server's list decides), with their content when this device has it. */
  async stories() {
    const { stories } = await this.rest.get("/v1/stories");
    const known = this.state.stories || {};
    return stories.filter((s) => known[s.story]).map((s) => ({ ...known[s.story], audience_size: s.audience_size }));
  }

  /** Shows a story: tells its author once (p.story_seen), as the author's devices record viewers. */
  async viewStory(storyId) {
    const story = (this.state.stories || {})[storyId];
    if (!story || story.mine || story.viewed) return story;
    story.viewed = true;
    await this.save();
    const conv = await this.conversationWith(story.author);
    await this.deliver(story.author, conv.conv, { story: storyId, ts: Date.now() }, clientId(), () => {}, "p.story_seen");
    return story;
  }

  onStory(item, content, fromMe) {
    if (typeof content.id !== "string" || !content.id.startsWith("s_")) return;
    this.state.stories = this.state.stories || {};
    if (this.state.stories[content.id]) return;
    const expires = Math.min(Number(content.expires_at) || 0, item.ts + 25 * 3600 * 1000);
    const story = { id: content.id, author: item.from, mine: fromMe, kind: String(content.kind || "text"),
      text: String(content.text || "").slice(0, 4096), ts: item.ts, expires_at: expires, seenBy: {} };
    const att = content.attachment;
    if (["image", "video"].includes(story.kind) && att && typeof att.blob === "string") {
      story.attachment = { kind: story.kind, blob: att.blob, mime: String(att.mime || ""), size: Number(att.size),
        key: String(att.key), nonce: String(att.nonce), sha256: String(att.sha256) };
      for (const k of ["width", "height", "duration_ms"]) if (Number.isInteger(att[k])) story.attachment[k] = att[k];
    }
    this.state.stories[content.id] = story;
    this.emit("stories");
  }

  onStorySeen(item, content) {
    const story = this.state.stories && this.state.stories[content.story];
    if (!story) return;
    if (item.from === this.state.me.account) story.viewed = true; // I saw it on another device
    else if (story.mine) story.seenBy[item.from] = Number(content.ts) || item.ts;
    this.emit("stories");
  }

  // --- disappearing messages ---------------------------------------------------------------------

  async setTimer(convId, seconds) {
    await this.rest.call("PUT", `/v1/conversations/${encodeURIComponent(convId)}/timer`, { timer: seconds });
    this.onTimer(this.state.convs[convId], this.state.me.account, seconds);
    await this.save();
  }

  onTimer(conv, by, seconds) {
    if (!conv) return;
    conv.timer = seconds;
    this.addMessage(conv, { id: `timer-${Date.now()}-${Math.random()}`, notice: true, from: by, timer: seconds, ts: Date.now(), mine: by === this.state.me.account }, "notice");
  }

  /** Deletes the messages whose time has come, here (the server deletes undelivered ones). */
  async purgeExpired(now = Date.now()) {
    let changed = false;
    for (const conv of Object.values(this.state.convs)) {
      const result = unexpired(conv.messages, now);
      if (result.changed) {
        conv.messages = result.kept;
        changed = true;
        this.emit("message", { conv: conv.conv, message: null });
      }
    }
    for (const [id, story] of Object.entries(this.state.stories || {})) {
      if (story.expires_at && story.expires_at <= now) {
        delete this.state.stories[id];
        changed = true;
      }
    }
    if (changed) await this.save();
  }

  // --- message requests and blocks (docs/protocol.md sections 9.2 and 9.3) ----------------------

  /** Whether a conversation someone else started waits in my requests. */
  async checkRequest(conv) {
    const { requests } = await this.rest.get("/v1/requests");
    conv.request = requests.some((r) => r.conv === conv.conv);
    conv.requestCheckedAt = Date.now();
  }

  async accept(convId) {
    await this.rest.post(`/v1/conversations/${encodeURIComponent(convId)}/accept`, {});
    this.state.convs[convId].request = false;
    await this.save();
  }

  /** Declines a request (and blocks its sender with `block`); the conversation leaves this device. */
  async decline(convId, block = false) {
    await this.rest.post(`/v1/conversations/${encodeURIComponent(convId)}/decline`, { block });
    delete this.state.convs[convId];
    await this.save();
  }

  /**
   * Reports a person to the operator with the messages chosen here, revealed in plain text (the one
   * exception to "the server sees no plaintext", docs/protocol.md section 9.5); `block` blocks too.
   */
  async report(convId, chosen, reason, block) {
    const conv = this.state.convs[convId];
    const messages = chosen.slice(-100).map((m) => ({
      id: m.id,
      ...(m.mid !== undefined ? { mid: m.mid } : {}),
      sender: m.from,
      ts: m.ts,
      text: [...(m.body || (m.attachment ? `[${m.attachment.kind}]` : ""))].slice(0, 4096).join(""),
    }));
    const body = { account_id: conv.with, messages, conv: convId, block };
    if (reason) body.reason = [...reason].slice(0, 500).join("");
    const answer = await this.rest.post("/v1/reports", body);
    if (block) for (const c of Object.values(this.state.convs)) if (c.with === conv.with) c.blocked = true;
    await this.save();
    return answer;
  }

  async block(accountId) {
    await this.rest.call("PUT", `/v1/blocks/${encodeURIComponent(accountId)}`);
    for (const conv of Object.values(this.state.convs)) if (conv.with === accountId) conv.blocked = true;
    await this.save();
  }

  async unblock(accountId) {
    await this.rest.call("DELETE", `/v1/blocks/${encodeURIComponent(accountId)}`);
    for (const conv of Object.values(this.state.convs)) if (conv.with === accountId) conv.blocked = false;
    await this.save();
  }

  // --- sending --------------------------------------------------------------------------------

  /**
   * Sends a text (a reply when `replyTo` is one of the conversation's messages). To a business: a
   * number typed after its choices on an app without buttons is the tap of that choice, and a stop
   * word revokes its marketing first (docs/protocol.md section 11.3, docs/business.md section 8).
   * `cloud`: a business message's object (a tap, Businesses.tap), sent as is.
   */
  async sendText(accountId, text, { replyTo = null, cloud = null, asTyped = false } = {}) {
    if (!asTyped) {
      const offered = this.businesses.typed(accountId, text);
      if (offered) return this.businesses.tap(accountId, offered.message, offered.choice);
      await this.businesses.stopBeforeSending(accountId, text);
    }
    const conv = await this.conversationWith(accountId);
    const content = { id: clientId(), ts: Date.now(), msgtype: "text", body: text };
    if (cloud) content.cloud = cloud;
    const message = { id: content.id, from: this.state.me.account, body: text, ts: content.ts, mine: true };
    const mentions = this.has("mention") ? mentionsIn(text, [[accountId, (await this.person(accountId).catch(() => ({}))).display_name]]) : [];
    if (mentions.length) {
      content.mentions = mentions;
      message.mentions = mentions;
    }
    if (replyTo) {
      content.in_reply_to = refTo(replyTo);
      message.replyTo = content.in_reply_to;
      if (!(await this.theyHave(accountId, "reply"))) {
        content.fallback = `↩️ replying to “${content.in_reply_to.quote}”: ${text}`;
      }
    }
    this.addMessage(conv, message, "sending");
    const onSent = (sent) => {
      // before any later frame (a receipt for it) is handled
      conv.request = false; // sending into a conversation accepts it
      message.mid = sent.mid;
      message.ts = sent.ts;
      this.addMessage(conv, message, "sent");
    };
    let sent;
    try {
      sent = await this.deliver(accountId, conv.conv, content, content.id, onSent);
    } catch (err) {
      message.status = "failed"; // refused (blocked, too large...): it stays here, marked not sent
      this.emit("message", { conv: conv.conv, message });
      throw err;
    }
    await this.save();
    return sent;
  }

  /** Encrypts a file in the page, uploads the ciphertext and sends it (docs/protocol.md section 8). */
  async sendFile(accountId, file, caption = "", { kind: asKind = null, durationMs = null } = {}) {
    const conv = await this.conversationWith(accountId);
    const plain = new Uint8Array(await file.arrayBuffer());
    const kind = asKind || (file.type.startsWith("image/") ? "image" : file.type.startsWith("video/") ? "video" : "file");
    const attachment = await this.upload({ conv: conv.conv }, file, plain, kind);
    if (durationMs !== null) attachment.duration_ms = Math.round(durationMs);
    const content = { id: clientId(), ts: Date.now(), msgtype: kind, body: caption || standIn(kind, attachment.name, attachment.duration_ms), attachment };
    const message = { id: content.id, from: this.state.me.account, body: caption, ts: content.ts, mine: true, attachment };
    this.addMessage(conv, message, "sending");
    const onSent = (sent) => {
      conv.request = false;
      message.mid = sent.mid;
      message.ts = sent.ts;
      this.addMessage(conv, message, "sent");
    };
    let sent;
    try {
      sent = await this.deliver(accountId, conv.conv, content, content.id, onSent);
    } catch (err) {
      message.status = "failed"; // refused (blocked, too large...): it stays here, marked not sent
      this.emit("message", { conv: conv.conv, message });
      throw err;
    }
    await this.save();
    return sent;
  }

  /**
   * Encrypts `plain` (the bytes of `file`) in the page and uploads the ciphertext into `into`
   * ({conv} or {story}, docs/protocol.md sections 8.1 and 12.1): the attachment of section 8.4.
   */
  async upload(into, file, plain, kind) {
    const sealed = await encryptFile(plain);
    const upload = await this.rest.post("/v1/media/uploads", { ...into, size: sealed.blob.length });
    const step = upload.chunk_bytes || 4 * 1024 * 1024;
    for (let at = 0; at < sealed.blob.length; at += step) {
      await this.rest.bytes("PATCH", `/v1/media/uploads/${encodeURIComponent(upload.blob)}`, sealed.blob.subarray(at, at + step), {
        "Upload-Offset": String(at),
        "Content-Type": "application/offset+octet-stream",
      });
    }
    await this.rest.post(`/v1/media/uploads/${encodeURIComponent(upload.blob)}/finish`, {});
    const attachment = {
      kind,
      blob: upload.blob,
      mime: file.type || "application/octet-stream",
      size: sealed.size,
      key: sealed.key,
      nonce: sealed.nonce,
      sha256: sealed.sha256,
      alg: ALG,
      name: file.name.slice(0, 255),
    };
    if (kind === "image") {
      const size = await imageSize(file).catch(() => null);
      if (size) Object.assign(attachment, size);
    }
    if (kind === "video") {
      const details = await videoDetails(file).catch(() => null);
      if (details) Object.assign(attachment, details);
    }
    this.media.set(attachment.blob, URL.createObjectURL(file));
    return attachment;
  }

  /** The decrypted file of an attachment as an object URL (fetched, checked and decrypted once). */
  async fileUrl(att) {
    if (!this.media.has(att.blob)) {
      const blob = await this.rest.bytes("GET", `/v1/media/${encodeURIComponent(att.blob)}`);
      const plain = await decryptFile(blob, att);
      this.media.set(att.blob, URL.createObjectURL(new Blob([plain], { type: att.mime || "" })));
    }
    return this.media.get(att.blob);
  }

  /** Work that sends (and so waits for a "sent" frame) never runs inside the frame queue. */
  later(work) {
    setTimeout(() => work().catch((err) => this.emit("problem", err.message)), 0);
  }

  /**
   * Session recovery, receiving side (docs/protocol.md section 6): a fresh Olm session with the device
   * whose message did not decrypt, and a p.resend on it naming the message. At most once a minute
   * per device.
   */
  async recover(item, sender) {
    const key = `${item.from}/${item.dev}`;
    if (Date.now() - (this.recovering.get(key) || 0) < 60_000) return;
    this.recovering.set(key, Date.now());
    const claim = await this.rest.post("/v1/keys/claim", { account_id: item.from, device_ids: [item.dev] });
    const d = claim.devices.find((x) => x.device_id === item.dev);
    if (!d || !d.one_time_key || d.ed25519 !== sender.ed25519 || d.curve25519 !== sender.curve25519) return;
    await this.device.verifyOneTimeKey(sender, d.one_time_key);
    const conv = this.state.convs[item.conv];
    if (conv && conv.kind === "group") return; // group key recovery (key requests) comes later
    await this.device.startSession(sender.curve25519, d.one_time_key.key);
    const to = conv ? conv.with : item.from === this.state.me.account ? await this.otherMember(item.conv) : item.from;
    const request = item.mid !== undefined ? { mids: [item.mid], device: item.dev } : { device: item.dev };
    await this.deliver(to, item.conv, request, clientId(), () => {}, "p.resend");
    await this.save();
  }

  /** Session recovery, sending side: encrypts again, on the newest sessions, the messages asked for. */
  async resend(convId, request) {
    const conv = this.state.convs[convId];
    if (!conv) return;
    const mids = new Set(Array.isArray(request.mids) ? request.mids : []);
    const ids = new Set(Array.isArray(request.ids) ? request.ids : []);
    const wanted = conv.messages.filter((m) => m.mine && !m.notice && (mids.has(m.mid) || ids.has(m.id))).slice(0, 50);
    for (const m of wanted) {
      const n = (m.resends || 0) + 1;
      if (n > 5) continue;
      m.resends = n;
      const content = { id: m.id, ts: m.ts, msgtype: m.attachment ? m.attachment.kind : "text", body: m.body, resend: n };
      if (m.attachment) content.attachment = { ...m.attachment, alg: ALG };
      if (m.replyTo) content.in_reply_to = m.replyTo;
      if (m.deleted) continue;
      await this.deliver(conv.with, convId, content, `${m.id}.r${n}`);
    }
    await this.save();
  }

  async theyHave(accountId, feature) {
    const person = await this.person(accountId).catch(() => null);
    return Boolean(person && Array.isArray(person.features) && person.features.includes(feature));
  }

  /** A change to a message (docs/protocol.md section 11): applied here at once, then sent. */
  async change(convId, content) {
    const conv = this.state.convs[convId];
    content.id = clientId();
    content.ts = Date.now();
    const feature = CHANGES[content.msgtype];
    if (!(await this.theyHave(conv.with, feature))) content.fallback = fallbackFor(content);
    this.applyChange(conv, this.state.me.account, content, content.ts);
    await this.deliver(conv.with, convId, content, content.id);
    await this.save();
  }

  /** Sets the conversation's colour for every member device (docs/protocol.md section 11.1). */
  async setTheme(convId, colour) {
    const conv = this.state.convs[convId];
    const content = { id: clientId(), ts: Date.now(), msgtype: "theme", body: "", theme: { colour } };
    if (!(await this.theyHave(conv.with, "themes"))) content.fallback = `🎨 changed the conversation's colour to ${colour}`;
    conv.theme = { colour, by: this.state.me.account };
    conv.themeTs = content.ts;
    this.emit("message", { conv: convId, message: null });
    await this.deliver(conv.with, convId, content, content.id);
    await this.save();
  }

  react(convId, target, emoji) {
    return this.change(convId, { msgtype: "reaction", body: emoji, in_reply_to: refTo(target) });
  }

  edit(convId, target, text) {
    return this.change(convId, { msgtype: "edit", body: text, replaces: target.id });
  }

  remove(convId, target) {
    return this.change(convId, { msgtype: "delete", body: "", replaces: target.id });
  }

  /** Applies a reaction, edit or delete from `sender` to its target, by the rules of section 11.1. */
  applyChange(conv, sender, content, ts) {
    const ref = content.msgtype === "reaction" ? content.in_reply_to && content.in_reply_to.id : content.replaces;
    const target = conv.messages.find(
      (m) => m.id === ref && (content.msgtype === "reaction" || m.from === sender),
    );
    if (!target || target.deleted) return;
    if (content.msgtype === "reaction") {
      target.reactions = { ...(target.reactions || {}) };
      if (content.body) target.reactions[sender] = String(content.body).slice(0, 64);
      else delete target.reactions[sender];
    } else if (content.msgtype === "edit") {
      if (target.editedTs && ts < target.editedTs) return;
      target.body = String(content.body);
      target.edited = true;
      target.editedTs = ts;
    } else if (content.msgtype === "delete") {
      target.deleted = true;
      target.body = "";
      target.reactions = {};
      target.replyTo = undefined;
    }
    this.emit("message", { conv: conv.conv, message: target });
  }

  async deliver(accountId, conv, content, id, onSent = () => {}, type = "p.msg") {
    if (this.state.convs[conv] && this.state.convs[conv].kind === "group") {
      return this.sendGroup(conv, type, content, id, onSent);
    }
    for (let attempt = 0; ; attempt++) {
      const refresh = attempt > 0;
      const targets = [
        ...(await this.devicesOf(accountId, refresh)).map((d) => ({ account: accountId, ...d })),
        ...(await this.devicesOf(this.state.me.account, refresh))
          .filter((d) => d.device_id !== this.state.me.device)
          .map((d) => ({ account: this.state.me.account, ...d })),
      ];
      const payloads = await this.encryptFor(targets, { type, conv, content }); // stored before they come
      try {
        return await this.submit({ t: "send", id, to: accountId, payloads }, onSent);
      } catch (err) {
        if (err.code !== "stale_devices" || attempt > 0) throw err;
      }
    }
  }

  /**
   * Olm envelopes of `plaintext` for each target device, by device id. The worker encrypts them all
   * in one call and stores its sessions before it hands them over (section 13.3: persisted before
   * the envelopes can leave); a device with no session and no one-time key is skipped.
   */
  async encryptFor(targets, plaintext) {
    const keys = new Map();
    const need = new Map();
    const lacking = new Set(await this.device.withoutSession(targets.map((d) => d.curve25519)));
    for (const d of targets) {
      if (lacking.has(d.curve25519)) need.set(d.account, [...(need.get(d.account) || []), d.device_id]);
    }
    for (const [account, deviceIds] of need) {
      const claim = await this.rest.post("/v1/keys/claim", { account_id: account, device_ids: deviceIds });
      for (const d of claim.devices) {
        const known = targets.find((t) => t.device_id === d.device_id);
        if (known && d.one_time_key && known.ed25519 === d.ed25519) {
          keys.set(d.device_id, (await this.device.verifyOneTimeKey(known, d.one_time_key)).key);
        }
      }
    }
    const me = this.state.me;
    const sealed = await this.device.seal(
      targets.map((d) => ({ account: d.account, device_id: d.device_id, curve25519: d.curve25519, ed25519: d.ed25519, otk: keys.get(d.device_id) })),
      plaintext,
      { account: me.account, device: me.device },
    );
    for (const deviceId of sealed.skipped) this.emit("problem", `no key to start a session with device ${deviceId}; it is skipped`);
    return sealed.payloads;
  }

  submit(frame, onSent) {
    return new Promise((resolve, reject) => {
      const entry = { frame, resolve, reject, onSent, generation: undefined };
      this.pending.set(frame.id, entry);
      this.socket.send(frame).then((generation) => {
        entry.generation = generation;
      }, reject);
    });
  }

  // --- receiving ------------------------------------------------------------------------------

  has(feature) {
    return this.app.features.includes(feature);
  }

  async onDeliver(items) {
    let upto = null;
    const delivered = new Map(); // "conv to" -> [mid]
    for (const item of items) {
      try {
        if (item.kind === "msg" && (await this.onMessage(item)) && item.from !== this.state.me.account) {
          const key = `${item.conv} ${item.from}`;
          delivered.set(key, [...(delivered.get(key) || []), item.mid]);
        } else if (item.kind === "receipt") this.onReceipt(item);
        else if (item.kind === "member") await this.onMember(item);
        else if (item.kind === "timer" && item.body && Number.isInteger(item.body.timer)) {
          const conv = this.state.convs[item.conv] || this.remember(item.conv, item.from === this.state.me.account ? await this.otherMember(item.conv) : item.from);
          this.onTimer(conv, item.from, item.body.timer);
        }
        else if (item.kind === "device") this.devices.delete(item.from); // its device list changed
      } catch (err) {
        if (!err.quiet) this.emit("problem", `a message from ${this.nameOf(item.from)} could not be read: ${err.message}`);
      }
      upto = item.pos;
    }
    if (upto !== null) {
      await this.save(); // what we read is stored before the server may delete it
      await this.socket.send({ t: "ack", upto });
    }
    if (!this.has("receipts")) return;
    for (const [key, mids] of delivered) {
      const [conv, to] = key.split(" ");
      for (let i = 0; i < mids.length; i += RECEIPT_CHUNK) {
        await this.socket.send({ t: "receipt", conv, to, kind: "delivered", ids: mids.slice(i, i + RECEIPT_CHUNK) });
      }
    }
  }

  /** A receipt from the other person: my messages it names were delivered or read. */
  onReceipt(item) {
    const conv = this.state.convs[item.conv];
    const { kind, ids } = item.body || {};
    if (!conv || !Array.isArray(ids) || !["delivered", "read"].includes(kind)) return;
    const mine = item.from === this.state.me.account;
    const group = conv.kind === "group";
    for (const m of conv.messages) {
      if (!ids.includes(m.mid)) continue;
      if (mine && !m.mine && kind === "read") m.read = true; // read on another of my devices
      else if (!mine && m.mine && group && RANK[kind] > (RANK[(m.receipts || {})[item.from]] || 0)) {
        m.receipts = { ...(m.receipts || {}), [item.from]: kind }; // in a group, each member's
        if (RANK[kind] > (RANK[m.status] || 0)) m.status = kind;
      } else if (!mine && m.mine && !group && RANK[kind] > (RANK[m.status] || 0)) m.status = kind;
      else continue;
      this.emit("message", { conv: conv.conv, message: m });
    }
  }

  /** Tells the senders that their messages in `conv` were read here (and marks them read). */
  async markRead(convId) {
    const conv = this.state.convs[convId];
    if (!conv || conv.request) return; // a request is read only once accepted
    const unread = conv.messages.filter((m) => !m.mine && !m.read && m.mid !== undefined && !m.notice);
    if (unread.length === 0) return;
    for (const m of unread) m.read = true;
    await this.save();
    if (!this.has("receipts") || this.state.readReceipts === false) return;
    const bySender = new Map(); // in a group, each sender gets the receipt for their own messages
    for (const m of unread) if (m.from !== this.state.me.account) bySender.set(m.from, [...(bySender.get(m.from) || []), m.mid]);
    for (const [to, mids] of bySender) {
      for (let i = 0; i < mids.length; i += RECEIPT_CHUNK) {
        await this.socket.send({ t: "receipt", conv: convId, to, kind: "read", ids: mids.slice(i, i + RECEIPT_CHUNK) });
      }
    }
  }

  async setTyping(convId, typing) {
    if (this.has("typing") && this.socket) await this.socket.send({ t: "typing", conv: convId, typing });
  }

  /** Decrypts one message item; true when it was a chat message (shown now, or already shown). */
  async onMessage(item) {
    const env = item.body;
    // Megolm bodies are deduplicated by (sender key, session, index): a device named in a group send's
    // payloads gets its Olm envelope and the body under the same mid.
    if (env && env.algorithm === MEGOLM) return this.onGroupBody(item, env);
    if (item.mid !== undefined && this.state.seen.includes(item.mid)) return false;
    const mine = env && env.ciphertext && env.ciphertext[this.device.curve25519];
    if (!env || env.algorithm !== "m.olm.v1.curve25519-aes-sha2" || !mine) {
      throw new Error("not an Olm envelope for this device");
    }
    let sender = (await this.devicesOf(item.from)).find((d) => d.device_id === item.dev);
    if (!sender) sender = (await this.devicesOf(item.from, true)).find((d) => d.device_id === item.dev);
    if (!sender) throw new Error("unknown sender device");
    if (env.sender_key !== sender.curve25519) throw new Error("the envelope's sender key is not the device's");
    const me = this.state.me;
    let plain = null;
    // the binding of section 6, checked in the worker before the session moves on
    const binding = { sender: item.from, sender_device: item.dev, ed25519: sender.ed25519, recipient: me.account, conv: item.conv };
    try {
      plain = JSON.parse(await this.device.decrypt(sender.curve25519, mine.type, mine.body, binding));
    } catch (err) {
      // No session decrypts it (ours was lost, or theirs): start a fresh one and ask for it again.
      if (!err.binding) this.later(() => this.recover(item, sender));
      throw err;
    }
    if (item.mid !== undefined) {
      this.state.seen.push(item.mid);
      if (this.state.seen.length > 2000) this.state.seen.splice(0, 1000);
    }
    if (plain.type === "p.room_key") {
      const key = plain.content || {};
      if (key.algorithm !== MEGOLM || key.conv !== item.conv) throw new Error("a room key for another group");
      await this.device.addRoomKey(sender.curve25519, item.from, item.dev, item.conv, String(key.session_id), String(key.session_key));
      const conv = this.state.convs[item.conv] || (await this.learnGroup(item.conv));
      this.keyGroupState(conv, key.group);
      await this.retryPending(sender.curve25519, String(key.session_id));
      return false;
    }
    if (plain.type === "p.forwarded_room_key") {
      // docs/protocol.md section 10.4: accepted only from the session's own sender device
      const key = plain.content || {};
      if (key.conv !== item.conv || key.sender_key !== sender.curve25519 || typeof key.exported_key !== "string") {
        throw new Error("a forwarded group key that is not its sender's own");
      }
      const conv = this.state.convs[item.conv] || (await this.learnGroup(item.conv));
      await this.device.addForwardedKey(sender.curve25519, item.from, item.dev, item.conv, String(key.session_id), key.exported_key);
      this.keyGroupState(conv, key.group);
      await this.retryPending(sender.curve25519, String(key.session_id));
      return false;
    }
    if (plain.type === "p.key_request") {
      const request = plain.content || {};
      this.later(() => this.answerKeyRequest(item.conv, sender, item.from, request));
      return false;
    }
    if (plain.type === "p.story" || plain.type === "p.story_seen") {
      if (plain.type === "p.story") this.onStory(item, plain.content || {}, item.from === me.account);
      else this.onStorySeen(item, plain.content || {});
      await this.person(item.from).catch(() => null);
      return false;
    }
    if (plain.type === "p.resend") {
      const request = plain.content || {};
      if (!request.device || request.device === me.device) this.later(() => this.resend(item.conv, request));
      return false;
    }
    if (plain.type !== "p.msg") return false;
    const content = plain.content || {};
    const fromMe = item.from === me.account;
    const other = fromMe ? await this.otherMember(item.conv) : item.from;
    await this.person(other).catch(() => null);
    const known = item.conv in this.state.convs;
    const conv = this.remember(item.conv, other);
    // Only I (or another device of mine) can accept a request: asked for a new conversation, and
    // again at most once a minute while it waits, not for every message (it was 5-50 ms each).
    const stale = conv.request && Date.now() - (conv.requestCheckedAt || 0) > 60_000;
    if (!fromMe && (!known || stale)) await this.checkRequest(conv);
    const problem = fromMe ? null : this.businesses.checkDeclared(item.from, env.biz, content);
    const shown = this.showContent(conv, item, content, fromMe);
    const message = problem && conv.messages.find((m) => m.id === content.id && m.from === item.from);
    if (message) {
      message.mismatch = problem; // shown with the message, and reported (docs/protocol.md section 15.4)
      this.emit("message", { conv: conv.conv, message });
    }
    return shown;
  }

  /** Shows or applies the content of a p.msg (1:1 or group) from `item`; true when it is a chat message. */
  showContent(conv, item, content, fromMe) {
    if (conv.messages.some((m) => m.id === content.id && m.from === item.from)) return true;
    if (content.msgtype === "theme") {
      const theme = content.theme || {};
      if (typeof theme.colour === "string" && /^#[0-9a-fA-F]{6}$/.test(theme.colour) && !(conv.themeTs > item.ts)) {
        conv.theme = { colour: theme.colour, by: item.from };
        conv.themeTs = item.ts;
      }
      if (this.has("themes")) {
        this.emit("message", { conv: conv.conv, message: null });
        return true;
      }
    }
    const feature = CHANGES[content.msgtype];
    const att = content.attachment;
    const shows = content.msgtype === "voice" ? this.has("voice") : this.has("media");
    if (MEDIA.includes(content.msgtype) && att && typeof att.blob === "string" && shows) {
      const attachment = { kind: content.msgtype, blob: att.blob, mime: String(att.mime || ""), size: Number(att.size),
        key: String(att.key), nonce: String(att.nonce), sha256: String(att.sha256), name: String(att.name || "").slice(0, 255) };
      if (Number.isInteger(att.duration_ms)) attachment.duration_ms = att.duration_ms;
      const caption = typeof content.body === "string" && content.body !== standIn(content.msgtype, attachment.name, attachment.duration_ms) ? content.body : "";
      this.addMessage(conv, { id: content.id, mid: item.mid, from: item.from, body: caption, ts: item.ts, mine: fromMe, attachment }, fromMe ? "sent" : "received");
      return true;
    }
    if (feature && this.has(feature)) {
      this.applyChange(conv, item.from, content, item.ts);
      return true;
    }
    const body = typeof content.body === "string" ? content.body : "";
    let text = content.msgtype === "text" ? body : content.fallback || fallbackFor(content);
    const message = { id: content.id, mid: item.mid, from: item.from, body: text, ts: item.ts, mine: fromMe };
    const cloud = content.msgtype === "text" && !fromMe && this.businesses.isBusiness(item.from) ? keptCloud(content.cloud) : null;
    if (cloud) {
      // a business's content (docs/business.md section 6); without buttons, its choices numbered (section 11.3)
      message.cloud = cloud;
      const shown = this.has(INTERACTIVE) ? null : numbered(cloud, body);
      if (shown !== null) message.body = shown;
    }
    const ref = content.in_reply_to;
    if (content.msgtype === "text" && ref && typeof ref.id === "string") {
      if (this.has("reply")) message.replyTo = { id: ref.id, sender: ref.sender, quote: String(ref.quote || "").slice(0, 80) };
      else message.body = content.fallback || `↩️ replying to “${String(ref.quote || "").slice(0, 80)}”: ${body}`;
    }
    if (typeof content.ttl === "number") message.ttl = content.ttl;
    if (content.msgtype === "text" && Array.isArray(content.mentions) && this.has("mention")) {
      const length = [...message.body].length;
      message.mentions = content.mentions
        .filter((m) => m && typeof m.account === "string" && Number.isInteger(m.offset) && Number.isInteger(m.length))
        .filter((m) => m.offset >= 0 && m.length > 0 && m.offset + m.length <= length)
        .slice(0, 50);
    }
    this.addMessage(conv, message, fromMe ? "sent" : "received");
    return true;
  }

  addMessage(conv, message, status) {
    if (!(RANK[message.status] > RANK[status])) message.status = status;
    if (!message.notice && message.expiresAt === undefined) message.expiresAt = expiry(message.ts, conv.timer, message.ttl);
    if (!conv.messages.includes(message)) {
      conv.messages.push(message);
      if (conv.messages.length > MAX_MESSAGES) conv.messages.splice(0, conv.messages.length - MAX_MESSAGES);
    }
    this.emit("message", { conv: conv.conv, message });
  }
}
