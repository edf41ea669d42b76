// Load for bench/events: POST /v1/keys (each records a key.created event) at `rate` per
// second for `seconds`, over `conns` kept-alive connections. Prints
// {"sent", "failed", "seconds"} as JSON. Usage: load.mjs URL KEY RATE SECONDS CONNS
import http from "node:http";

const [url, key, rate, seconds, conns] = process.argv.slice(2);
const u = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(conns) });
const body = JSON.stringify({ name: "bench" });
let sent = 0, failed = 0, inflight = 0;
function one() {
  inflight++;
  const req = http.request({ host: u.hostname, port: u.port, path: "/v1/keys", method: "POST", agent,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", "Content-Length": body.length } },
    (res) => { res.resume(); res.on("end", () => { inflight--; if (res.statusCode === 201) sent++; else failed++; }); });
  req.on("error", () => { inflight--; failed++; });
  req.end(body);
}
const t0 = performance.now();
const total = Number(rate) * Number(seconds);
let issued = 0;
const tick = setInterval(() => {
  const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * Number(rate)));
  while (issued < due && inflight < 512) { one(); issued++; }
  if (issued >= total) clearInterval(tick);
}, 2);
const done = setInterval(() => {
  if (issued >= total && inflight === 0) {
    clearInterval(done);
    console.log(JSON.stringify({ sent, failed, seconds: (performance.now() - t0) / 1000 }));
    agent.destroy();
  }
}, 20);
