// @e2b/desktop (pinned in package.json), unchanged, against a Nullspace daemon:
// E2B_API_URL=http://HOST:PORT/e2b, E2B_SANDBOX_URL=http://HOST:PORT/e2b/envd and
// E2B_API_KEY are set by tests/integration/test_desktop.py, whose daemon has built the
// desktop template. The SDK's default template, desktop, is ours; the SDK drives it with
// commands of its own in the sandbox (xdotool, scrot, xrandr, startxfce4, x11vnc and
// noVNC's proxy on port 6080, which it reaches at getHost(6080): our preview path).
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import { after, test } from 'node:test'
import { Sandbox } from '@e2b/desktop'

const made = []
after(async () => {
  for (const sbx of made) await sbx.kill().catch(() => {})
})

async function desktop() {
  if (!made.length) made.push(await Sandbox.create({ timeoutMs: 600_000 }))
  return made[0]
}

async function until(what, fn, limitMs = 20_000) {
  const end = Date.now() + limitMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error('gave up waiting: ' + what)
    await new Promise((r) => setTimeout(r, 200))
  }
}

// The daemon answers the sandbox's host names (PORT-ID.localhost:PORT) by its Host header.
const daemon = new URL(process.env.E2B_API_URL)

function get(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: daemon.hostname, port: daemon.port, path: url.pathname, headers: { Host: url.host } },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }))
      },
    )
    req.on('error', reject)
  })
}

// The first WebSocket message from url's host at path (RFB's version string from x11vnc).
function firstMessage(url, path) {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(daemon.port), daemon.hostname)
    let got = Buffer.alloc(0)
    s.setTimeout(20_000, () => s.destroy(new Error('no answer from ' + url.host + path)))
    s.on('error', reject)
    s.on('connect', () =>
      s.write(
        `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
          'Sec-WebSocket-Protocol: binary\r\n\r\n',
      ),
    )
    s.on('data', (c) => {
      got = Buffer.concat([got, c])
      const end = got.indexOf('\r\n\r\n')
      if (end < 0) return
      const head = got.subarray(0, end).toString()
      if (!head.startsWith('HTTP/1.1 101')) return s.destroy(new Error(head))
      const frame = got.subarray(end + 4)
      if (frame.length < 2 || frame.length < 2 + (frame[1] & 0x7f)) return
      s.destroy()
      resolve(frame.subarray(2, 2 + (frame[1] & 0x7f)).toString())
    })
  })
}

test('screen, screenshot, mouse and keyboard', async () => {
  const d = await desktop()
  assert.equal((await d.getInfo()).templateId, 'desktop')
  assert.deepEqual(await d.getScreenSize(), { width: 1280, height: 800 })
  const png = Buffer.from(await d.screenshot())
  assert.ok(png.subarray(1, 4).equals(Buffer.from('PNG')))
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [1280, 800])

  await d.moveMouse(200, 150)
  assert.deepEqual(await d.getCursorPosition(), { x: 200, y: 150 })
  await d.leftClick(300, 250)
  assert.deepEqual(await d.getCursorPosition(), { x: 300, y: 250 })

  // typed into a terminal, read back from the file its shell writes
  await d.commands.run("st -t e2b-typing -e sh -c 'cat > /tmp/e2b-typed'", { background: true })
  const win = (await d.commands.run('xdotool search --sync --name e2b-typing')).stdout.trim()
  assert.ok((await d.getApplicationWindows('st')).includes(win), win)
  await d.commands.run(`xdotool windowactivate --sync ${win}`)
  await d.write('hello from e2b')
  await d.press('enter')
  await until('the typed line', async () =>
    (await d.files.read('/tmp/e2b-typed').catch(() => '')) === 'hello from e2b\n',
  )
})

test('the stream: noVNC at the sandbox host, VNC behind it', async () => {
  const d = await desktop()
  await d.stream.start()
  const url = new URL(d.stream.getUrl())
  assert.equal(url.pathname, '/vnc.html')
  assert.ok(url.host.startsWith('6080-' + d.sandboxId + '.'), url.host)
  const page = await get(url)
  assert.equal(page.status, 200, page.body.slice(0, 300))
  assert.match(page.body, /noVNC/)
  assert.equal(await firstMessage(url, '/websockify'), 'RFB 003.008\n')
  await d.stream.stop()
})
