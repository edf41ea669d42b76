// Drives the computer-use tools of `nullspace mcp` with the official MCP client against a
// machine of the desktop template (test_desktop.py); prints one JSON line.
// Usage: node desktop.mjs CLI_PATH MACHINE_ID
import { connect } from "./connect.mjs";

const [cli, id] = process.argv.slice(2);
const { client } = await connect(cli, "nullspace-desktop-test");
const call = (name, args) => client.callTool({ name, arguments: { machine_id: id, ...args } });
const text = (r) => JSON.parse(r.content[0].text);

const names = (await client.listTools()).tools.map((t) => t.name).filter((n) => n.startsWith("desktop_"));
const out = { tools: names.sort() };
const shot = await call("desktop_screenshot", { scale: 0.5 });
out.shot = [shot.content[0].type, shot.content[0].mimeType, shot.isError];
const png = Buffer.from(shot.content[0].data, "base64");
out.size = [png.readUInt32BE(16), png.readUInt32BE(20)];
const launched = text(await call("desktop_launch", { command: "st -t nsmcp -e sh -c 'cat > /tmp/mcp-typed'", wait_s: 30 }));
out.title = launched.window?.title;
const w = launched.window;
// a new window has the focus: type, then click (a click that moves the focus is the
// window manager's to handle after it is delivered)
out.typed = text(await call("desktop_type", { text: "mcp-ü" }));
out.key = text(await call("desktop_key", { keys: ["enter"] }));
out.click = text(await call("desktop_click", { x: w.x + 20, y: w.y + 20 }));
out.scroll = (await call("desktop_scroll", { direction: "up", amount: 1 })).isError;
out.windows = text(await call("desktop_windows", {})).some((x) => x.title === "nsmcp");
const viewer = text(await call("desktop_viewer", { view_only: true, expires_in_s: 30 }));
out.viewer = [viewer.view_only, viewer.url.includes("/viewer/#machine=" + id)];
const bad = await call("desktop_key", { keys: "ctrl+nosuchkey" });
out.bad = [bad.isError, text(bad).error.code];
await client.close();
console.log(JSON.stringify(out));
