// The public protocol (docs/protocol.md): REST calls and the WebSocket, nothing else.

export class ApiError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    Object.assign(this, extra);
  }
}

export class Rest {
  constructor(base = "") {
    this.base = base;
    this.token = null;
  }

  async fetch(method, path, { body, headers = {} } = {}) {
    const all = { ...headers };
    if (this.token) all.Authorization = `Bearer ${this.token}`;
    let resp;
    try {
      resp = await fetch(this.base + path, { method, headers: all, body });
    } catch {
      throw new ApiError(0, "offline", "The server cannot be reached. Check your connection.");
    }
    if (!resp.ok) {
      const data = await resp.json().catch(() => null);
      const err = (data && data.error) || {};
      throw new ApiError(resp.status, err.code || "internal", err.message || `HTTP ${resp.status}`, err);
    }
    return resp;
  }

  /** Raw bytes in (an upload chunk) or out (a download). */
  async bytes(method, path, body, headers) {
    const resp = await this.fetch(method, path, { body, headers });
    return new Uint8Array(await resp.arrayBuffer());
  }

  async call(method, path, body) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let resp;
    try {
      resp = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, "offline", "The server cannot be reached. Check your connection.");
    }
    if (resp.status === 204) return null;
    const data = await resp.json().catch(() => null);
    if (!resp.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(resp.status, err.code || "internal", err.message || `HTTP ${resp.status}`, err);
    }
    return data;
  }

  get(path) {
    return this.call("GET", path);
  }

  post(path, body) {
    return this.call("POST", path, body);
  }
}

/**
 * One WebSocket to /v1/ws that reconnects by itself (backoff up to 10 s). `onFrame` gets every server
 * frame; `onState` gets "connecting" | "online" | "offline". Sends wait for the connection.
 */
export class Socket {
  constructor(url, token, { onFrame, onState }) {
    this.url = url;
    this.token = token;
    this.onFrame = onFrame;
    this.onState = onState;
    this.ws = null;
    this.ready = false;
    this.waiting = [];
    this.delay = 500;
    this.closed = false;
    this.generation = 0; // how many times the connection was welcomed
  }

  start() {
    this.onState("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ t: "hello", token: this.token, v: 1 }));
    ws.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.t === "welcome") {
        this.ready = true;
        this.generation += 1;
        this.delay = 500;
        this.onState("online");
        for (const resolve of this.waiting.splice(0)) resolve();
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => {
      this.ready = false;
      if (this.closed) return;
      if (event.code === 4001) {
        this.onState("unauthorized");
        return;
      }
      this.onState("offline");
      setTimeout(() => this.start(), this.delay);
      this.delay = Math.min(this.delay * 2, 10_000);
    };
  }

  /** Writes the frame once the connection is welcomed; returns the connection's generation. */
  async send(frame) {
    while (!this.ready) await new Promise((resolve) => this.waiting.push(resolve));
    this.ws.send(JSON.stringify(frame));
    return this.generation;
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close(1000);
  }
}
