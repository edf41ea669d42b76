// Drives the desktop viewer page (viewer/, served by nullspaced at /viewer/) in Debian's
// headless Chromium (in a network namespace of its own: isolated-chromium.sh), as a
// person would: loads the URL, waits until the page says how
// the connection went and the screen is drawn, then runs the steps and prints what it
// saw as one JSON line. Used by tests/integration/test_desktop.py.
//
//   node viewer.mjs '{"url": "...", "steps": [...], "timeout_ms": 60000}'
//
// steps: {"force_control": true} turns the page's own view-only switch off (a viewer
// that sends input anyway: the daemon must drop it); {"click": [x, y]} clicks at a
// point of the desktop; {"type": "text"} types; {"wait_ms": n}; {"reload": true}
// reloads the page (a reconnect) and waits as at first.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serveOutside } from "./bridge.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

const spec = JSON.parse(process.argv[2]);
const timeout = spec.timeout_ms || 60000;
const out = { console: [] };

// The screen is drawn: the canvas has the desktop's size and more than one colour.
async function settle(page) {
  await page.waitForFunction(() => document.getElementById("status").textContent !== "connecting…",
                             null, { timeout });
  out.status = await page.textContent("#status");
  if (out.status !== "connected")
    return;
  const drawn = await page.waitForFunction(() => {
    const c = document.querySelector("#screen canvas");
    if (!c || c.width < 100)
      return false;
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length && seen.size < 50; i += 4 * 97)
      seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size > 10 ? { width: c.width, height: c.height, colours: seen.size } : false;
  }, null, { timeout, polling: 200 });
  out.screen = await drawn.jsonValue();
}

// Chromium runs in a network namespace of its own (isolated-chromium.sh), reaching the
// daemon through a unix socket bridged to its address
const daemon = new URL(spec.url);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ns-viewer-"));
const sock = path.join(tmp, "bridge.sock");
const bridge = await serveOutside(sock, daemon.hostname, Number(daemon.port || 80));
let browser;
try {
  browser = await chromium.launch({
    executablePath: path.join(here, "isolated-chromium.sh"),
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    env: { ...process.env, NS_BRIDGE_SOCK: sock, NS_BRIDGE_PORT: daemon.port || "80" },
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("console", (m) => out.console.push(m.text()));
  await page.goto(spec.url);
  await settle(page);
  for (const step of spec.steps || []) {
    if (step.force_control)
      await page.evaluate(() => { window.nullspaceViewer.rfb.viewOnly = false; });
    if (step.click) {
      const canvas = page.locator("#screen canvas");
      const box = await canvas.boundingBox();
      const width = await canvas.evaluate((c) => c.width);
      const s = box.width / width;
      await page.mouse.click(box.x + (step.click[0] + 0.5) * s, box.y + (step.click[1] + 0.5) * s);
    }
    if (step.type)
      await page.keyboard.type(step.type, { delay: 20 });
    if (step.wait_ms)
      await page.waitForTimeout(step.wait_ms);
    if (step.reload) {
      await page.reload();
      await settle(page);
    }
  }
  out.final_status = await page.textContent("#status");
} catch (e) {
  out.error = String(e);
} finally {
  await browser?.close();
  bridge.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
