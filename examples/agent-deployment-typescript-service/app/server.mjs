// A minimal TypeScript-style agent service on Node's standard library: POST /ask
// {"question"} answers from a rule book (a model call would go here), GET /healthz for
// the health check. No dependencies: nothing to fetch from npm at build time.
import http from "node:http";
import os from "node:os";

const rules = {
  cpus: () => String(os.cpus().length),
  node: () => process.version,
  revision: () => process.env.NULLSPACE_REVISION,
};

http
  .createServer((req, res) => {
    const send = (code, doc) => {
      res.writeHead(code, { "Content-Type": "application/json" });
      res.end(JSON.stringify(doc));
    };
    if (req.method === "GET") return send(req.url === "/healthz" ? 200 : 404, { ok: req.url === "/healthz" });
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const q = JSON.parse(body).question.toLowerCase();
      const hit = Object.keys(rules).find((k) => q.includes(k));
      console.log("asked:", q);
      send(200, { answer: hit ? rules[hit]() : "I don't know", revision: Number(process.env.NULLSPACE_REVISION) });
    });
  })
  .listen(8080, "0.0.0.0");
