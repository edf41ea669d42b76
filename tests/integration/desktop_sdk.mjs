// The TypeScript SDK's m.desktop against a machine of the desktop template
// (test_desktop.py): prints one JSON line summarising what each call gave.
// Usage: node desktop_sdk.mjs MACHINE_ID (env: the daemon's URL and key)
import { Machine, NullspaceError } from "../../sdks/typescript/src/index.js";

const m = await Machine.connect(process.argv[2]);
const d = m.desktop;
const out = { screen: await d.screen() };
const png = await d.screenshot({ region: { x: 0, y: 0, width: 64, height: 32 } });
out.png = [png.subarray(1, 4).toString(), png.readUInt32BE(16), png.readUInt32BE(20)];
const jpeg = await d.screenshot({ format: "jpeg", quality: 50, scale: 0.25, cursor: true });
out.jpeg = jpeg.subarray(0, 2).toString("hex");
const { window: w, pid } = await d.launch({ command: "st -t nsts -e sh -c 'cat > /tmp/ts-typed'", waitS: 30 });
out.launched = [w.title, typeof pid];
out.moved = await d.move(w.x + 10, w.y + 10);
out.cursor = await d.cursorPosition();
out.click = await d.click(w.x + 12, w.y + 12, { button: "left" });
out.focused = (await d.focus(w)).focused; // waits for the window manager (the click's focus)
out.typed = await d.type("ts-日本");
out.key = await d.key("enter");
const typedSoFar = () => m.files.read("/tmp/ts-typed").catch(() => "");
for (let i = 0; i < 50 && !(await typedSoFar()).includes("日本"); i++)
  await new Promise((r) => setTimeout(r, 200));
out.file = await m.files.read("/tmp/ts-typed");
await d.setClipboard("ts clip ü");
out.clip = await d.clipboard();
out.listed = (await d.windows()).some((x) => x.id === w.id);
out.closing = (await d.close(w.id)).closing;
out.resized = await d.resize(1280, 800);
const rec = await d.startRecording({ fps: 2 });
await new Promise((r) => setTimeout(r, 1000));
out.recorded = [(await d.stopRecording(rec)).state, (await d.downloadRecording(rec)).subarray(4, 8).toString()];
await d.deleteRecording(rec.id);
const v = await d.viewer({ viewOnly: true, expiresInS: 60 });
out.viewer = [v.view_only, v.url.includes("&mode=view&token="), v.expires_at - Date.now() <= 60000];
try {
  await d.focus(12345);
} catch (e) {
  out.missing = [e instanceof NullspaceError, e.code, e.constructor.name];
}
console.log(JSON.stringify(out));
