// The TypeScript SDK's m.code against a machine of the code-interpreter template
// (test_code_clients.py): prints one JSON line summarising what each call gave.
// Usage: node code_sdk.mjs MACHINE_ID (env: the daemon's URL and key)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Machine, NullspaceError } from "../../sdks/typescript/src/index.js";

const m = await Machine.connect(process.argv[2]);
const out = {};
await m.code.run("x = 41");
out.text = (await m.code.run("x + 1")).text;
const streamed = [];
const formats = [];
const ex = await m.code.run(
  "print('a')\nimport matplotlib.pyplot as plt\nplt.plot([1, 2], [3, 4]); plt.show()\n1/0",
  { onStdout: (t) => streamed.push(t), onResult: (r) => formats.push(r.formats()) },
);
Object.assign(out, { streamed, formats, error: ex.error.name });
const ctx = await m.code.createContext({ language: "bash", cwd: "/tmp", env: { G: "a'b\"$c" } });
out.ctx = [ctx.language, ctx.cwd];
out.env = (await m.code.run('printf %s "$G"', { context: ctx })).logs.stdout.join("");
out.listed = (await m.code.listContexts()).some((c) => c.id === ctx.id);
out.interrupted = await m.code.interrupt(ctx);
await m.code.deleteContext(ctx.id);
try {
  await m.code.run("1", { context: ctx });
} catch (e) {
  if (!(e instanceof NullspaceError)) throw e;
  out.gone = e.code;
}
// an asynchronous run with an artifact, in JavaScript
const run = await m.code.start(
  "const fs = require('fs');\nfs.writeFileSync(process.env.NULLSPACE_ARTIFACTS_DIR + '/n.txt', 'seven');\n6 * 7",
  { language: "javascript" },
);
out.listedRun = (await m.code.listRuns()).some((r) => r.id === run.id);
out.runText = (await run.wait(60)).text;
out.artifact = [run.state, run.artifacts.map((a) => a.name), (await run.readArtifact(run.artifacts[0])).toString()];
const file = join(mkdtempSync(join(tmpdir(), "ns-code-art-")), "n.txt");
try {
  await run.downloadArtifact(run.artifacts[0], file);
  out.downloaded = readFileSync(file, "utf8");
} finally {
  rmSync(dirname(file), { recursive: true, force: true });
}
await run.delete();
try {
  await m.code.getRun(run.id);
} catch (e) {
  if (!(e instanceof NullspaceError)) throw e;
  out.runGone = e.code;
}
console.log(JSON.stringify(out));
