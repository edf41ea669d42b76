// A webhook receiver for bench/events: answers 204 to every POST and appends
// "<webhook-id> <arrival ms since the epoch (fractional)>" to the file named by argv[2].
// Prints its port on stdout; exits on SIGTERM after flushing.
import fs from "node:fs";
import http from "node:http";

const out = fs.createWriteStream(process.argv[2]);
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    out.write(`${req.headers["webhook-id"] || "raw"} ${performance.timeOrigin + performance.now()}\n`);
    res.statusCode = 204;
    res.end();
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
process.on("SIGTERM", () => out.end(() => process.exit(0)));
