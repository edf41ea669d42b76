// The official e2b SDK in host mode, as against E2B's cloud: no E2B_SANDBOX_URL, so it
// speaks https:// to 49983-SANDBOXID.DOMAIN (envd) and getHost(port) names
// PORT-SANDBOXID.DOMAIN. tests/integration/test_e2b.py starts the daemon with
// --preview-domain e2b.test --preview-port 443; the proxy here stands where a user's TLS
// reverse proxy would (wildcard DNS and a certificate for *.e2b.test, the test's own CA
// in NODE_EXTRA_CA_CERTS): it terminates TLS and forwards to the daemon, Host kept.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import tls from 'node:tls'
import { after, before, test } from 'node:test'
import { Sandbox } from 'e2b'
import { ProxyAgent, fetch as proxiedFetch } from 'undici'

const daemon = new URL(process.env.E2B_API_URL)
const sockets = new Set()
const made = []
let proxy, proxyUrl

// CONNECT host:443 is TLS for *.e2b.test, ended here; any other port (the API's) is
// passed through as it is. Either way the bytes go to the daemon.
function tunnel(req, client, head) {
  const port = Number(req.url.split(':').pop())
  const upstream = net.connect(Number(daemon.port), daemon.hostname)
  for (const s of [client, upstream]) {
    sockets.add(s)
    s.on('error', () => {})
    s.on('close', () => sockets.delete(s))
  }
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
  if (head.length) client.unshift(head)
  if (port !== 443) {
    client.pipe(upstream).pipe(client)
    return
  }
  const secure = new tls.TLSSocket(client, {
    isServer: true,
    key: fs.readFileSync(process.env.HOSTMODE_KEY),
    cert: fs.readFileSync(process.env.HOSTMODE_CERT),
  })
  secure.on('error', () => upstream.destroy())
  secure.pipe(upstream).pipe(secure)
}

before(async () => {
  proxy = http.createServer()
  proxy.on('connect', tunnel)
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  proxyUrl = `http://127.0.0.1:${proxy.address().port}`
})

after(async () => {
  for (const id of made) await Sandbox.kill(id, { proxy: proxyUrl }).catch(() => {})
  for (const s of sockets) s.destroy()
  await new Promise((resolve) => proxy.close(resolve))
})

test('host mode: envd, files and getHost over https://PORT-SANDBOXID.DOMAIN', async () => {
  assert.equal(process.env.E2B_SANDBOX_URL, undefined)
  const sbx = await Sandbox.create({ proxy: proxyUrl })
  made.push(sbx.sandboxId)
  assert.equal(sbx.sandboxDomain, 'e2b.test')
  assert.equal((await sbx.commands.run('echo host-mode')).stdout, 'host-mode\n')
  await sbx.files.write('/tmp/h.txt', 'over tls')
  assert.equal(await sbx.files.read('/tmp/h.txt'), 'over tls')

  await sbx.commands.run('cd /tmp && python3 -m http.server 8000', { background: true })
  const dispatcher = new ProxyAgent({ uri: proxyUrl, proxyTunnel: true })
  try {
    let res
    for (let i = 0; i < 100; i++) {
      res = await proxiedFetch(`https://${sbx.getHost(8000)}/h.txt`, { dispatcher }).catch((e) => e)
      if (res.status === 200) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.equal(res.status, 200, String(res))
    assert.equal(await res.text(), 'over tls')

    const url = await sbx.downloadUrl('/tmp/h.txt')
    assert.match(url, new RegExp(`^https://49983-${sbx.sandboxId}\\.e2b\\.test/files\\?`))
    assert.equal(await (await proxiedFetch(url, { dispatcher })).text(), 'over tls')
  } finally {
    await dispatcher.close()
  }
})
