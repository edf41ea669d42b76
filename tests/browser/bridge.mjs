// The two halves of the way from Chromium, in a network namespace of its own
// (isolated-chromium.sh), to the daemon on the host's loopback: a unix socket joins them
// (a path, which network namespaces do not separate).
//
//   node bridge.mjs outside SOCK HOST:PORT   unix socket SOCK -> the daemon (viewer.mjs
//                                            runs this half in-process: serveOutside)
//   node bridge.mjs inside SOCK PORT PID     127.0.0.1:PORT in the namespace -> SOCK; ends
//                                            when process PID (Chromium) is gone
import net from "node:net";
import fs from "node:fs";

export function serveOutside(sock, host, port) {
  try { fs.unlinkSync(sock); } catch {}
  const server = net.createServer((c) => {
    const up = net.connect(port, host);
    c.pipe(up).pipe(c);
    c.on("error", () => up.destroy());
    up.on("error", () => c.destroy());
  });
  return new Promise((resolve) => server.listen(sock, () => resolve(server)));
}

function serveInside(sock, port, pid) {
  const server = net.createServer((c) => {
    const up = net.connect(sock);
    c.pipe(up).pipe(c);
    c.on("error", () => up.destroy());
    up.on("error", () => c.destroy());
  });
  server.listen(port, "127.0.0.1", () => process.stdout.write("ready\n"));
  setInterval(() => {
    try { process.kill(pid, 0); } catch { process.exit(0); }
  }, 200);
}

if (process.argv[2] === "inside")
  serveInside(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
