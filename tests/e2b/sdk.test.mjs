// The official e2b SDK (pinned in package.json), unchanged, against a Nullspace daemon:
// E2B_API_URL=http://HOST:PORT/e2b, E2B_SANDBOX_URL=http://HOST:PORT/e2b/envd and
// E2B_API_KEY (a key made with {"format": "e2b"}) are set by tests/integration/test_e2b.py.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { CommandExitError, NotFoundError, Sandbox, SandboxNotFoundError } from 'e2b'

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
