// Drives `nullspace mcp` (stdio) with the official MCP client and prints one JSON
// summary line of what each tool returned. Usage: node client.mjs CLI_PATH
import { connect } from "./connect.mjs";

const cli = process.argv[2];
const { client, transport } = await connect(cli, "nullspace-test");

const text = (r) => r.content.map((c) => c.text).join("\n");
const json = (r) => JSON.parse(text(r));
const call = (name, args) => client.callTool({ name, arguments: args });

const out = { server: client.getServerVersion(), protocol: transport._protocolVersion ?? null };
out.tools = (await client.listTools()).tools.map((t) => t.name).sort();
out.deployments = json(await call("list_deployments", {})).deployments.map((d) => d.name);
const ran = await call("run_deployment", { name: "mcpjob" });
const ranDoc = json(ran);
out.ran = [ranDoc.run.state, ranDoc.run.exit_code, ranDoc.log, ranDoc.log_truncated];
out.run_text = text(ran);
const logs = json(await call("deployment_logs", { name: "mcpjob" }));
out.logs = [logs.run.state, logs.run.exit_code, logs.log, logs.log_truncated];
out.run_unknown = json(await call("run_deployment", { name: "nope" })).error.code;
out.secrets_listed = json(await call("list_secrets", {})).secrets.map((s) => s.name);
const m = json(await call("create_machine", { metadata: { via: "mcp" }, secrets: ["MCP_TOKEN"] }));
out.created = { state: m.state, metadata: m.metadata, secrets: m.secrets };
out.created_text = JSON.stringify(m);
const id = m.id;
out.listed = json(await call("list_machines", { state: "running" })).machines.some((x) => x.id === id);
const ex = json(await call("exec", { machine_id: id, command: "echo hi; echo err >&2; exit 3" }));
out.exec = { stdout: ex.stdout, stderr: ex.stderr, exit_code: ex.exit_code };
await call("write_file", { machine_id: id, path: "/root/mcp/note.txt", content: "from mcp\n" });
out.read = text(await call("read_file", { machine_id: id, path: "/root/mcp/note.txt" }));
const missing = await call("read_file", { machine_id: id, path: "/root/nope" });
out.missing = { isError: missing.isError, code: json(missing).error.code };
const pv = json(await call("preview_url", { machine_id: id, port: 8000, expires_in_s: 60 }));
out.preview = pv.url.startsWith(`http://8000-${id.slice(2)}-`) && pv.port === 8000;
const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0ZGapfBbLSKS1+AZ0E6EvIMNWqT1j3FBb9LKaTkJvB";
const cert = json(await call("ssh_certificate", { machine_id: id, public_key: key, ttl_s: 60 }));
const badKey = await call("ssh_certificate", { machine_id: id, public_key: "nope" });
out.ssh = { principal: cert.principal === `${id}:root`, bad: json(badKey).error.code };
out.hibernated = json(await call("hibernate_machine", { machine_id: id })).state;
out.resumed = json(await call("resume_machine", { machine_id: id })).state;
const kids = json(await call("fork_machine", { machine_id: id, count: 1 })).machines;
out.child_read = text(await call("read_file", { machine_id: kids[0].id, path: "/root/mcp/note.txt" }));
const env = async (mid) => json(await call("exec", { machine_id: mid, command: "printenv MCP_TOKEN" })).stdout;
out.secret_env = [await env(id), await env(kids[0].id)];
out.destroyed = [];
for (const x of [kids[0].id, id]) {
  out.destroyed.push(json(await call("destroy_machine", { machine_id: x })).state);
}
out.events = json(await call("list_events", { machine_id: id, type: "machine.*" })).events.map((e) => [e.type, e.reason]);
const vol = json(await call("create_volume", { name: "mcpvol", size_mb: 32 }));
await call("write_file", { volume: "mcpvol", path: "/shared.txt", content: "on a volume\n" });
const vm = json(await call("create_machine", { volumes: [{ volume: "mcpvol", path: "/data", read_only: true }] }));
const vread = json(await call("exec", { machine_id: vm.id, command: "cat /data/shared.txt; touch /data/x" }));
const inUse = await call("delete_volume", { volume: vol.id });
out.volume = {
  listed: json(await call("list_volumes", {})).volumes.map((v) => v.name),
  read_in_machine: vread.stdout,
  read_only: vread.exit_code !== 0,
  read_direct: text(await call("read_file", { volume: "mcpvol", path: "/shared.txt" })),
  in_use: inUse.isError && json(inUse).error.code,
};
await call("destroy_machine", { machine_id: vm.id });
out.volume.deleted = !(await call("delete_volume", { volume: "mcpvol" })).isError;
const bad = await call("destroy_machine", {});
out.bad_args = bad.isError;
let unknown = null;
try {
  await client.callTool({ name: "no_such_tool", arguments: {} });
} catch (e) {
  unknown = String(e.message || e);
}
out.unknown_tool = unknown;
await client.close();
console.log(JSON.stringify(out));
