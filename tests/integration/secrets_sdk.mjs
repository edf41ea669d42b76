// The TypeScript SDK's Secret and createMachine's secrets (test_secrets.py): prints one
// JSON line of what each call gave. Usage: node secrets_sdk.mjs VALUE (env: the daemon's
// URL and key)
import { Machine, Secret, SecretNotFoundError } from "../../sdks/typescript/src/index.js";

const value = process.argv[2];
const out = {};
const s = await Secret.set("TS_TOKEN", value);
out.set = [s.name, typeof s.info.created_at, JSON.stringify(s.info).includes(value)];
out.listed = (await Secret.list()).map((x) => x.name).includes("TS_TOKEN");
out.got = (await Secret.get("TS_TOKEN")).name;
const m = await Machine.create({ secrets: ["TS_TOKEN"] });
try {
  out.secrets = m.info.secrets;
  out.env = (await m.commands.run("printenv TS_TOKEN")).stdout;
} finally {
  await m.kill();
}
await s.delete();
try {
  await Secret.get("TS_TOKEN");
} catch (e) {
  out.deleted = e instanceof SecretNotFoundError;
}
try {
  await Machine.create({ secrets: ["TS_TOKEN"] });
} catch (e) {
  out.refused = e.code;
}
console.log(JSON.stringify(out));
