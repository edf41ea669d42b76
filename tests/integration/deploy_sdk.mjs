// The TypeScript SDK's Deployment and Run (test_deployments.py): deploys DIR as job
// "tsjob", runs it twice (the project exits with $EXIT), and prints one JSON line of what
// each call gave. Usage: node deploy_sdk.mjs DIR (env: the daemon's URL and key)
import { Deployment, DeploymentNotFoundError } from "../../sdks/typescript/src/index.js";

const out = {};
const d = await Deployment.deploy("tsjob", { directory: process.argv[2], command: "python3 main.py", env: { EXIT: "0" }, retain_failed_s: 600 });
out.deployed = [d.name, d.revision, d.info.live_revision.template];
let chunks = "";
const ok = await (await d.run()).wait({ onOutput: (t) => (chunks += t) });
out.ok = [ok.state, ok.exitCode, chunks.includes("rev 1"), (await ok.logs()) === chunks];
const d2 = await Deployment.deploy("tsjob", { directory: process.argv[2], command: "python3 main.py", env: { EXIT: "5" } });
const bad = await (await d2.run()).wait();
out.bad = [d2.revision, bad.state, bad.exitCode, bad.retained];
await bad.cancel();
out.cancelled = bad.retained;
await d2.rollback(1);
out.rolledBack = d2.revision;
out.runs = (await d2.runs()).length;
out.revisions = (await d2.revisions()).map((r) => r.number);
out.listed = (await Deployment.list()).map((x) => x.name).includes("tsjob");
await d2.delete();
try {
  await Deployment.get("tsjob");
} catch (e) {
  out.deleted = e instanceof DeploymentNotFoundError;
}
console.log(JSON.stringify(out));
