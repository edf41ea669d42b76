// The code interpreter (docs/code-interpreter.md) of machines from the code-interpreter
// template: m.code.run() runs code in a stateful context (Python, R or Bash) and
// resolves an Execution with its results (MIME bundles, chart and DataFrame data), logs
// and error. The same surface as the Python SDK's m.code.
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
    const body = { code };
    if (opts.language !== undefined) body.language = opts.language;
    if (opts.context !== undefined) body.context = cid(opts.context);
    if (opts.env !== undefined) body.env = opts.env;
    if (opts.timeoutS !== undefined) body.timeout_s = opts.timeoutS;
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
