// The code interpreter (docs/code-interpreter.md) of machines from the code-interpreter
// template: m.code.run() runs code in a stateful context (Python, R, JavaScript,
// TypeScript, Java or Bash) and resolves an Execution with its results (MIME bundles,
// chart and DataFrame data), logs and error; m.code.start() starts a run and resolves
// a CodeRun at once. The same surface as the Python SDK's m.code.
import { errorFor } from "./errors.js";

/** The fields of a result: one per MIME type, or our typed forms (chart, data). */
export const RESULT_FORMATS = ["text", "html", "markdown", "png", "jpeg", "svg", "pdf", "latex", "json", "javascript", "chart", "data", "extra"];

/** One displayed value: isMainResult and the formats present (undefined when absent). */
export class Result {
  constructor(doc) {
    this.raw = doc;
    this.isMainResult = Boolean(doc.is_main_result);
    for (const f of RESULT_FORMATS) this[f] = doc[f] ?? undefined;
  }

  /** The formats this result has, in RESULT_FORMATS order. */
  formats() {
    return RESULT_FORMATS.filter((f) => this.raw[f] !== undefined && this.raw[f] !== null);
  }
}

/** A finished run: results, logs {stdout, stderr}, error ({name, value, traceback} or
 * null), executionCount, context (its context's ID when the daemon said). */
export class Execution {
  constructor(doc = {}) {
    this.results = (doc.results || []).map((r) => new Result(r));
    this.logs = { stdout: [...(doc.logs?.stdout || [])], stderr: [...(doc.logs?.stderr || [])] };
    this.error = doc.error || null;
    this.executionCount = doc.execution_count ?? null;
    this.context = doc.context ?? null;
  }

  /** The main result's text (the value of the last expression), or undefined. */
  get text() {
    return this.results.find((r) => r.isMainResult)?.text;
  }
}

const cid = (context) => (typeof context === "string" ? context : context.id);

/** A run's request from run()'s or start()'s options. */
function runBody(code, opts) {
  const body = { code };
  if (opts.language !== undefined) body.language = opts.language;
  if (opts.context !== undefined) body.context = cid(opts.context);
  if (opts.env !== undefined) body.env = opts.env;
  if (opts.timeoutS !== undefined) body.timeout_s = opts.timeoutS;
  return body;
}

const ENDED = ["succeeded", "failed", "cancelled"];

/** An asynchronous run (m.code.start): id, state (queued, running, succeeded, failed,
 * cancelled), context, language, createdAt, startedAt, endedAt, execution (what it
 * produced so far, once fetched) and artifacts ({id, name, size, mimeType, source}). */
export class CodeRun {
  constructor(code, doc) {
    this.code = code;
    this.update(doc);
  }

  update(doc) {
    this.id = doc.id;
    this.state = doc.state;
    this.context = doc.context;
    this.language = doc.language;
    this.createdAt = doc.created_at;
    this.startedAt = doc.started_at ?? null;
    this.endedAt = doc.ended_at ?? null;
    this.execution = doc.execution ? new Execution(doc.execution) : null;
    this.artifacts = (doc.artifacts || []).map((a) => ({ id: a.id, name: a.name, size: a.size, mimeType: a.mime_type, source: a.source }));
  }

  get done() {
    return ENDED.includes(this.state);
  }

  path(suffix = "") {
    return this.code.path(`/runs/${encodeURIComponent(this.id)}${suffix}`);
  }

  /** Fetches the run again, waiting up to waitS (at most 60) for it to end. */
  async refresh(waitS = 0) {
    this.update(await this.code.machine.client.request("GET", this.path(), { query: { wait_s: waitS || undefined }, wait: true }));
    return this;
  }

  /** Waits for the run to end (or timeoutS to pass); resolves its Execution. */
  async wait(timeoutS) {
    const deadline = timeoutS === undefined ? undefined : Date.now() + timeoutS * 1000;
    await this.refresh();
    while (!this.done) {
      const left = deadline === undefined ? 60 : (deadline - Date.now()) / 1000;
      if (left <= 0) break;
      await this.refresh(Math.min(60, Math.max(1, Math.floor(left))));
    }
    return this.execution;
  }

  /** Cancels the run (a queued one never starts, a running one is interrupted);
   * resolves false when it had already ended. */
  async cancel() {
    const r = await this.code.machine.client.request("POST", this.path("/cancel"));
    this.state = r.state ?? this.state;
    return Boolean(r.cancelled);
  }

  /** Forgets the ended run and deletes its artifacts. */
  async delete() {
    await this.code.machine.client.request("DELETE", this.path());
  }

  /** An artifact's bytes (an artifact or its ID) as a Buffer. */
  readArtifact(artifact) {
    const aid = typeof artifact === "string" ? artifact : artifact.id;
    return this.code.machine.client.request("GET", this.path(`/artifacts/${encodeURIComponent(aid)}`), { decode: false, wait: true });
  }

  /** Streams an artifact into a local file. */
  async downloadArtifact(artifact, file) {
    const aid = typeof artifact === "string" ? artifact : artifact.id;
    await this.code.machine.client.download(this.path(`/artifacts/${encodeURIComponent(aid)}`), {}, file);
    return file;
  }
}

/** Splits a fetch body into lines, each handed to onLine as parsed JSON. */
async function eachLine(body, onLine) {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) onLine(JSON.parse(line));
    }
  }
  if (pending.trim()) onLine(JSON.parse(pending));
}

/** m.code: runs and contexts of a machine's code interpreter. Errors are the daemon's
 * typed errors (CodeInterpreterNotAvailableError, CodeContextNotFoundError, ...). */
export class Code {
  constructor(machine) {
    this.machine = machine;
  }

  path(suffix) {
    return this.machine.path(`/code${suffix}`);
  }

  /** Runs code in opts.context (a context or its ID), else in the default context of
   * opts.language (python). opts.env: this run's environment (never code text);
   * opts.timeoutS: interrupt it after this long (default 300, 0: never). With any of
   * onStdout/onStderr (each chunk), onResult (each Result) or onError, the run is
   * streamed and they are called as it happens. */
  async run(code, opts = {}) {
    const body = runBody(code, opts);
    const c = this.machine.client;
    if (!(opts.onStdout || opts.onStderr || opts.onResult || opts.onError))
      return new Execution(await c.request("POST", this.path("/run"), { body, wait: true }));
    body.stream = true;
    const r = await c.open("POST", this.path("/run"), body);
    const ex = new Execution();
    let ended = false;
    await eachLine(r.body, (line) => {
      if (line.type === "stdout" || line.type === "stderr") {
        ex.logs[line.type].push(line.text);
        (line.type === "stdout" ? opts.onStdout : opts.onStderr)?.(line.text);
      } else if (line.type === "result") {
        const { type, ...doc } = line;
        const res = new Result(doc);
        ex.results.push(res);
        opts.onResult?.(res);
      } else if (line.type === "error") {
        const { type, ...err } = line;
        ex.error = err;
        opts.onError?.(err);
      } else if (line.type === "number_of_executions") {
        ex.executionCount = line.execution_count;
      } else if (line.type === "end_of_execution") {
        ended = true;
      }
    });
    if (!ended) throw errorFor("internal", "the run's stream ended before the run did");
    return ex;
  }

  /** Starts a run and resolves its CodeRun at once (the options as run()'s, without the
   * callbacks). The code finds its artifacts directory in $NULLSPACE_ARTIFACTS_DIR. */
  async start(code, opts = {}) {
    const body = runBody(code, opts);
    return new CodeRun(this, await this.machine.client.request("POST", this.path("/runs"), { body, wait: true }));
  }

  /** The machine's asynchronous runs, newest first (without their output). */
  async listRuns() {
    return (await this.machine.client.request("GET", this.path("/runs"))).map((d) => new CodeRun(this, d));
  }

  /** A run by ID (waiting up to waitS for it to end). */
  getRun(runId, waitS = 0) {
    return new CodeRun(this, { id: runId }).refresh(waitS);
  }

  /** A new context (its own interpreter, isolated from the others): {id, language, cwd}. */
  createContext({ language = "python", cwd, env } = {}) {
    const body = { language };
    if (cwd !== undefined) body.cwd = cwd;
    if (env !== undefined) body.env = env;
    return this.machine.client.request("POST", this.path("/contexts"), { body, wait: true });
  }

  listContexts() {
    return this.machine.client.request("GET", this.path("/contexts"));
  }

  one(context, suffix = "") {
    return this.path(`/contexts/${encodeURIComponent(cid(context))}${suffix}`);
  }

  /** Stops the context's interpreter and forgets it. */
  async deleteContext(context) {
    await this.machine.client.request("DELETE", this.one(context));
  }

  /** A fresh interpreter for the context (its state is lost; same ID). */
  restartContext(context) {
    return this.machine.client.request("POST", this.one(context, "/restart"), { wait: true });
  }

  /** Interrupts the context's run under way; resolves whether there was one. */
  async interrupt(context) {
    return Boolean((await this.machine.client.request("POST", this.one(context, "/interrupt"))).interrupted);
  }
}
