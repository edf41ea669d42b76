// The official e2b SDK (pinned in package.json), unchanged, against a Nullspace daemon:
// E2B_API_URL=http://HOST:PORT/e2b, E2B_SANDBOX_URL=http://HOST:PORT/e2b/envd and
// E2B_API_KEY (a key made with {"format": "e2b"}) are set by tests/integration/test_e2b.py.
import assert from 'node:assert/strict'
import http from 'node:http'
import { after, test } from 'node:test'
import {
  ALL_TRAFFIC,
  CommandExitError,
  NotFoundError,
  Sandbox,
  SandboxNotFoundError,
  Template,
  Volume,
  VolumePathNotFoundError,
} from 'e2b'

const daemon = new URL(process.env.E2B_API_URL)

// A request to the daemon naming `host` (PORT-SANDBOXID.DOMAIN): Node does not resolve
// *.localhost, so the name goes in the Host header. Answers {status, body}.
function viaHost(host, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: daemon.hostname, port: daemon.port, path, headers: { ...headers, Host: host } },
      (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode, body }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

// Our own API (the E2B key is a Nullspace key): the machine of a sandbox.
async function ourMachine(sandboxId) {
  const res = await fetch(new URL(`/v1/machines/m_${sandboxId}`, daemon), {
    headers: { Authorization: `Bearer ${process.env.E2B_API_KEY}` },
  })
  assert.equal(res.status, 200)
  return res.json()
}

const made = []
after(async () => {
  for (const id of made) await Sandbox.kill(id).catch(() => {})
})

async function create(opts) {
  const sbx = await Sandbox.create(opts)
  made.push(sbx.sandboxId)
  return sbx
}

test('create, getInfo, isRunning, list with a metadata filter, kill', async () => {
  const sbx = await create({ metadata: { suite: 'e2b', n: '1' }, timeoutMs: 120_000 })
  const info = await sbx.getInfo()
  assert.equal(info.sandboxId, sbx.sandboxId)
  assert.equal(info.templateId, 'base')
  assert.equal(info.state, 'running')
  assert.deepEqual(info.metadata, { suite: 'e2b', n: '1' })
  assert.ok(info.endAt.getTime() - Date.now() > 100_000, String(info.endAt))
  assert.equal(await sbx.isRunning(), true)

  const other = await create({ metadata: { suite: 'e2b', n: '2' } })
  const page = Sandbox.list({ query: { metadata: { suite: 'e2b', n: '1' } } })
  const items = await page.nextItems()
  assert.deepEqual(items.map((s) => s.sandboxId), [sbx.sandboxId])
  assert.equal(items[0].state, 'running')

  assert.equal(await Sandbox.kill(other.sandboxId), true)
  assert.equal(await Sandbox.kill(other.sandboxId), false) // gone: not found
  await assert.rejects(Sandbox.getInfo(other.sandboxId), NotFoundError)
})

test('list pages through with nextToken', async () => {
  const mine = []
  for (let i = 0; i < 3; i++) mine.push((await create({ metadata: { suite: 'pages' } })).sandboxId)
  const page = Sandbox.list({ query: { metadata: { suite: 'pages' } }, limit: 2 })
  const seen = []
  while (page.hasNext) seen.push(...(await page.nextItems()).map((s) => s.sandboxId))
  assert.deepEqual(seen.sort(), mine.sort())
})

test('setTimeout moves the deadline', async () => {
  const sbx = await create({ timeoutMs: 60_000 })
  await sbx.setTimeout(600_000)
  const info = await sbx.getInfo()
  assert.ok(info.endAt.getTime() - Date.now() > 500_000, String(info.endAt))
})

test('pause, then connect resumes the same sandbox', async () => {
  const sbx = await create()
  assert.equal(await sbx.pause(), true)
  assert.equal((await sbx.getInfo()).state, 'paused')
  const again = await Sandbox.connect(sbx.sandboxId)
  assert.equal(again.sandboxId, sbx.sandboxId)
  assert.equal((await again.getInfo()).state, 'running')
  assert.equal(await again.isRunning(), true)
})

test('unknown sandboxes and templates are E2B errors', async () => {
  await assert.rejects(Sandbox.connect('m_0000000000000000'), SandboxNotFoundError)
  await assert.rejects(Sandbox.create('no-such-template'), /not found/)
})

test('commands.run: output, streamed callbacks, env, cwd, user, exit codes', async () => {
  const sbx = await create()
  const greeting = 'it\'s "quoted" $HOME\nand a newline'
  const r = await sbx.commands.run('echo out; echo err >&2; printf %s "$GREETING"', {
    envs: { GREETING: greeting },
  })
  assert.equal(r.exitCode, 0)
  assert.equal(r.stdout, 'out\n' + greeting) // through the environment, never as code text
  assert.equal(r.stderr, 'err\n')

  const seen = []
  await sbx.commands.run('for i in 1 2 3; do echo $i; sleep 0.1; done', {
    onStdout: (d) => seen.push(d),
  })
  assert.equal(seen.join(''), '1\n2\n3\n')

  assert.equal((await sbx.commands.run('pwd', { cwd: '/tmp' })).stdout, '/tmp\n')
  assert.equal((await sbx.commands.run('id -un', { user: 'root' })).stdout, 'root\n')

  const err = await sbx.commands.run('echo no >&2; exit 3').catch((e) => e)
  assert.ok(err instanceof CommandExitError, String(err))
  assert.equal(err.exitCode, 3)
  assert.equal(err.stderr, 'no\n')
})

test('files.read: text, bytes, relative to home, missing file', async () => {
  const sbx = await create()
  await sbx.commands.run("printf 'hello\\n' > /tmp/t.txt; printf '\\000\\377\\376' > /root/b.bin")
  assert.equal(await sbx.files.read('/tmp/t.txt'), 'hello\n')
  const bytes = await sbx.files.read('b.bin', { format: 'bytes', user: 'root' })
  assert.deepEqual([...bytes], [0, 255, 254])
  await assert.rejects(sbx.files.read('/tmp/none'), NotFoundError)
})

test('files.write: text, bytes, several files, parents made, read back exactly', async () => {
  const sbx = await create()
  const info = await sbx.files.write('/tmp/deep/dir/a.txt', 'it\'s "text"\nwith lines\n')
  assert.equal(info.path, '/tmp/deep/dir/a.txt')
  assert.equal(info.name, 'a.txt')
  assert.equal(await sbx.files.read('/tmp/deep/dir/a.txt'), 'it\'s "text"\nwith lines\n')

  const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 256)
  await sbx.files.write('blob.bin', bytes.buffer, { user: 'root' })
  const back = await sbx.files.read('/root/blob.bin', { format: 'bytes' })
  assert.equal(Buffer.compare(Buffer.from(back), Buffer.from(bytes)), 0)

  const many = await sbx.files.write([
    { path: '/tmp/m/one', data: '1' },
    { path: '/tmp/m/two', data: '2' },
  ])
  assert.deepEqual(many.map((f) => f.path), ['/tmp/m/one', '/tmp/m/two'])
  assert.equal((await sbx.commands.run('cat /tmp/m/one /tmp/m/two')).stdout, '12')
})

test('files: exists, getInfo, makeDir, list, rename, remove', async () => {
  const sbx = await create()
  assert.equal(await sbx.files.exists('/tmp/fs'), false)
  assert.equal(await sbx.files.makeDir('/tmp/fs/sub'), true)
  assert.equal(await sbx.files.makeDir('/tmp/fs/sub'), false) // there already
  await sbx.files.write('/tmp/fs/a.txt', 'abc')
  const info = await sbx.files.getInfo('/tmp/fs/a.txt')
  assert.equal(info.name, 'a.txt')
  assert.equal(info.type, 'file')
  assert.equal(info.size, 3)
  assert.equal(info.path, '/tmp/fs/a.txt')
  assert.match(info.permissions, /^-rw/)
  assert.ok(Math.abs(info.modifiedTime.getTime() - Date.now()) < 600_000, String(info.modifiedTime))

  const names = (await sbx.files.list('/tmp/fs')).map((e) => `${e.name}:${e.type}`).sort()
  assert.deepEqual(names, ['a.txt:file', 'sub:dir'])

  const moved = await sbx.files.rename('/tmp/fs/a.txt', '/tmp/fs/sub/b.txt')
  assert.equal(moved.path, '/tmp/fs/sub/b.txt')
  assert.equal(await sbx.files.exists('/tmp/fs/a.txt'), false)
  assert.equal(await sbx.files.read('/tmp/fs/sub/b.txt'), 'abc')

  await sbx.files.remove('/tmp/fs')
  assert.equal(await sbx.files.exists('/tmp/fs'), false)
  await assert.rejects(sbx.files.getInfo('/tmp/fs'), NotFoundError)
})

test('getMetrics: CPU, memory and disk over time', async () => {
  const sbx = await create()
  await sbx.commands.run('timeout 2 sh -c "while :; do :; done"; true')
  await new Promise((r) => setTimeout(r, 500))
  const points = await sbx.getMetrics()
  assert.ok(points.length >= 2, JSON.stringify(points))
  const last = points[points.length - 1]
  assert.equal(last.cpuCount, 1)
  assert.ok(last.memTotal > 0 && last.memUsed > 0, JSON.stringify(last))
  assert.ok(points.some((p) => p.cpuUsedPct > 10), JSON.stringify(points.map((p) => p.cpuUsedPct)))
  assert.ok(last.timestamp instanceof Date && !isNaN(last.timestamp))
  const none = await sbx.getMetrics({ start: new Date(Date.now() + 3_600_000) })
  assert.deepEqual(none, [])
})

test('commands in the background: list, sendStdin, connect, kill, wait', async () => {
  const sbx = await create()
  const cat = await sbx.commands.run('cat', { background: true, stdin: true })
  assert.ok(cat.pid > 0)
  const listed = await sbx.commands.list()
  assert.ok(listed.some((p) => p.pid === cat.pid), JSON.stringify(listed))
  await sbx.commands.sendStdin(cat.pid, 'ping\n')
  await sbx.commands.closeStdin(cat.pid)
  const done = await cat.wait()
  assert.equal(done.stdout, 'ping\n')
  assert.equal(done.exitCode, 0)

  const slow = await sbx.commands.run('sleep 2; echo later', { background: true })
  const again = await sbx.commands.connect(slow.pid)
  assert.equal((await again.wait()).stdout, 'later\n')

  const sleeper = await sbx.commands.run('sleep 600', { background: true })
  assert.equal(await sbx.commands.kill(sleeper.pid), true)
  const err = await sleeper.wait().catch((e) => e)
  assert.ok(err instanceof CommandExitError, String(err))
  assert.equal(await sbx.commands.kill(999_999), false) // no such process
})

test('pty: create, sendInput, resize, kill', async () => {
  const sbx = await create()
  let seen = ''
  const dec = new TextDecoder()
  const waitFor = async (text) => {
    for (let i = 0; i < 200 && !seen.includes(text); i++) await new Promise((r) => setTimeout(r, 50))
    assert.ok(seen.includes(text), JSON.stringify(seen.slice(-300)))
  }
  const term = await sbx.pty.create({ cols: 90, rows: 20, onData: (d) => (seen += dec.decode(d)) })
  assert.ok(term.pid > 0)
  await sbx.pty.sendInput(term.pid, new TextEncoder().encode('stty size; echo mark-$((6*7))\n'))
  await waitFor('20 90')
  await waitFor('mark-42')
  await sbx.pty.resize(term.pid, { cols: 120, rows: 30 })
  await sbx.pty.sendInput(term.pid, new TextEncoder().encode('stty size\n'))
  await waitFor('30 120')
  assert.equal(await sbx.pty.kill(term.pid), true)
  const end = await term.wait().catch((e) => e)
  assert.notEqual(end.exitCode, 0)
})

test('getHost: a server in the sandbox at PORT-SANDBOXID.DOMAIN; envd there too', async () => {
  const sbx = await create()
  await sbx.commands.run('mkdir -p /srv && echo served > /srv/index.html')
  await sbx.commands.run('cd /srv && python3 -m http.server 8000', { background: true })
  const host = sbx.getHost(8000)
  assert.equal(host, `8000-${sbx.sandboxId}.${sbx.sandboxDomain}`)
  let r
  for (let i = 0; i < 100; i++) {
    r = await viaHost(host, '/index.html')
    if (r.status === 200) break
    await new Promise((res) => setTimeout(res, 100))
  }
  assert.equal(r.status, 200, r.body)
  assert.equal(r.body, 'served\n')

  // host mode: the SDK without E2B_SANDBOX_URL talks to envd at 49983-SANDBOXID.DOMAIN
  const envd = sbx.getHost(49983)
  const token = { 'X-Access-Token': sbx.envdAccessToken }
  assert.equal((await viaHost(envd, '/health', token)).status, 204)
  assert.equal((await viaHost(envd, '/health')).status, 401)
  const file = await viaHost(envd, '/files?path=/srv/index.html', token)
  assert.equal(file.body, 'served\n')
})

test('allowPublicTraffic false: ports need the traffic access token', async () => {
  const sbx = await create({ network: { allowPublicTraffic: false } })
  assert.ok(sbx.trafficAccessToken, 'a traffic token')
  await sbx.commands.run('cd /tmp && python3 -m http.server 8001', { background: true })
  const host = sbx.getHost(8001)
  const header = { 'e2b-traffic-access-token': sbx.trafficAccessToken }
  let r
  for (let i = 0; i < 100; i++) {
    r = await viaHost(host, '/', header)
    if (r.status === 200) break
    await new Promise((res) => setTimeout(res, 100))
  }
  assert.equal(r.status, 200, r.body)
  assert.equal((await viaHost(host, '/')).status, 401)
  const forged = { 'e2b-traffic-access-token': sbx.envdAccessToken }
  assert.equal((await viaHost(host, '/', forged)).status, 401)
})

test('uploadUrl and downloadUrl: signed, expiring, bound to path and operation', async () => {
  const sbx = await create()
  const up = await sbx.uploadUrl('/tmp/up/u.txt')
  const form = new FormData()
  form.append('file', new Blob(['uploaded by URL']), '/tmp/up/u.txt')
  const put = await fetch(up, { method: 'POST', body: form })
  assert.equal(put.status, 200, await put.clone().text())
  assert.equal(await sbx.files.read('/tmp/up/u.txt'), 'uploaded by URL')

  const down = await sbx.downloadUrl('/tmp/up/u.txt', { useSignatureExpiration: 60 })
  assert.match(down, /signature_expiration=/)
  const got = await fetch(down)
  assert.equal(got.status, 200)
  assert.equal(await got.text(), 'uploaded by URL')

  const other = new URL(down)
  other.searchParams.set('path', '/etc/shadow') // another path: the signature no longer fits
  assert.equal((await fetch(other)).status, 401)
  assert.equal((await fetch(up)).status, 401) // a write signature does not read
  const expired = new URL(await sbx.downloadUrl('/tmp/up/u.txt', { useSignatureExpiration: -5 }))
  assert.equal((await fetch(expired)).status, 401)

  // host mode: the same URL by the sandbox's envd host
  const byHost = new URL(await sbx.downloadUrl('/tmp/up/u.txt'))
  const r = await viaHost(sbx.getHost(49983), byHost.pathname + byHost.search)
  assert.equal(r.body, 'uploaded by URL')
})

test('network: allowInternetAccess, allowOut/denyOut at create, updateNetwork', async () => {
  const sbx = await create({
    network: { denyOut: [ALL_TRAFFIC], allowOut: ['10.20.30.0/24', 'deb.debian.org'] },
  })
  let net = (await ourMachine(sbx.sandboxId)).network
  assert.equal(net.allow_internet_access, false)
  assert.deepEqual(net.allow_out, ['10.20.30.0/24', 'deb.debian.org'])
  assert.equal(net.public_all, true)

  await sbx.updateNetwork({ denyOut: ['192.0.2.0/24'] })
  net = (await ourMachine(sbx.sandboxId)).network
  assert.equal(net.allow_internet_access, true)
  assert.deepEqual(net.deny_out, ['192.0.2.0/24'])
  assert.deepEqual(net.allow_out, [])

  const closed = await create({ allowInternetAccess: false })
  assert.equal((await ourMachine(closed.sandboxId)).network.allow_internet_access, false)
  await assert.rejects(create({ network: { allowOut: [42] } }), /network/)
})

test('fork: children with the parent state that diverge; snapshots: create, list, spawn, delete', async () => {
  const sbx = await create()
  await sbx.files.write('/tmp/state', 'parent')
  const kids = await sbx.fork({ count: 2, timeoutMs: 300_000 })
  assert.equal(kids.length, 2)
  for (const k of kids) {
    assert.ok(!(k instanceof Error), String(k))
    made.push(k.sandboxId)
    assert.notEqual(k.sandboxId, sbx.sandboxId)
  }
  await kids[0].files.write('/tmp/state', 'child')
  assert.equal(await kids[0].files.read('/tmp/state'), 'child')
  assert.equal(await kids[1].files.read('/tmp/state'), 'parent')
  assert.equal(await sbx.files.read('/tmp/state'), 'parent')
  assert.ok((await kids[1].getInfo()).endAt.getTime() - Date.now() > 200_000)

  const snap = await sbx.createSnapshot({ name: 'e2b-suite-snap' })
  assert.deepEqual(snap.names, ['e2b-suite-snap'])
  const listed = await Sandbox.listSnapshots({ sandboxId: sbx.sandboxId }).nextItems()
  assert.deepEqual(listed.map((s) => s.snapshotId), [snap.snapshotId])
  const spawned = await create(snap.snapshotId)
  assert.equal(await spawned.files.read('/tmp/state'), 'parent')
  const byName = await create('e2b-suite-snap')
  assert.equal(await byName.files.read('/tmp/state'), 'parent')
  await Sandbox.kill(spawned.sandboxId)
  await Sandbox.kill(byName.sandboxId)
  assert.equal(await Sandbox.deleteSnapshot(snap.snapshotId), true)
  assert.equal(await Sandbox.deleteSnapshot(snap.snapshotId), false)
})

test('files.watchDir: create, write, rename, remove events, recursive, stop', async () => {
  const sbx = await create()
  await sbx.files.makeDir('/tmp/w/sub')
  const seen = []
  const handle = await sbx.files.watchDir('/tmp/w', (e) => seen.push(`${e.type}:${e.name}`), {
    recursive: true,
  })
  const waitFor = async (entry) => {
    for (let i = 0; i < 100 && !seen.includes(entry); i++) await new Promise((r) => setTimeout(r, 50))
    assert.ok(seen.includes(entry), `${entry} not in ${JSON.stringify(seen)}`)
  }
  await sbx.files.write('/tmp/w/a.txt', 'x')
  await waitFor('create:a.txt')
  await waitFor('write:a.txt')
  await sbx.files.rename('/tmp/w/a.txt', '/tmp/w/b.txt')
  await waitFor('rename:a.txt')
  await waitFor('create:b.txt')
  await sbx.files.write('/tmp/w/sub/deep.txt', 'y')
  await waitFor('create:sub/deep.txt')
  await sbx.files.remove('/tmp/w/b.txt')
  await waitFor('remove:b.txt')
  await handle.stop()
  const before = seen.length
  await sbx.files.write('/tmp/w/after.txt', 'z')
  await new Promise((r) => setTimeout(r, 300))
  assert.equal(seen.length, before, JSON.stringify(seen.slice(before)))
  await assert.rejects(sbx.files.watchDir('/tmp/none', () => {}), NotFoundError)
})

test('files.write as octet-stream and gzip (envd 0.5.7), read back exactly', async () => {
  const sbx = await create()
  const bytes = new Uint8Array(200_000).map((_, i) => (i * 13) % 256)
  await sbx.files.write('/tmp/o.bin', bytes.buffer, { useOctetStream: true })
  const back = await sbx.files.read('/tmp/o.bin', { format: 'bytes' })
  assert.equal(Buffer.compare(Buffer.from(back), Buffer.from(bytes)), 0)
  const info = await sbx.files.write('/tmp/z/g.txt', 'gzipped '.repeat(1000), { gzip: true })
  assert.equal(info.path, '/tmp/z/g.txt')
  assert.equal(await sbx.files.read('/tmp/z/g.txt'), 'gzipped '.repeat(1000))
})

test('volumes: create, list, files through the volume API, mounted in a sandbox, destroy', async () => {
  const vol = await Volume.create('e2b-suite-vol')
  try {
    assert.ok(vol.volumeId && vol.token)
    const listed = await Volume.list()
    assert.ok(listed.some((v) => v.volumeId === vol.volumeId && v.name === 'e2b-suite-vol'))
    assert.equal((await Volume.getInfo(vol.volumeId)).name, 'e2b-suite-vol')

    const st = await vol.writeFile('/data/a.txt', 'volume data')
    assert.equal(st.type, 'file')
    assert.equal(st.size, 11)
    assert.equal(st.path, '/data/a.txt')
    assert.equal(await vol.readFile('/data/a.txt'), 'volume data')
    await assert.rejects(vol.writeFile('/data/a.txt', 'again', { force: false }), /exists/)
    const dir = await vol.makeDir('/data/sub', { mode: 0o750 })
    assert.equal(dir.type, 'directory')
    assert.equal(dir.mode & 0o777, 0o750)
    const names = (await vol.list('/data')).map((e) => `${e.name}:${e.type}`).sort()
    assert.deepEqual(names, ['a.txt:file', 'sub:directory'])
    const changed = await vol.updateMetadata('/data/a.txt', { mode: 0o600, uid: 1000, gid: 1000 })
    assert.equal(changed.mode & 0o777, 0o600)
    assert.deepEqual([changed.uid, changed.gid], [1000, 1000])
    const info = await vol.getInfo('/data/a.txt')
    assert.ok(Math.abs(info.mtime.getTime() - Date.now()) < 600_000, String(info.mtime))
    await assert.rejects(vol.getInfo('/nope'), VolumePathNotFoundError)
    assert.equal(await vol.exists('/nope'), false)

    const sbx = await create({ volumeMounts: { '/mnt/vol': vol } })
    assert.equal((await sbx.commands.run('cat /mnt/vol/data/a.txt')).stdout, 'volume data')
    await sbx.files.write('/mnt/vol/from-sandbox.txt', 'hi')
    await Sandbox.kill(sbx.sandboxId)
    assert.equal(await vol.readFile('/from-sandbox.txt'), 'hi')
    await vol.remove('/data')
    assert.equal(await vol.exists('/data'), false)
  } finally {
    assert.equal(await Volume.destroy(vol.volumeId), true)
  }
  assert.equal(await Volume.destroy(vol.volumeId), false)
})

test('templates: Template.exists, and the REST list and get', async () => {
  assert.equal(await Template.exists('base'), true)
  assert.equal(await Template.exists('no-such-template'), false)
  const headers = { 'X-API-Key': process.env.E2B_API_KEY }
  const list = await (await fetch(`${process.env.E2B_API_URL}/templates`, { headers })).json()
  const base = list.find((t) => t.templateID === 'base')
  assert.ok(base, JSON.stringify(list))
  assert.deepEqual(base.aliases, ['base'])
  assert.equal(base.buildStatus, 'ready')
  const one = await fetch(`${process.env.E2B_API_URL}/templates/base`, { headers })
  assert.equal((await one.json()).builds.length, 1)
  const none = await fetch(`${process.env.E2B_API_URL}/templates/no-such`, { headers })
  assert.equal(none.status, 404)
})
