// Runs against a real daemon: NULLSPACE_API_URL and NULLSPACE_API_KEY must point at one
// (tests/integration/test_sdk_typescript.py starts one and runs `npm test`).
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, test } from "node:test";
import { BuildFailedError, Client, Events, Machine, NullspaceError, Snapshot, Template, Volume, Webhook, verifyWebhook } from "../src/index.js";
import http from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

let m;
before(async () => {
  m = await Machine.create({ metadata: { sdk: "typescript" } });
});
after(async () => {
  await m?.kill();
});

test("machines: create, connect, list, typed errors", async () => {
  assert.equal(m.state, "running");
  const again = await Machine.connect(m.id);
  assert.deepEqual(again.info.metadata, { sdk: "typescript" });
  assert.ok((await Machine.list({ state: "running" })).some((x) => x.id === m.id));
  await assert.rejects(Machine.connect("m_nope"), (e) => e instanceof NullspaceError && e.code === "machine_not_found" && e.status === 404);
  await assert.rejects(Machine.list({ apiKey: "wrong" }), (e) => e.code === "unauthorized");
  await assert.rejects(Machine.list({ apiUrl: "http://127.0.0.1:1", apiKey: "k" }), (e) => e.code === "connection_failed");
});

test("timeouts: request_timeout, not connection_failed; waits are unbounded by default", async () => {
  const quick = new Client({ timeoutMs: 1000 });
  const slow = await Machine.connect(m.id, { client: quick });
  assert.equal((await slow.commands.run("sleep 2; echo slept")).stdout, "slept\n");
  const bounded = await Machine.connect(m.id, { client: new Client({ waitTimeoutMs: 1000 }) });
  await assert.rejects(bounded.commands.run("sleep 3"), (e) => e.code === "request_timeout" && /waitTimeoutMs/.test(e.message));
  const sockets = [];
  const silent = net.createServer((s) => sockets.push(s)); // accepts, never answers
  await new Promise((ok) => silent.listen(0, "127.0.0.1", ok));
  try {
    const c = new Client({ apiUrl: `http://127.0.0.1:${silent.address().port}`, apiKey: "k", timeoutMs: 500 });
    await assert.rejects(c.request("GET", "/v1/info"), (e) => e.code === "request_timeout");
  } finally {
    silent.close();
    for (const s of sockets) s.destroy();
  }
});

test("commands: foreground, streamed, stdin, background", async () => {
  const r = await m.commands.run("echo hi; echo err >&2; exit 3");
  assert.deepEqual([r.stdout, r.stderr, r.exitCode], ["hi\n", "err\n", 3]);
  const seen = [];
  const s = await m.commands.run(["sh", "-c", "for i in 1 2 3; do echo $i; done"], { onStdout: (t) => seen.push(t) });
  assert.equal(s.stdout, "1\n2\n3\n");
  assert.equal(seen.join(""), "1\n2\n3\n");
  const fed = await m.commands.run("cat", { stdin: "fed\n", onStdout: () => {} });
  assert.equal(fed.stdout, "fed\n");
  const h = await m.commands.run("read x; echo got $x; exit 5", { background: true, tag: "bg" });
  assert.ok((await m.commands.list()).some((p) => p.pid === h.pid));
  await h.sendStdin("value\n");
  const done = await h.wait();
  assert.deepEqual([done.stdout, done.exitCode], ["got value\n", 5]);
  assert.equal((await m.commands.logs("bg")).stdout, "got value\n");
  const sleeper = await m.commands.run("sleep 300", { background: true });
  await sleeper.kill();
  assert.equal((await m.commands.connect(sleeper.pid).wait()).info.signal, 9);
});

test("volumes: create, files without a machine, mounted read-only, in use, delete", async () => {
  const vol = await Volume.create("ts-vol", { sizeMb: 32, metadata: { sdk: "ts" } });
  assert.equal(vol.info.state, "ready");
  await vol.files.write("/seed/a.txt", "from the sdk");
  assert.equal((await vol.files.writeFiles([{ path: "/seed/x", data: "x" }, { path: "/seed/y", data: new Uint8Array([0, 255]) }])).written, 2);
  assert.equal((await vol.files.chmod("/seed/y", 0o600)).mode, 0o600);
  const v2 = await Machine.create({ volumes: [vol.mount("/data", { readOnly: true }), vol.mount("/w", { subpath: "seed" })] });
  try {
    assert.deepEqual(v2.info.volumes.map((x) => [x.path, x.read_only]), [["/data", true], ["/w", false]]);
    assert.equal((await v2.commands.run("cat /data/seed/a.txt")).stdout, "from the sdk");
    assert.notEqual((await v2.commands.run("touch /data/x")).exit_code, 0);
    await v2.commands.run("echo back > /w/b.txt");
    assert.equal(await vol.files.read("/seed/b.txt"), "back\n");
    assert.ok((await Volume.list()).some((x) => x.id === vol.id));
    assert.deepEqual((await Volume.get("ts-vol")).info.machines, [v2.id]);
    await assert.rejects(vol.delete(), (e) => e.code === "volume_in_use" && e.status === 409);
  } finally {
    await v2.kill();
  }
  await vol.delete();
  await assert.rejects(Volume.get("ts-vol"), (e) => e.code === "volume_not_found");
});

test("transfers: a resumable file upload, downloads, directories both ways", async (t0) => {
  const dir = mkdtempSync(join(tmpdir(), "ns-ts-xfer-"));
  t0.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = Buffer.alloc((2 << 20) + 11);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
  writeFileSync(join(dir, "d.bin"), data);
  const seen = [];
  const r = await m.files.uploadFile(join(dir, "d.bin"), "/root/xfer/d.bin", { pieceSize: 1 << 20, onProgress: (d, t) => seen.push([d, t]) });
  assert.equal(r.size, data.length);
  assert.deepEqual(seen.at(-1), [data.length, data.length]);
  assert.equal(seen.length, 3);
  assert.equal(await m.files.downloadFile("/root/xfer/d.bin", join(dir, "back.bin")), data.length);
  assert.ok(readFileSync(join(dir, "back.bin")).equals(data));
  const tree = join(dir, "tree");
  mkdirSync(join(tree, "a"), { recursive: true });
  writeFileSync(join(tree, "a", "x.txt"), "x");
  assert.equal((await m.files.uploadDir(tree, "/root/tree")).entries, 3);
  assert.equal(await m.files.read("/root/tree/a/x.txt"), "x");
  await m.files.downloadDir("/root/tree", join(dir, "copy"));
  assert.equal(readFileSync(join(dir, "copy", "a", "x.txt"), "utf8"), "x");
});

test("files and watch", async () => {
  await m.files.makeDir("/root/ts");
  await m.files.write("/root/ts/a.txt", "alpha");
  await m.files.write("/root/ts/b.bin", Buffer.from([0, 255]));
  assert.equal(await m.files.read("/root/ts/a.txt"), "alpha");
  assert.deepEqual([...(await m.files.readBytes("/root/ts/b.bin"))], [0, 255]);
  assert.deepEqual((await m.files.list("/root/ts")).entries.map((e) => e.name).sort(), ["a.txt", "b.bin"]);
  await m.files.rename("/root/ts/a.txt", "/root/ts/c.txt");
  assert.deepEqual([await m.files.exists("/root/ts/a.txt"), await m.files.exists("/root/ts/c.txt")], [false, true]);
  await m.files.remove("/root/ts/c.txt");
  await assert.rejects(m.files.read("/root/ts/c.txt"), (e) => e.code === "file_not_found");
  const events = [];
  let got;
  const seen = new Promise((resolve) => (got = resolve));
  const w = await m.files.watch("/root/ts", (ev) => {
    events.push(ev);
    if (ev.path === "/root/ts/new.txt") got();
  }, { recursive: true });
  await m.files.write("/root/ts/new.txt", "x");
  await seen;
  w.close();
  assert.ok(events.some((e) => e.path === "/root/ts/new.txt"));
});

test("pty: a python REPL, resize, reconnect with replay", async () => {
  const t = await m.pty.create({ cols: 90, rows: 20, cmd: "python3 -q" });
  await t.waitFor(">>> ");
  t.sendStdin("import shutil; print(shutil.get_terminal_size())\n");
  // resized at the prompt: a resize while readline restores the terminal between two
  // commands can be lost inside the machine (test_streams.py says more)
  await t.waitFor("columns=90, lines=20)\r\n>>> ");
  await t.resize(120, 30);
  t.sendStdin("print(shutil.get_terminal_size())\n");
  await t.waitFor("columns=120, lines=30");
  t.close();
  const again = await m.pty.connect(t.pid);
  await again.waitFor("columns=120, lines=30");
  assert.equal((await again.kill()).signal, 9);
  again.close();
});

test("lifecycle: hibernate, resume, fork", async () => {
  const x = await Machine.create({ client: new Client() });
  try {
    await x.files.write("/root/state", "kept");
    await x.hibernate();
    assert.equal(x.state, "hibernated");
    await x.resume();
    assert.equal(await x.files.read("/root/state"), "kept");
    const kids = await x.fork(1);
    assert.equal(await kids[0].files.read("/root/state"), "kept");
    for (const k of kids) await k.kill();
    const snap = await x.snapshot("ts");
    assert.ok((await Snapshot.list()).some((s) => s.id === snap.id));
    const spawned = await Machine.create({ snapshot: snap.id });
    assert.equal(await spawned.files.read("/root/state"), "kept");
    await spawned.kill();
    await Snapshot.delete(snap.id);
    await assert.rejects(Snapshot.get(snap.id), (e) => e.code === "snapshot_not_found");
  } finally {
    await x.kill();
  }
  assert.equal(x.state, "destroyed");
});

test("pause and resume", async () => {
  const m = await Machine.create();
  try {
    await m.commands.run("echo 1 > /tmp/x");
    await m.pause();
    assert.equal(m.info.state, "paused");
    assert.equal((await m.commands.run("cat /tmp/x")).stdout, "1\n"); // continues it
    await m.pause();
    await m.resume();
    assert.equal(m.info.state, "running");
  } finally {
    await m.kill();
  }
});

test("SSH certificate for a key", async () => {
  const { publicKey } = crypto.generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const str = (b) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const line = "ssh-ed25519 " + Buffer.concat([str(Buffer.from("ssh-ed25519")), str(raw)]).toString("base64");
  const m = await Machine.create();
  try {
    const c = await m.sshCertificate(line, { user: "root", ttlS: 60 });
    assert.equal(c.principal, m.id + ":root");
    assert.ok(c.certificate.startsWith("ssh-ed25519-cert-v01@openssh.com "));
    assert.ok(c.expires_at - Date.now() <= 60000);
    await assert.rejects(m.sshCertificate("ssh-ed25519 AAAA"), (e) => e.code === "invalid_field");
  } finally {
    await m.kill();
  }
});

test("preview URL and network policy", async () => {
  const w = await Machine.create({ network: { allow_internet_access: false } });
  try {
    assert.equal(w.network.allow_internet_access, false);
    await w.files.write("/srv/index.html", "ts page");
    await w.commands.run("cd /srv && python3 -m http.server 8000", { background: true });
    const p = await w.preview(8000, { expiresInS: 60 });
    assert.ok((await w.getUrl(8000)).startsWith("http://8000-"));
    let body = "";
    for (let i = 0; i < 100 && body === ""; i++) {
      const r = await fetch(p.path_url, { signal: AbortSignal.timeout(10000) }).catch(() => null);
      if (r && r.ok) body = await r.text();
      else await new Promise((ok) => setTimeout(ok, 200));
    }
    assert.equal(body, "ts page");
    const net = await w.setNetwork({ allow_internet_access: true, deny_out: ["192.0.2.0/24"] });
    assert.deepEqual([net.allow_internet_access, net.deny_out], [true, ["192.0.2.0/24"]]);
    await assert.rejects(w.setNetwork({ allow_out: ["nope"] }), (e) => e.code === "invalid_field");
  } finally {
    await w.kill();
  }
});

test("templates: build with a context, machines from it, pool, failures", async (t0) => {
  const ctx = mkdtempSync(join(tmpdir(), "ns-ts-ctx-"));
  t0.after(() => rmSync(ctx, { recursive: true, force: true }));
  writeFileSync(join(ctx, "hello.txt"), "ts context\n");
  const seen = [];
  const t = await Template.build("ts-tpl", {
    dockerfile: "FROM base\nCOPY hello.txt /opt/\nCMD [\"sleep\", \"600\"]\n",
    context: ctx,
    onLog: (l) => seen.push(l),
  });
  assert.equal(t.ref, "ts-tpl:latest");
  assert.ok(seen.some((l) => l.text.startsWith("template ts-tpl:latest ready")));
  assert.equal((await Template.alias("ts-tpl", "ts-tpl:v1")).ref, "ts-tpl:v1");
  assert.equal((await Template.setPool("ts-tpl:v1", 0)).pool.size, 0);
  const x = await Machine.create({ template: "ts-tpl:v1", pool: "skip" });
  try {
    assert.equal(x.info.checkout, "fresh");
    assert.equal((await x.commands.run("cat /opt/hello.txt; pgrep -c sleep")).stdout, "ts context\n1\n");
  } finally {
    await x.kill();
  }
  await assert.rejects(Template.build("ts-bad", { steps: [{ op: "run", cmd: "exit 6" }] }),
    (e) => e instanceof BuildFailedError && e.build.error.includes("exit 6"));
  await assert.rejects(Template.get("ts-none"), (e) => e.code === "template_not_found");
  await Template.delete("ts-tpl:v1");
  await Template.delete("ts-tpl");
  assert.ok(!(await Template.list()).some((y) => y.name === "ts-tpl"));
  // everything is younger than the cutoff: kept (unreferenced layers, e.g. of the deleted template, may go)
  const pruned = await Template.prune({ olderThanS: 3600 });
  assert.deepEqual([pruned.cache_entries, pruned.contexts, pruned.images], [0, 0, 0]);
});

test("observability: a signed webhook, events listed and followed, monitor, metrics", async (t0) => {
  const got = [];
  const rx = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.end("ok");
    });
  });
  await new Promise((ok) => rx.listen(0, "127.0.0.1", ok));
  t0.after(() => rx.close());
  const w = await Webhook.create(`http://127.0.0.1:${rx.address().port}/ts`, { events: ["machine.*"] });
  t0.after(() => w.delete());
  assert.match(w.secret, /^whsec_/);
  const seen = [];
  const sub = await Events.follow((e) => seen.push(e.type), { machine: m.id });
  await m.hibernate();
  await m.resume();
  for (let i = 0; i < 100 && !got.some((g) => g.body.includes('"machine.resuming"')); i++) await new Promise((ok) => setTimeout(ok, 100));
  const d = got.find((g) => g.body.includes('"machine.resuming"'));
  assert.equal(verifyWebhook(w.secret, d.headers, d.body), d.headers["webhook-id"]);
  assert.throws(() => verifyWebhook(w.secret, d.headers, Buffer.concat([d.body, Buffer.from(" ")])));
  assert.throws(() => verifyWebhook(w.secret, d.headers, d.body, { now: Date.now() / 1000 + 3600 }));
  sub.close();
  assert.deepEqual(seen.slice(0, 2), ["machine.hibernating", "machine.hibernated"]);
  const evs = await Events.list({ subject: m.id, type: "machine.*" });
  assert.equal(evs.at(-1).type, "machine.running");
  assert.equal(evs.at(-1).reason, "user");
  assert.equal((await m.events()).at(-1).id, evs.at(-1).id);
  const samples = [];
  const mon = await Events.monitor((kind, doc) => kind === "sample" && samples.push(doc), { machines: [m.id], intervalMs: 200 });
  for (let i = 0; i < 50 && samples.length < 2; i++) await new Promise((ok) => setTimeout(ok, 100));
  mon.close();
  assert.ok(samples.length >= 2 && samples.every((x) => x.machine === m.id));
  assert.ok("cpu_ns" in (await m.metrics()));
  assert.ok(Array.isArray((await m.metrics({ since: 0 })).points));
  assert.ok((await w.deliveries()).some((x) => x.state === "delivered"));
});
