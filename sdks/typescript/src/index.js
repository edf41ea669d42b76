// The Nullspace SDK for Node.js (20+): machines, commands, files and PTYs over the
// daemon's HTTP API and its WebSocket streams (docs/websocket-protocol.md). Errors are
// NullspaceError with the stable `code` of docs/errors.md. Types: index.d.ts.
import { execFileSync, spawn } from "node:child_process";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { Code } from "./code.js";
import { Desktop } from "./desktop.js";
import { errorFor, NullspaceError } from "./errors.js";

const EARLY_MAX = 4096; // events kept per channel before listen()

export * from "./errors.js"; // NullspaceError, one class per code, errorFor (generated)
export { Code, CodeRun, Execution, Result, RESULT_FORMATS } from "./code.js";
export { Desktop } from "./desktop.js";

/** The config file's grammar, the CLI's and the Python SDK's too (docs/configuration.md):
 * `key = value` lines, blanks around both trimmed; a line whose first non-blank character
 * is '#' is a comment ('#' anywhere else belongs to the value); a value in matching quotes
 * loses them; a later line wins; any other line throws, naming FILE:LINE. */
export function parseConfig(text, file = "config") {
  const out = {};
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/^[ \t\r]+|[ \t\r]+$/g, "");
    if (!line || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    if (eq < 0) throw new Error(`${file}:${i + 1}: expected key = value`);
    let v = line.slice(eq + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (v.length >= 2 && v[0] === v[v.length - 1] && `"'`.includes(v[0])) v = v.slice(1, -1);
    out[line.slice(0, eq).replace(/^[ \t]+|[ \t]+$/g, "")] = v;
  });
  return out;
}

function configFile() {
  const file =
    process.env.NULLSPACE_CONFIG ||
    path.join(process.env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config"), "nullspace", "config");
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return {}; // no file: defaults
  }
  return parseConfig(text, file);
}

function stateKey() {
  try {
    const dir = process.env.NULLSPACE_STATE_DIR || "/var/lib/nullspace";
    return fs.readFileSync(path.join(dir, "api-key"), "utf8").split("\n")[0].trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Where the daemon is, with the CLI's precedence: options > environment > config > defaults. */
export function resolveConfig(opts = {}) {
  let apiUrl = opts.apiUrl || process.env.NULLSPACE_API_URL;
  let apiKey = opts.apiKey || process.env.NULLSPACE_API_KEY;
  if (!apiUrl || !apiKey) {
    const cfg = configFile();
    apiUrl = apiUrl || cfg.api_url;
    apiKey = apiKey || cfg.api_key;
  }
  return { apiUrl: (apiUrl || "http://127.0.0.1:7700").replace(/\/+$/, ""), apiKey: apiKey || stateKey() };
}

export class Client {
  /** opts.timeoutMs bounds each ordinary request (default 600 s, like the Python SDK's).
   * Requests that wait for an operation (create, hibernate, resume, fork, snapshot, a
   * foreground command) wait as long as it takes unless opts.waitTimeoutMs is given. */
  constructor(opts = {}) {
    Object.assign(this, resolveConfig(opts));
    this.timeoutMs = opts.timeoutMs ?? 600000;
    this.waitTimeoutMs = opts.waitTimeoutMs;
  }

  async request(method, urlPath, { body, query, raw, wait = false, decode = true } = {}) {
    const url = new URL(this.apiUrl + urlPath);
    for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
    const headers = {};
    if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`;
    let data;
    if (body !== undefined) {
      data = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    } else if (raw !== undefined) {
      data = raw;
      headers["Content-Type"] = "application/octet-stream";
    }
    const limit = wait ? this.waitTimeoutMs : this.timeoutMs;
    let r;
    try {
      r = await fetch(url, { method, headers, body: data, signal: limit === undefined ? undefined : AbortSignal.timeout(limit) });
    } catch (e) {
      if (e.name === "TimeoutError")
        throw errorFor("request_timeout", `gave up after ${limit} ms waiting for the daemon to answer ${method} ${urlPath}; it may still complete it (raise the client's ${wait ? "waitTimeoutMs" : "timeoutMs"})`);
      throw errorFor("connection_failed", `cannot reach ${this.apiUrl}: ${e.cause?.message || e.message}`);
    }
    const isJson = (r.headers.get("content-type") || "").startsWith("application/json") && (decode || r.status >= 400);
    const payload = isJson ? await r.json() : Buffer.from(await r.arrayBuffer());
    if (r.status >= 400) {
      const e = (isJson && payload.error) || {};
      throw errorFor(e.code || "internal", e.message || `HTTP ${r.status}`, r.status, e.request_id);
    }
    return payload;
  }

  /** Sends a JSON request whose answer is read as a stream (NDJSON): resolves the fetch
   * Response once its head is in (no time limit: the stream lasts as long as its work),
   * or throws the typed error of an error answer. */
  async open(method, urlPath, body) {
    const headers = { "Content-Type": "application/json" };
    if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`;
    let r;
    try {
      r = await fetch(new URL(this.apiUrl + urlPath), { method, headers, body: JSON.stringify(body) });
    } catch (e) {
      throw errorFor("connection_failed", `cannot reach ${this.apiUrl}: ${e.cause?.message || e.message}`);
    }
    if (r.status >= 400) {
      const e = (await r.json().catch(() => ({}))).error || {};
      throw errorFor(e.code || "internal", e.message || `HTTP ${r.status}`, r.status, e.request_id);
    }
    return r;
  }

  /** Streams the answer of GET urlPath into the file `dest`; resolves its size. */
  async download(urlPath, query, dest, onProgress) {
    const url = new URL(this.apiUrl + urlPath);
    for (const [k, v] of Object.entries(query || {})) url.searchParams.set(k, String(v));
    let r;
    try {
      r = await fetch(url, { headers: this.apiKey ? { Authorization: `Bearer ${this.apiKey}` } : {} });
    } catch (e) {
      throw errorFor("connection_failed", `cannot reach ${this.apiUrl}: ${e.cause?.message || e.message}`);
    }
    if (r.status >= 400) {
      const e = (await r.json().catch(() => ({}))).error || {};
      throw errorFor(e.code || "internal", e.message || `HTTP ${r.status}`, r.status, e.request_id);
    }
    const out = fs.createWriteStream(dest);
    let got = 0;
    for await (const chunk of r.body) {
      if (!out.write(chunk)) await new Promise((ok) => out.once("drain", ok));
      got += chunk.length;
      onProgress?.(got, null);
    }
    await new Promise((ok, fail) => out.end((e) => (e ? fail(e) : ok())));
    return got;
  }

  /** A WebSocket session (Streams) on this daemon. */
  async streams() {
    const s = new Streams(this.apiUrl.replace(/^http/, "ws") + "/v1/ws", this.apiKey);
    await s.opened;
    return s;
  }
}

/** Every item of a paginated list (all pages): GET path?cursor&limit, items in page[key]. */
async function allPages(c, path, key, query = {}) {
  const out = [];
  let cursor;
  do {
    const page = await c.request("GET", path, { query: { ...query, cursor, limit: 1000 } });
    out.push(...page[key]);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

/** The /v1/ws protocol: call() answers requests; channel output goes to listeners. */
export class Streams {
  constructor(url, apiKey) {
    this.ws = new WebSocket(url, { headers: apiKey ? { Authorization: `Bearer ${apiKey}` } : {} });
    this.pending = new Map();
    this.channels = new Map();
    this.early = new Map(); // channel -> events that came before listen() (replayed by it)
    this.nextId = 0;
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", resolve);
      this.ws.once("error", reject);
    });
    this.ws.on("message", (data, isBinary) => this.#onMessage(data, isBinary));
    this.ws.on("close", () => {
      for (const { reject } of this.pending.values()) reject(errorFor("connection_failed", "the session closed"));
      this.pending.clear();
      for (const ch of this.channels.values()) ch.onEnd?.({ type: "detached", reason: "session_closed" });
      this.channels.clear();
    });
  }

  // Output can arrive in the same read as the reply that names its channel, before the
  // caller had a chance to listen(): it is kept until then.
  #deliver(channel, fn) {
    const ch = this.channels.get(channel);
    if (ch) fn(ch);
    else if (channel !== undefined) {
      if (!this.early.has(channel)) this.early.set(channel, []);
      const q = this.early.get(channel);
      if (q.length < EARLY_MAX) q.push(fn); // a channel nobody listens to is not kept past this
    }
  }

  #onMessage(data, isBinary) {
    if (isBinary) {
      const bytes = Buffer.from(data.subarray(5));
      this.#deliver(data.readUInt32BE(1), (ch) => ch.onData?.(data[0], bytes));
      return;
    }
    const msg = JSON.parse(data.toString());
    if (msg.id !== undefined && this.pending.has(msg.id) && ["reply", "error", "pong"].includes(msg.type)) {
      const { resolve, reject } = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.type === "error") reject(errorFor(msg.error.code, msg.error.message, undefined, msg.error.request_id));
      else resolve(msg);
      return;
    }
    this.#deliver(msg.channel, (ch) => {
      if (msg.type === "exit" || msg.type === "detached") {
        this.channels.delete(msg.channel);
        ch.onEnd?.(msg);
      } else {
        ch.onMessage?.(msg);
      }
    });
  }

  /** Sends a request; resolves with its reply, rejects with its NullspaceError. */
  call(type, fields = {}) {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ ...fields, type, id }));
    });
  }

  /** Listens to a channel: onData(stream, bytes), onMessage(msg), onEnd(exit|detached). */
  listen(channel, handlers) {
    this.channels.set(channel, handlers);
    const early = this.early.get(channel) || [];
    this.early.delete(channel);
    for (const fn of early) if (this.channels.get(channel) === handlers) fn(handlers);
  }

  stdin(channel, data) {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(channel, 1);
    this.ws.send(Buffer.concat([head, Buffer.from(data)]));
  }

  close() {
    this.ws.close();
  }
}

/** Follows a channel to its end: resolves {stdout, stderr, end}. */
function follow(s, channel, onStdout, onStderr) {
  const out = { 1: [], 2: [] };
  return new Promise((resolve) => {
    s.listen(channel, {
      onData(stream, bytes) {
        out[stream]?.push(Buffer.from(bytes));
        const cb = stream === 1 ? onStdout : onStderr;
        cb?.(Buffer.from(bytes).toString());
      },
      onEnd(end) {
        resolve({ stdout: Buffer.concat(out[1]).toString(), stderr: Buffer.concat(out[2]).toString(), end });
      },
    });
  });
}

export class CommandHandle {
  constructor(machine, pid, tag, opts = {}) {
    Object.assign(this, { machine, pid, tag, opts });
  }

  /** Follows the process to its end (replaying what it printed); resolves a CommandResult. */
  async wait() {
    const s = await this.machine.client.streams();
    try {
      const r = await s.call("process.attach", { machine: this.machine.id, pid: this.pid });
      const done = follow(s, r.channel, this.opts.onStdout, this.opts.onStderr);
      const { stdout, stderr, end } = await done;
      if (end.type === "detached") throw errorFor("machine_busy", `detached: ${end.reason}`);
      return { stdout, stderr, exitCode: end.exit_code, info: end };
    } finally {
      s.close();
    }
  }

  kill(signal = "KILL") {
    return this.machine.commands.kill(this.pid, signal);
  }

  sendStdin(data, eof = false) {
    return this.machine.commands.sendStdin(this.pid, data, eof);
  }
}

class Commands {
  constructor(m) {
    this.m = m;
  }

  /** Runs a command; resolves {stdout, stderr, exitCode, info}, or a CommandHandle with background. */
  async run(cmd, opts = {}) {
    const spec = typeof cmd === "string" ? { cmd } : { argv: cmd };
    for (const [k, v] of [["env", opts.env], ["cwd", opts.cwd], ["user", opts.user], ["timeout_s", opts.timeoutS]])
      if (v !== undefined) spec[k] = v;
    if (opts.background) {
      if (opts.tag) spec.tag = opts.tag;
      const p = await this.m.client.request("POST", this.m.path("/processes"), { body: spec });
      return new CommandHandle(this.m, p.pid, p.tag, opts);
    }
    if (!opts.onStdout && !opts.onStderr) {
      if (opts.stdin !== undefined) spec.stdin = opts.stdin;
      const r = await this.m.client.request("POST", this.m.path("/exec"), { body: spec, wait: true });
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exit_code, info: r };
    }
    const s = await this.m.client.streams();
    try {
      const r = await s.call("exec", { machine: this.m.id, stdin: opts.stdin !== undefined, ...spec });
      const done = follow(s, r.channel, opts.onStdout, opts.onStderr);
      if (opts.stdin !== undefined) {
        s.stdin(r.channel, opts.stdin);
        s.stdin(r.channel, "");
      }
      const { stdout, stderr, end } = await done;
      return { stdout, stderr, exitCode: end.exit_code, info: end };
    } finally {
      s.close();
    }
  }

  connect(pid, opts = {}) {
    return new CommandHandle(this.m, pid, "", opts);
  }

  async list() {
    return (await this.m.client.request("GET", this.m.path("/processes"))).processes;
  }

  sendStdin(pid, data, eof = false) {
    const body = { data: Buffer.from(data).toString("base64"), encoding: "base64", eof };
    return this.m.client.request("POST", this.m.path(`/processes/${pid}/stdin`), { body });
  }

  kill(pid, signal = "KILL") {
    return this.m.client.request("POST", this.m.path(`/processes/${pid}/signal`), { body: { signal: String(signal) } });
  }

  logs(pid) {
    return this.m.client.request("GET", this.m.path(`/processes/${pid}/logs`));
  }
}

class Files {
  constructor(m) {
    this.m = m;
  }

  async read(p) {
    return (await this.readBytes(p)).toString();
  }

  readBytes(p) {
    return this.m.client.request("GET", this.m.path("/files"), { query: { path: p } });
  }

  write(p, data, mode) {
    return this.m.client.request("PUT", this.m.path("/files"), { query: { path: p, mode }, raw: Buffer.from(data) });
  }

  list(p, depth = 1) {
    return this.m.client.request("GET", this.m.path("/files/list"), { query: { path: p, depth } });
  }

  async exists(p) {
    return (await this.m.client.request("GET", this.m.path("/files/exists"), { query: { path: p } })).exists;
  }

  remove(p) {
    return this.m.client.request("DELETE", this.m.path("/files"), { query: { path: p } });
  }

  rename(p, to) {
    return this.m.client.request("POST", this.m.path("/files/rename"), { body: { path: p, to } });
  }

  /** Sets permission bits (a number like 0o755, or octal text like "755"). */
  chmod(p, mode) {
    return this.m.client.request("POST", this.m.path("/files/chmod"), { body: { path: p, mode: typeof mode === "number" ? mode.toString(8) : mode } });
  }

  /** Writes many small files in one request: [{ path, data }] (at most 512 KiB of body). */
  writeFiles(files) {
    const body = files.map((f) => ({ path: f.path, content: Buffer.from(f.data).toString("base64"), encoding: "base64" }));
    return this.m.client.request("POST", this.m.path("/files/batch"), { body: { files: body } });
  }

  makeDir(p) {
    return this.m.client.request("POST", this.m.path("/files/mkdir"), { body: { path: p } });
  }

  /** Copies the local file `local` to `remote` as a resumable upload: pieces of
   * `pieceSize` bytes; a failed piece is retried (up to `retries` times) from the offset
   * the daemon holds; the SHA-256 is checked at the end. onProgress(done, total). */
  async uploadFile(local, remote, { onProgress, pieceSize = 8 << 20, retries = 5 } = {}) {
    const c = this.m.client;
    const st = fs.statSync(local);
    const hash = createHash("sha256");
    for await (const chunk of fs.createReadStream(local)) hash.update(chunk);
    const u = await c.request("POST", this.m.path("/uploads"), {
      body: { path: remote, size: st.size, sha256: hash.digest("hex"), mode: (st.mode & 0o777).toString(8) },
    });
    const up = this.m.path(`/uploads/${u.id}`);
    const fd = fs.openSync(local, "r");
    try {
      let offset = 0;
      for (let tries = 0; offset < st.size; ) {
        const n = Math.min(pieceSize, st.size - offset);
        const piece = Buffer.alloc(n);
        fs.readSync(fd, piece, 0, n, offset);
        try {
          offset = (await c.request("PUT", up, { query: { offset }, raw: piece })).offset;
          tries = 0;
          onProgress?.(offset, st.size);
        } catch (e) {
          if (!["connection_failed", "request_timeout", "shutting_down"].includes(e.code) || ++tries > retries) throw e;
          await new Promise((ok) => setTimeout(ok, Math.min(200 * 2 ** tries, 5000)));
          offset = (await c.request("GET", up)).offset;
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    return c.request("POST", `${up}/complete`, { wait: true });
  }

  /** Streams the file `remote` into the local file `local`; resolves its size. */
  downloadFile(remote, local, { onProgress } = {}) {
    return this.m.client.download(this.m.path("/files"), { path: remote }, local, onProgress);
  }

  /** Copies a local directory's tree beneath `remote` (a tar stream made with tar(1)). */
  async uploadDir(localDir, remote) {
    const tarBytes = await new Promise((ok, fail) => {
      const p = spawn("tar", ["-C", localDir, "-cf", "-", "."]);
      const parts = [];
      p.stdout.on("data", (d) => parts.push(d));
      p.on("error", fail);
      p.on("close", (code) => (code === 0 ? ok(Buffer.concat(parts)) : fail(new Error(`tar exited ${code}`))));
    });
    return this.m.client.request("PUT", this.m.path("/files"), { query: { path: remote, format: "tar" }, raw: tarBytes });
  }

  /** Copies the tree beneath `remote` into `localDir` (a tar stream unpacked with tar(1)). */
  async downloadDir(remote, localDir, { onProgress } = {}) {
    fs.mkdirSync(localDir, { recursive: true });
    const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ns-dl-")), "tree.tar");
    try {
      await this.m.client.download(this.m.path("/files"), { path: remote, format: "tar" }, tmp, onProgress);
      execFileSync("tar", ["-C", localDir, "-xf", tmp]);
    } finally {
      fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
    }
  }

  /** Watches a directory: onEvent({type, path, is_dir, from?}); resolves a handle with close(). */
  async watch(p, onEvent, { recursive = false } = {}) {
    const s = await this.m.client.streams();
    const r = await s.call("watch", { ...this.m.owner(), path: p, recursive });
    s.listen(r.channel, { onMessage: (msg) => msg.type === "watch" && onEvent(msg.event) });
    return { close: () => s.close() };
  }
}

export class PtyHandle {
  constructor(machine, s, reply) {
    Object.assign(this, { machine, s, pid: reply.pid, channel: reply.channel, output: [], exit: null });
    this.waiters = [];
    s.listen(this.channel, {
      onData: (_, bytes) => {
        this.output.push(Buffer.from(bytes));
        this.#wake();
      },
      onEnd: (end) => {
        this.exit = end;
        this.#wake();
      },
    });
  }

  #wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Everything the terminal printed so far. */
  read() {
    return Buffer.concat(this.output);
  }

  /** Resolves once `text` appeared in the output (rejects after timeoutMs). */
  async waitFor(text, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.read().includes(text)) {
      if (this.exit || Date.now() > deadline) throw new Error(`${JSON.stringify(text)} did not appear`);
      await new Promise((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return this.read();
  }

  sendStdin(data) {
    this.s.stdin(this.channel, data);
  }

  resize(cols, rows) {
    return this.s.call("process.resize", { machine: this.machine.id, pid: this.pid, cols, rows });
  }

  async kill() {
    await this.s.call("process.signal", { machine: this.machine.id, pid: this.pid, signal: "KILL" });
    while (!this.exit) await new Promise((r) => this.waiters.push(r));
    return this.exit;
  }

  /** Detaches; the session runs on (reconnect with machine.pty.connect(pid)). */
  close() {
    this.s.close();
  }
}

class Pty {
  constructor(m) {
    this.m = m;
  }

  async create({ cols = 80, rows = 24, cmd, tag } = {}) {
    const s = await this.m.client.streams();
    const fields = { machine: this.m.id, pty: true, cols, rows };
    if (cmd) fields[typeof cmd === "string" ? "cmd" : "argv"] = cmd;
    if (tag) fields.tag = tag;
    return new PtyHandle(this.m, s, await s.call("process.start", fields));
  }

  async connect(pid) {
    const s = await this.m.client.streams();
    return new PtyHandle(this.m, s, await s.call("process.attach", { machine: this.m.id, pid }));
  }
}

export class Machine {
  constructor(client, info) {
    this.client = client;
    this.info = info;
    this.id = info.id;
    this.commands = new Commands(this);
    this.files = new Files(this);
    this.pty = new Pty(this);
    this.code = new Code(this);
    this.desktop = new Desktop(this);
  }

  get state() {
    return this.info.state;
  }

  path(suffix = "") {
    return `/v1/machines/${encodeURIComponent(this.id)}${suffix}`;
  }

  owner() {
    return { machine: this.id };
  }

  static async create(opts = {}) {
    const { apiUrl, apiKey, timeoutMs, waitTimeoutMs, client, template = "base", ...fields } = opts;
    const c = client || new Client({ apiUrl, apiKey, timeoutMs, waitTimeoutMs });
    const body = fields.snapshot ? fields : { template, ...fields };
    return new Machine(c, await c.request("POST", "/v1/machines", { body, wait: true }));
  }

  static async connect(id, opts = {}) {
    const c = opts.client || new Client(opts);
    return new Machine(c, await c.request("GET", `/v1/machines/${encodeURIComponent(id)}`));
  }

  static async list(opts = {}) {
    const c = opts.client || new Client(opts);
    return (await allPages(c, "/v1/machines", "machines", { state: opts.state })).map((m) => new Machine(c, m));
  }

  async refresh() {
    this.info = await this.client.request("GET", this.path());
    return this;
  }

  async kill() {
    this.info = await this.client.request("DELETE", this.path());
  }

  async hibernate() {
    this.info = await this.client.request("POST", this.path("/hibernate"), { wait: true });
  }

  /** Continues a paused machine (milliseconds) or restores a hibernated one. */
  async resume() {
    this.info = await this.client.request("POST", this.path("/resume"), { wait: true });
  }

  /** Stops the machine in memory: processes, sessions and connections wait; any request
   * (with auto_resume) or resume() continues it. */
  async pause() {
    this.info = await this.client.request("POST", this.path("/pause"));
  }

  async setTimeout(timeoutS) {
    this.info = await this.client.request("POST", this.path("/timeout"), { body: { timeout_s: timeoutS } });
  }

  async fork(count = 1, metadata) {
    const body = metadata ? { count, metadata } : { count };
    const r = await this.client.request("POST", this.path("/fork"), { body, wait: true });
    return r.machines.map((m) => new Machine(this.client, m));
  }

  snapshot(name) {
    return this.client.request("POST", this.path("/snapshots"), { body: { name }, wait: true });
  }

  /** A signed URL reaching `port` through the daemon: { url, path_url, token, port,
   * expires_at, public, public_url? } (docs/networking.md). */
  preview(port, opts = {}) {
    const body = { port };
    if (opts.expiresInS !== undefined) body.expires_in_s = opts.expiresInS;
    if (opts.public !== undefined) body.public = opts.public;
    return this.client.request("POST", this.path("/previews"), { body });
  }

  /** A short-lived OpenSSH certificate for `publicKey` (one public key line) on this
   * machine: { certificate, known_hosts, principal, expires_at, ... } (docs/access.md). */
  sshCertificate(publicKey, opts = {}) {
    const body = { public_key: publicKey };
    if (opts.user !== undefined) body.user = opts.user;
    if (opts.ttlS !== undefined) body.ttl_s = opts.ttlS;
    if (opts.agentForwarding !== undefined) body.agent_forwarding = opts.agentForwarding;
    return this.client.request("POST", this.path("/ssh"), { body });
  }

  /** Just the preview URL of `port` (host-routed). */
  async getUrl(port, opts = {}) {
    return (await this.preview(port, opts)).url;
  }

  /** Usage now ({cpu_ns, memory_bytes, memory_limit_bytes, disk_bytes}), or with
   * opts.since (ms since the epoch; 0: all) the samples kept since then:
   * {interval_ms, capacity, points: [{ts, cpu_ns, memory_bytes, disk_bytes, net_rx_bytes, net_tx_bytes}]}. */
  metrics(opts = {}) {
    return this.client.request("GET", this.path("/metrics"), { query: { since: opts.since } });
  }

  /** The machine's lifecycle events, oldest first. */
  events() {
    return allPages(this.client, this.path("/events"), "events");
  }

  /** The address and egress policy as last fetched (null: no network). */
  get network() {
    return this.info.network ?? null;
  }

  /** Changes the egress policy (only the fields given), also while the machine runs. */
  async setNetwork(policy) {
    this.info = await this.client.request("PUT", this.path("/network"), { body: policy });
    return this.info.network;
  }
}

/** Snapshots: spawn machines from one with Machine.create({ snapshot: id }). */
export const Snapshot = {
  async list(opts = {}) {
    const c = opts.client || new Client(opts);
    return allPages(c, "/v1/snapshots", "snapshots");
  },
  get(id, opts = {}) {
    return (opts.client || new Client(opts)).request("GET", `/v1/snapshots/${encodeURIComponent(id)}`);
  },
  delete(id, opts = {}) {
    return (opts.client || new Client(opts)).request("DELETE", `/v1/snapshots/${encodeURIComponent(id)}`);
  },
};

/** A volume: a filesystem that outlives machines and is shared between them. Mount it
 * with Machine.create({ volumes: [vol.mount("/data")] }); its files without a machine are
 * in `files` (the same calls as a machine's). */
export class Volume {
  constructor(client, info) {
    this.client = client;
    this.info = info;
    this.id = info.id;
    this.name = info.name;
    this.files = new Files(this);
  }

  path(suffix = "") {
    return `/v1/volumes/${encodeURIComponent(this.id)}${suffix}`;
  }

  owner() {
    return { volume: this.id };
  }

  static async create(name, opts = {}) {
    const { sizeMb = 1024, metadata, client, ...rest } = opts;
    const c = client || new Client(rest);
    const body = { name, size_mb: sizeMb };
    if (metadata) body.metadata = metadata;
    return new Volume(c, await c.request("POST", "/v1/volumes", { body, wait: true }));
  }

  static async get(ref, opts = {}) {
    const c = opts.client || new Client(opts);
    return new Volume(c, await c.request("GET", `/v1/volumes/${encodeURIComponent(ref)}`));
  }

  static async list(opts = {}) {
    const c = opts.client || new Client(opts);
    return (await allPages(c, "/v1/volumes", "volumes")).map((v) => new Volume(c, v));
  }

  async refresh() {
    this.info = await this.client.request("GET", this.path());
    return this;
  }

  async delete() {
    await this.client.request("DELETE", this.path(), { wait: true });
  }

  mount(path, { subpath, readOnly = false } = {}) {
    const m = { volume: this.id, path, read_only: readOnly };
    if (subpath) m.subpath = subpath;
    return m;
  }
}

/** Secrets: values go in (set) and never come back out; machines that name them get them
 * as environment variables. */
export class Secret {
  constructor(client, info) {
    this.client = client;
    this.info = info;
    this.name = info.name;
  }

  static path(name) {
    return `/v1/secrets/${encodeURIComponent(name)}`;
  }

  static async set(name, value, opts = {}) {
    const c = opts.client || new Client(opts);
    return new Secret(c, await c.request("PUT", Secret.path(name), { body: { value } }));
  }

  static async get(name, opts = {}) {
    const c = opts.client || new Client(opts);
    return new Secret(c, await c.request("GET", Secret.path(name)));
  }

  static async list(opts = {}) {
    const c = opts.client || new Client(opts);
    return (await allPages(c, "/v1/secrets", "secrets")).map((s) => new Secret(c, s));
  }

  async delete() {
    await this.client.request("DELETE", Secret.path(this.name));
  }
}

/** The lifecycle log: list it, follow it live, or watch usage samples (monitor). */
export const Events = {
  /** Every stored event matching opts.type ("machine.running" or "machine.*"),
   * opts.subject, opts.sinceSeq, opts.since (ms), oldest first. */
  list(opts = {}) {
    const c = opts.client || new Client(opts);
    return allPages(c, "/v1/events", "events", { type: opts.type, subject: opts.subject, since_seq: opts.sinceSeq, since: opts.since });
  },

  /** Calls onEvent(event) for each event as it happens (after opts.sinceSeq: stored ones
   * first); opts.type and opts.machine filter. Resolves { close() } once subscribed. */
  async follow(onEvent, opts = {}) {
    const c = opts.client || new Client(opts);
    const s = await c.streams();
    const fields = {};
    if (opts.type) fields.event_type = opts.type;
    if (opts.machine) fields.machine = opts.machine;
    if (opts.sinceSeq !== undefined) fields.since_seq = opts.sinceSeq;
    try {
      const r = await s.call("events.subscribe", fields);
      s.listen(r.channel, { onMessage: (msg) => msg.type === "event" && onEvent(msg.event) });
    } catch (e) {
      s.close();
      throw e;
    }
    return { close: () => s.close() };
  },

  /** Calls onMessage(kind, doc) with "sample" every opts.intervalMs (1000) for each watched
   * running machine (opts.machines; all when absent), "event" for their lifecycle events
   * and "process" when a process in one starts or exits. Resolves { close() } once
   * subscribed. */
  async monitor(onMessage, opts = {}) {
    const c = opts.client || new Client(opts);
    const s = await c.streams();
    try {
      const r = await s.call("monitor.subscribe", { machines: opts.machines || [], interval_ms: opts.intervalMs ?? 1000 });
      s.listen(r.channel, {
        onMessage: (msg) => {
          if (msg.type !== "monitor") return;
          for (const kind of ["sample", "event", "process", "progress"]) if (msg[kind]) onMessage(kind, msg[kind]);
        },
      });
    } catch (e) {
      s.close();
      throw e;
    }
    return { close: () => s.close() };
  },
};

/** An endpoint events are delivered to, signed per Standard Webhooks. `secret` is set
 * right after create and rotateSecret only. */
export class Webhook {
  constructor(client, info) {
    this.client = client;
    this.info = info;
    this.id = info.id;
    this.secret = info.secret;
  }

  path(suffix = "") {
    return `/v1/webhooks/${encodeURIComponent(this.id)}${suffix}`;
  }

  /** opts.events: types or families (["machine.*"]); all when absent. */
  static async create(url, opts = {}) {
    const { events, enabled = true, description, client, ...rest } = opts;
    const c = client || new Client(rest);
    const body = { url, enabled };
    if (events) body.events = events;
    if (description !== undefined) body.description = description;
    return new Webhook(c, await c.request("POST", "/v1/webhooks", { body }));
  }

  static async get(id, opts = {}) {
    const c = opts.client || new Client(opts);
    return new Webhook(c, await c.request("GET", `/v1/webhooks/${encodeURIComponent(id)}`));
  }

  static async list(opts = {}) {
    const c = opts.client || new Client(opts);
    return (await allPages(c, "/v1/webhooks", "webhooks")).map((w) => new Webhook(c, w));
  }

  /** Changes url, events, enabled or description. */
  async update(fields) {
    this.info = await this.client.request("PATCH", this.path(), { body: fields });
    return this;
  }

  async delete() {
    await this.client.request("DELETE", this.path());
  }

  async rotateSecret() {
    this.info = await this.client.request("POST", this.path("/rotate-secret"));
    this.secret = this.info.secret;
    return this.secret;
  }

  async test() {
    await this.client.request("POST", this.path("/test"));
  }

  /** Its deliveries, newest first, each with its attempt_log. */
  deliveries() {
    return allPages(this.client, this.path("/deliveries"), "deliveries");
  }

  redeliver(deliveryId) {
    return this.client.request("POST", this.path(`/deliveries/${encodeURIComponent(deliveryId)}/redeliver`));
  }
}

/** Checks a delivery as its receiver got it (headers: any case; body: the raw bytes or
 * string). Throws unless a v1 signature matches HMAC-SHA256 of "id.timestamp.body" under
 * the secret and the timestamp is within toleranceS of now. Returns the webhook-id
 * (deduplicate on it). */
export function verifyWebhook(secret, headers, body, { toleranceS = 300, now = Date.now() / 1000 } = {}) {
  const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
  const id = h["webhook-id"], ts = h["webhook-timestamp"], sigs = h["webhook-signature"];
  if (!id || !ts || !sigs || !/^\d+$/.test(ts)) throw new Error("missing or malformed webhook headers");
  if (Math.abs(now - Number(ts)) > toleranceS) throw new Error("timestamp outside the tolerance");
  const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
  const mac = createHmac("sha256", key).update(`${id}.${ts}.`).update(Buffer.from(body)).digest("base64");
  const want = Buffer.from(`v1,${mac}`);
  const ok = sigs.split(" ").some((s) => s.length === want.length && timingSafeEqual(Buffer.from(s), want));
  if (!ok) throw new Error("no signature matches");
  return id;
}

/** A build that ended failed: `build` is its record (error, step), `logs` its log lines. */
export class BuildFailedError extends NullspaceError {
  constructor(build, logs) {
    super("build_failed", build.error || "the build failed");
    this.build = build;
    this.logs = logs;
  }
}

const tplPath = (ref, suffix = "") => `/v1/templates/${encodeURIComponent(ref).replace(/%3A/g, ":")}${suffix}`;

/** Templates: build reusable environments, name them, keep warm pools (docs/templates.md).
 * Machines start from one with Machine.create({ template: "name[:tag]" }). */
export const Template = {
  /** Uploads a build context (a directory, packed with tar, or tar bytes); its context_id. */
  async uploadContext(context, opts = {}) {
    const c = opts.client || new Client(opts);
    const raw = typeof context === "string"
      ? execFileSync("tar", ["-C", context, "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", "."], { maxBuffer: 1 << 30 })
      : context;
    return (await c.request("PUT", "/v1/templates/contexts", { raw })).context_id;
  },

  /** Builds `name` from { dockerfile } or { steps, from }, with an optional context (a
   * directory or tar bytes); onLog(line) sees the log as it comes. Resolves to the
   * template (wait: false: the build record at once); a failed build rejects with
   * BuildFailedError. */
  async build(name, opts = {}) {
    const { client, apiUrl, apiKey, timeoutMs, waitTimeoutMs, context, onLog, wait = true, ...fields } = opts;
    const c = client || new Client({ apiUrl, apiKey, timeoutMs, waitTimeoutMs });
    const body = { name, ...fields };
    if (context !== undefined) body.context_id = await Template.uploadContext(context, { client: c });
    const b = await c.request("POST", "/v1/templates/builds", { body });
    if (!wait) return b;
    const logs = await Template.logs(b.id, { client: c, follow: true, onLog });
    const done = await c.request("GET", `/v1/templates/builds/${b.id}`);
    if (done.state !== "ready") throw new BuildFailedError(done, logs);
    return Template.get(done.template, { client: c });
  },

  /** The build's log lines from the start (follow: until it ends). */
  async logs(buildId, opts = {}) {
    const c = opts.client || new Client(opts);
    const out = [];
    let cursor = 0;
    for (;;) {
      const page = await c.request("GET", `/v1/templates/builds/${buildId}/logs`, { query: { cursor } });
      for (const l of page.logs) {
        out.push(l);
        opts.onLog?.(l);
      }
      const more = page.next_cursor !== cursor;
      cursor = page.next_cursor;
      if (page.done || (!opts.follow && !more)) return out;
      if (!more) await new Promise((ok) => setTimeout(ok, 300));
    }
  },

  get(ref, opts = {}) {
    return (opts.client || new Client(opts)).request("GET", tplPath(ref));
  },

  async list(opts = {}) {
    const c = opts.client || new Client(opts);
    return allPages(c, "/v1/templates", "templates");
  },

  delete(ref, opts = {}) {
    return (opts.client || new Client(opts)).request("DELETE", tplPath(ref));
  },

  /** Gives the template another name or tag. */
  alias(ref, newName, opts = {}) {
    return (opts.client || new Client(opts)).request("POST", tplPath(ref, "/aliases"), { body: { name: newName } });
  },

  /** Keeps `size` machines of the template ready (0 drains the pool). */
  setPool(ref, size, opts = {}) {
    return (opts.client || new Client(opts)).request("PUT", tplPath(ref, "/pool"), { body: { size } });
  },

  /** Frees the disk old builds hold (build cache, uploads, unused images, layers); the
   * counts removed. Rejects with code "conflict" while a build is under way. */
  prune(opts = {}) {
    const body = { older_than_s: opts.olderThanS ?? 0 };
    return (opts.client || new Client(opts)).request("POST", "/v1/templates/prune", { body });
  },
};

/** A project's files as git sees them (every .gitignore, .nullspaceignore at the top)
 * packed with tar; without git, all but .git. */
function projectTar(dir) {
  const tarOwned = ["--owner=0", "--group=0", "--numeric-owner"];
  let files;
  try {
    const g = fs.mkdtempSync(path.join(os.tmpdir(), "ns-git-"));
    try {
      execFileSync("git", ["init", "-q", g]);
      const args = ["--git-dir", path.join(g, ".git"), "--work-tree", ".", "ls-files", "-z", "--others", "--exclude-standard"];
      if (fs.existsSync(path.join(dir, ".nullspaceignore"))) args.push("--exclude-from=.nullspaceignore");
      files = execFileSync("git", args, { cwd: dir, maxBuffer: 1 << 28 });
    } finally {
      fs.rmSync(g, { recursive: true, force: true });
    }
  } catch (e) {
    if (e.code !== "ENOENT") throw e;
    return execFileSync("tar", ["-C", dir, ...tarOwned, "--exclude-vcs", "-cf", "-", "."], { maxBuffer: 1 << 30 });
  }
  return execFileSync("tar", ["-C", dir, ...tarOwned, "--null", "--no-recursion", "-T", "-", "-cf", "-"], { input: files, maxBuffer: 1 << 30 });
}

const depPath = (name, suffix = "") => `/v1/deployments/${encodeURIComponent(name)}${suffix}`;
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** A job's run: id, state (starting, running, succeeded, failed, cancelled), exitCode,
 * error, machineId, retained; info is the whole record. */
export class Run {
  constructor(client, info) {
    this.client = client;
    this.set(info);
  }

  set(info) {
    this.info = info;
    this.id = info.id;
    this.deployment = info.deployment;
    this.state = info.state;
    this.exitCode = info.exit_code;
    this.error = info.error;
    this.machineId = info.machine_id;
    this.retained = info.retained;
  }

  get path() {
    return depPath(this.deployment, `/runs/${encodeURIComponent(this.id)}`);
  }

  get active() {
    return this.state === "starting" || this.state === "running";
  }

  async refresh() {
    this.set(await this.client.request("GET", this.path));
    return this;
  }

  /** Its log from byte `offset` on (what is there now), as text. */
  async logs(offset = 0) {
    const parts = [];
    for (;;) {
      const page = await this.client.request("GET", `${this.path}/logs`, { query: { offset } });
      if (!page.length) return Buffer.concat(parts).toString();
      parts.push(page);
      offset += page.length;
    }
  }

  /** Waits until the run ends (rejects past timeoutMs); onOutput(text) gets its output as
   * it comes. Resolves the run. */
  async wait({ timeoutMs = 3600000, onOutput } = {}) {
    const end = Date.now() + timeoutMs;
    let offset = 0;
    for (;;) {
      const page = await this.client.request("GET", `${this.path}/logs`, { query: { offset } });
      if (page.length) {
        offset += page.length;
        onOutput?.(page.toString());
        continue;
      }
      if (!(await this.refresh()).active) {
        const rest = await this.logs(offset); // what came between the last page and the record
        if (rest) onOutput?.(rest);
        return this;
      }
      if (Date.now() > end) throw errorFor("request_timeout", `run ${this.id} is still ${this.state}`);
      await sleep(250);
    }
  }

  /** Cancels it while it runs, or destroys its retained machine now. */
  async cancel() {
    this.set(await this.client.request("POST", `${this.path}/cancel`));
    return this;
  }
}

/** Deployments: a project directory deployed as a named job (docs/deployments.md). Each
 * deploy builds a revision that goes live when ready; each run is a fresh machine. */
export class Deployment {
  constructor(client, info) {
    this.client = client;
    this.info = info;
    this.name = info.name;
    this.kind = info.kind;
    this.revision = info.revision;
    this.url = info.url;
    this.machineId = info.machine_id;
  }

  /** A service's live output: its machine's start process's { stdout, stderr }. */
  async logs() {
    const d = await Deployment.get(this.name, { client: this.client });
    const r = await this.client.request("GET", `/v1/machines/${d.machineId}/processes/start/logs`);
    return { stdout: r.stdout, stderr: r.stderr };
  }

  /** Deploys a new revision of job `name`: { directory, command | argv, from, dockerfile,
   * steps, env, secrets, vcpus, memory_mb, timeout_s, schedule, retain_failed_s,
   * concurrency, runtime, no_cache } (the API's fields; directory is packed as git sees
   * it). Resolves the deployment once the revision is live (BuildFailedError when its
   * build failed), or with wait: false the new revision's record at once. */
  static async deploy(name, opts = {}) {
    const { client, apiUrl, apiKey, timeoutMs, waitTimeoutMs, directory, onLog, wait = true, ...fields } = opts;
    const c = client || new Client({ apiUrl, apiKey, timeoutMs, waitTimeoutMs });
    const body = { name, kind: "job", ...fields };
    const service = body.kind === "service";
    if (directory !== undefined) body.context_id = (await c.request("PUT", "/v1/templates/contexts", { raw: projectTar(directory) })).context_id;
    let rev = await c.request("POST", "/v1/deployments", { body });
    if (!wait) return rev;
    const logs = await Template.logs(rev.build_id, { client: c, follow: true, onLog });
    while (rev.state === "building") {
      await sleep(200);
      rev = await c.request("GET", depPath(name, `/revisions/${rev.number}`));
    }
    if (rev.state !== "ready") throw new BuildFailedError(await c.request("GET", `/v1/templates/builds/${rev.build_id}`), logs);
    let d = await Deployment.get(name, { client: c });
    while (service && d.revision !== rev.number) {
      const latest = d.info.latest_revision;
      if (latest.number !== rev.number || latest.state === "failed") throw new NullspaceError("unhealthy", latest.error || "unhealthy");
      await sleep(200);
      d = await Deployment.get(name, { client: c });
    }
    return d;
  }

  static async get(name, opts = {}) {
    const c = opts.client || new Client(opts);
    return new Deployment(c, await c.request("GET", depPath(name)));
  }

  static async list(opts = {}) {
    const c = opts.client || new Client(opts);
    return (await allPages(c, "/v1/deployments", "deployments")).map((d) => new Deployment(c, d));
  }

  /** Its revisions' records, newest first. */
  revisions() {
    return allPages(this.client, depPath(this.name, "/revisions"), "revisions");
  }

  /** Makes revision number `revision` (ready) the live one. */
  async rollback(revision) {
    let d = await this.client.request("POST", depPath(this.name, "/rollback"), { body: { revision } });
    while (d.revision !== revision) {
      // a service whose machine of that revision is gone: live once a new one is healthy
      const rev = await this.client.request("GET", depPath(this.name, `/revisions/${revision}`));
      if (rev.state === "failed") throw new NullspaceError("unhealthy", rev.error || "unhealthy");
      await sleep(200);
      d = await this.client.request("GET", depPath(this.name));
    }
    Object.assign(this, new Deployment(this.client, d));
    return this;
  }

  /** Starts a run from the live revision (starting). */
  async run() {
    return new Run(this.client, await this.client.request("POST", depPath(this.name, "/runs")));
  }

  /** Its runs, newest first. */
  async runs() {
    return (await allPages(this.client, depPath(this.name, "/runs"), "runs")).map((r) => new Run(this.client, r));
  }

  async getRun(id) {
    return new Run(this.client, await this.client.request("GET", depPath(this.name, `/runs/${encodeURIComponent(id)}`)));
  }

  /** Deletes it: runs cancelled, machines destroyed, logs and revisions removed. */
  async delete() {
    await this.client.request("DELETE", depPath(this.name));
  }
}
