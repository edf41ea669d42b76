// Drives the run_code tool of `nullspace mcp` with the official MCP client against a
// machine of the code-interpreter template (test_code_clients.py); prints one JSON line.
// Usage: node code.mjs CLI_PATH MACHINE_ID
import { connect } from "./connect.mjs";

const [cli, id] = process.argv.slice(2);
const { client } = await connect(cli, "nullspace-code-test");
const call = (args) => client.callTool({ name: "run_code", arguments: { machine_id: id, ...args } });

const out = { listed: (await client.listTools()).tools.some((t) => t.name === "run_code") };
const plot = await call({ code: "import matplotlib.pyplot as plt\nplt.bar(['a'], [1]); plt.show()\n3 + 4" });
out.kinds = plot.content.map((c) => c.type);
out.mime = plot.content[1]?.mimeType;
out.png_head = plot.content[1]?.data.slice(0, 12);
const doc = JSON.parse(plot.content[0].text);
out.text = doc.results.find((r) => r.is_main_result)?.text;
out.is_error = plot.isError;
const bad = await call({ code: "undefined_name" });
out.error_name = JSON.parse(bad.content[0].text).error.name;
out.error_is_error = bad.isError;
await client.close();
console.log(JSON.stringify(out));
