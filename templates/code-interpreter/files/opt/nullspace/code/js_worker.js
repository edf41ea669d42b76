// A JavaScript or TypeScript context (js_kernel.py starts it): one long-lived Node.js
// whose globals carry from run to run. No Jupyter kernel for Node is packaged in
// Debian, so this is our own small worker.
//
// A run arrives as one JSON line on the request pipe ({code, env}); TypeScript is
// transpiled first (Debian's node-typescript: no type checking). The code is parsed
// (Debian's node-acorn) and its top-level declarations become globals, so the next run
// sees them and may declare them again, as in a notebook. Code without top-level
// await or import runs as a script, interruptible by SIGINT even in an endless loop;
// otherwise it runs in an async function, and SIGINT abandons the wait. The value of
// a last expression statement is the main result; display(x) shows x (a MIME bundle
// when every key is a MIME type). Results, errors and the end go to the control pipe
// as JSON lines (worker_kernel.py); what the code prints goes to stdout and stderr.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const url = require('url');
const util = require('util');
const vm = require('vm');
const Module = require('module');

const CTL = Number(process.env.NSCODE_CTL_FD);
const REQ = Number(process.env.NSCODE_REQ_FD);
delete process.env.NSCODE_CTL_FD;
delete process.env.NSCODE_REQ_FD;
const TYPESCRIPT = process.argv[2] === 'typescript';

function load(name) {
  try {
    return require(name);
  } catch (e) {
    return require('/usr/share/nodejs/' + name);
  }
}

const acorn = load('acorn');
let ts = null;

function tell(msg) {
  const data = Buffer.from(JSON.stringify(msg) + '\n');
  for (let off = 0; off < data.length;) off += fs.writeSync(CTL, data, off);
}

// ---- what the code sees ----

const userRequire = Module.createRequire(path.join(process.cwd(), '[nullspace]'));

function resolveForImport(spec) {
  if (spec.startsWith('node:') || Module.builtinModules.includes(spec)) return spec;
  return url.pathToFileURL(userRequire.resolve(spec)).href;
}

// import x from 'm' in a run: CommonJS through require (its exports are the default
// too), ES modules through import()
async function importModule(spec) {
  try {
    const m = userRequire(spec);
    if (m && m.__esModule) return m;
    return Object.assign(Object.create(null), m, { default: m });
  } catch (e) {
    if (e.code !== 'ERR_REQUIRE_ESM') throw e;
    return import(resolveForImport(spec));
  }
}

function isBundle(x) {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return false;
  const keys = Object.keys(x);
  return keys.length > 0 && keys.every((k) => /^[a-z]+\/[-+.\w]+$/.test(k));
}

function bundleOf(value) {
  if (isBundle(value)) {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = Buffer.isBuffer(v) ? v.toString('base64') : v;
    }
    return out;
  }
  return { 'text/plain': inspect(value) };
}

function inspect(value) {
  return util.inspect(value, { depth: 4, maxArrayLength: 200, breakLength: 100 });
}

function display(value) {
  tell({ t: 'result', bundle: bundleOf(value), main: false });
}
display.html = (s) => display({ 'text/html': String(s) });
display.markdown = (s) => display({ 'text/markdown': String(s) });
display.svg = (s) => display({ 'image/svg+xml': String(s) });
display.png = (b) => display({ 'image/png': Buffer.isBuffer(b) ? b.toString('base64') : b });
display.json = (v) => display({ 'application/json': v });

Object.assign(globalThis, { require: userRequire, display });

// ---- turning a run's code into what runs ----

const PARSE = {
  ecmaVersion: 'latest', sourceType: 'script', allowAwaitOutsideFunction: true,
  allowImportExportEverywhere: true, allowHashBang: true,
};

function names(pattern, out) {
  if (!pattern) return out;
  switch (pattern.type) {
    case 'Identifier': out.push(pattern.name); break;
    case 'ObjectPattern':
      for (const p of pattern.properties) names(p.type === 'RestElement' ? p.argument : p.value, out);
      break;
    case 'ArrayPattern': for (const e of pattern.elements) names(e, out); break;
    case 'RestElement': names(pattern.argument, out); break;
    case 'AssignmentPattern': names(pattern.left, out); break;
    default: break;
  }
  return out;
}

// whether the code awaits at its top level (not inside a function of its own)
function awaits(node) {
  if (!node || typeof node.type !== 'string') return false;
  if (/Function/.test(node.type)) return false;
  if (node.type === 'AwaitExpression' || (node.type === 'ForOfStatement' && node.await)) return true;
  for (const key of Object.keys(node)) {
    const v = node[key];
    if (Array.isArray(v)) {
      if (v.some(awaits)) return true;
    } else if (v && typeof v.type === 'string' && awaits(v)) return true;
  }
  return false;
}

function unexport(stmt) {
  if (stmt.type === 'ExportNamedDeclaration' || stmt.type === 'ExportDefaultDeclaration') {
    return stmt.declaration && stmt.declaration.type !== 'Literal' ? stmt.declaration : null;
  }
  return stmt;
}

// acorn's error, told as Node tells a syntax error: where, the line, a caret
function parse(code, filename) {
  try {
    return acorn.parse(code, PARSE);
  } catch (e) {
    if (!(e instanceof SyntaxError) || !e.loc) throw e;
    const line = code.split('\n')[e.loc.line - 1] || '';
    const err = new SyntaxError(e.message.replace(/ \(\d+:\d+\)$/, ''));
    err.stack = filename + ':' + e.loc.line + '\n' + line + '\n' + ' '.repeat(e.loc.column) +
      '^\n\nSyntaxError: ' + err.message;
    throw err;
  }
}

// Returns {hoist: [names], source, async}: the code with its top-level declarations
// made assignments to globals (hoisted with var), and, when async, wrapped in an async
// function whose return value is the last expression's.
function transform(code, filename) {
  const tree = parse(code, filename);
  const isAsync = tree.body.some((s) => s.type === 'ImportDeclaration' || awaits(s));
  const text = (n) => code.slice(n.start, n.end);
  const hoist = [];
  const funcs = [];
  const parts = [];
  let at = 0;
  const replace = (node, s) => {
    parts.push(code.slice(at, node.start), s);
    at = node.end;
  };
  tree.body.forEach((outer, i) => {
    const stmt = unexport(outer);
    const last = i === tree.body.length - 1;
    if (!stmt) return replace(outer, ';');
    if (stmt.type === 'VariableDeclaration') {
      const assigns = [];
      for (const d of stmt.declarations) {
        names(d.id, hoist);
        if (d.init) assigns.push('(' + text(d.id) + ' = ' + text(d.init) + ')');
        else if (stmt.kind !== 'var') assigns.push(text(d.id) + ' = undefined');
      }
      return replace(outer, assigns.length ? 'void (' + assigns.join(', ') + ');' : ';');
    }
    if (stmt.type === 'ClassDeclaration') {
      hoist.push(stmt.id.name);
      return replace(outer, stmt.id.name + ' = ' + text(stmt) + ';');
    }
    if (stmt.type === 'FunctionDeclaration') {
      hoist.push(stmt.id.name);
      funcs.push(stmt.id.name);
      return replace(outer, text(stmt));
    }
    if (stmt.type === 'ImportDeclaration') {
      const from = 'await __nsp.importModule(' + JSON.stringify(stmt.source.value) + ')';
      const fields = [];
      let whole = null;
      for (const s of stmt.specifiers) {
        hoist.push(s.local.name);
        if (s.type === 'ImportNamespaceSpecifier') whole = s.local.name;
        else if (s.type === 'ImportDefaultSpecifier') fields.push('default: ' + s.local.name);
        else fields.push(JSON.stringify(s.imported.name || s.imported.value) + ': ' + s.local.name);
      }
      if (whole) return replace(outer, whole + ' = ' + from + ';');
      return replace(outer, fields.length ? '({' + fields.join(', ') + '} = ' + from + ');' : from + ';');
    }
    if (last && isAsync && stmt.type === 'ExpressionStatement' && !stmt.directive) {
      return replace(outer, 'return (' + text(stmt.expression) + ');');
    }
    return undefined;
  });
  parts.push(code.slice(at));
  let source = parts.join('');
  const lastStmt = tree.body[tree.body.length - 1];
  const shows = !!lastStmt && lastStmt.type === 'ExpressionStatement' && !lastStmt.directive;
  if (isAsync) {
    const defs = funcs.map((f) => 'globalThis[' + JSON.stringify(f) + '] = ' + f + ';').join(' ');
    source = '(async () => { ' + defs + '\n' + source + '\n})()';
  }
  return { hoist: [...new Set(hoist)], source, async: isAsync, shows };
}

function transpile(code) {
  if (!ts) ts = load('typescript');
  const out = ts.transpileModule(code, {
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: false,
      removeComments: false, esModuleInterop: true,
    },
  });
  const diags = (out.diagnostics || []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (diags.length) {
    const d = diags[0];
    let where = '';
    if (d.file && d.start !== undefined) {
      const lc = d.file.getLineAndCharacterOfPosition(d.start);
      where = ' (' + (lc.line + 1) + ':' + (lc.character + 1) + ')';
    }
    const err = new SyntaxError(ts.flattenDiagnosticMessageText(d.messageText, '\n') + where);
    err.stack = err.name + ': ' + err.message;
    throw err;
  }
  return out.outputText;
}

// ---- running ----

let interruptRun = null; // rejects the wait of an async run under way
let interruptedEarly = false; // SIGINT came after 'started', before the code ran

process.on('SIGINT', () => {
  if (interruptRun) interruptRun(new Interrupted());
  else interruptedEarly = true;
});
process.on('uncaughtException', (e) => process.stderr.write('Uncaught ' + stackOf(e) + '\n'));
process.on('unhandledRejection', (e) => {
  process.stderr.write('Unhandled promise rejection: ' + stackOf(e) + '\n');
});

class Interrupted extends Error {
  constructor() {
    super('the run was interrupted');
    this.name = 'Interrupted';
  }
}

function stackOf(e) {
  if (!(e instanceof Error) || typeof e.stack !== 'string') return inspect(e);
  const lines = e.stack.split('\n');
  const cut = lines.findIndex((l) => /js_worker\.js|node:vm|node:internal\/vm/.test(l));
  return (cut > 0 ? lines.slice(0, cut) : lines).join('\n');
}

function errorOf(e) {
  if (e && e.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') e = new Interrupted();
  if (e instanceof Error) {
    return { t: 'error', name: e.name || 'Error', value: e.message, traceback: stackOf(e) };
  }
  return { t: 'error', name: 'Error', value: inspect(e), traceback: 'Uncaught ' + inspect(e) };
}

let cell = 0;

async function execute(code) {
  cell += 1;
  const filename = 'cell-' + cell + (TYPESCRIPT ? '.ts' : '.js');
  const js = TYPESCRIPT ? transpile(code) : code;
  const t = transform(js, filename);
  if (t.hoist.length) vm.runInThisContext('var ' + t.hoist.join(', ') + ';');
  if (interruptedEarly) throw new Interrupted();
  const script = new vm.Script(t.source, {
    filename, importModuleDynamically: (spec) => import(resolveForImport(spec)),
  });
  if (!t.async) {
    const value = script.runInThisContext({ breakOnSigint: true, displayErrors: false });
    return { value, shows: t.shows };
  }
  const stop = new Promise((_, reject) => { interruptRun = reject; });
  if (interruptedEarly) throw new Interrupted();
  try {
    const value = await Promise.race([script.runInThisContext({ displayErrors: false }), stop]);
    return { value, shows: t.shows };
  } finally {
    interruptRun = null;
  }
}

async function serve(req) {
  interruptedEarly = false;
  tell({ t: 'started' });
  const saved = {};
  for (const [k, v] of Object.entries(req.env || {})) {
    saved[k] = Object.prototype.hasOwnProperty.call(process.env, k) ? process.env[k] : null;
    process.env[k] = v;
  }
  try {
    const { value, shows } = await execute(String(req.code));
    if (shows && value !== undefined) tell({ t: 'result', bundle: bundleOf(value), main: true });
  } catch (e) {
    tell(errorOf(e));
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === null) delete process.env[k];
      else process.env[k] = v;
    }
  }
  tell({ t: 'done' });
}

globalThis.__nsp = Object.freeze({ importModule });

async function main() {
  const lines = readline.createInterface({ input: fs.createReadStream(null, { fd: REQ }) });
  for await (const line of lines) {
    let req;
    try {
      req = JSON.parse(line);
    } catch (e) {
      continue;
    }
    await serve(req);
  }
  process.exit(0);
}

main();
