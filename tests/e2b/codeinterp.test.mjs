// @e2b/code-interpreter (pinned in package.json), unchanged, against a Nullspace daemon:
// E2B_API_URL=http://HOST:PORT/e2b, E2B_SANDBOX_URL=http://HOST:PORT/e2b/envd and
// E2B_API_KEY are set by tests/integration/test_code.py, whose daemon has built the
// code-interpreter template. The SDK's default template, code-interpreter-v1, is ours;
// it reaches the interpreter at E2B_SANDBOX_URL with E2b-Sandbox-Port: 49999.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { Sandbox } from '@e2b/code-interpreter'

const made = []
after(async () => {
  for (const sbx of made) await sbx.kill().catch(() => {})
})

async function sandbox() {
  if (!made.length) made.push(await Sandbox.create({ timeoutMs: 600_000 }))
  return made[0]
}

test('runCode: state, streamed output, the main result, errors and env vars', async () => {
  const sbx = await sandbox()
  assert.equal((await sbx.getInfo()).templateId, 'code-interpreter')
  assert.equal((await sbx.runCode('x = 41\nx + 1')).text, '42')
  const out = []
  const err = []
  const results = []
  const exec = await sbx.runCode('import sys\nprint("hello")\nprint("oops", file=sys.stderr)\nx', {
    onStdout: (m) => out.push(m.line),
    onStderr: (m) => err.push(m.line),
    onResult: (r) => results.push(r),
  })
  assert.deepEqual(out, ['hello\n'])
  assert.deepEqual(err, ['oops\n'])
  assert.deepEqual(exec.logs, { stdout: ['hello\n'], stderr: ['oops\n'] })
  assert.equal(results.length, 1)
  assert.equal(results[0].isMainResult, true)
  assert.equal(exec.text, '41')
  assert.ok(exec.executionCount >= 2, String(exec.executionCount))

  const failed = await sbx.runCode('1 / 0')
  assert.equal(failed.error.name, 'ZeroDivisionError')
  assert.match(failed.error.traceback, /ZeroDivisionError/)

  const tricky = 'a "quoted"\nline and $HOME'
  const env = await sbx.runCode('import os\nos.environ["TRICKY"]', { envs: { TRICKY: tricky } })
  assert.equal(env.text, `'a "quoted"\\nline and $HOME'`) // Python's repr: it arrived whole
})

test('runCode: charts, tables and other languages', async () => {
  const sbx = await sandbox()
  const chart = await sbx.runCode(
    'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [4, 5, 6])\nplt.title("t")\nplt.show()',
  )
  assert.equal(chart.error, undefined)
  const png = chart.results.find((r) => r.png)
  assert.ok(png, JSON.stringify(chart.results).slice(0, 400))
  assert.ok(Buffer.from(png.png, 'base64').subarray(1, 4).equals(Buffer.from('PNG')))
  assert.equal(png.chart.type, 'line')
  assert.equal(png.chart.title, 't')

  const table = await sbx.runCode('import pandas as pd\npd.DataFrame({"a": [1, 2]})')
  assert.match(table.results[0].html, /<table/)

  assert.equal((await sbx.runCode('const a = 2; a * 21', { language: 'js' })).text, '42')
  assert.equal((await sbx.runCode('echo $((6 * 7))', { language: 'bash' })).logs.stdout.join(''), '42\n')
})

test('code contexts: create, run in, list, restart, remove', async () => {
  const sbx = await sandbox()
  const ctx = await sbx.createCodeContext({ language: 'python', cwd: '/tmp' })
  assert.equal(ctx.language, 'python')
  assert.equal(ctx.cwd, '/tmp')
  await sbx.runCode('y = 5', { context: ctx })
  assert.equal((await sbx.runCode('import os\n(y, os.getcwd())', { context: ctx })).text, "(5, '/tmp')")
  assert.equal((await sbx.runCode('y')).error.name, 'NameError') // the default context is another
  assert.ok((await sbx.listCodeContexts()).some((c) => c.id === ctx.id))
  await sbx.restartCodeContext(ctx)
  assert.equal((await sbx.runCode('y', { context: ctx })).error.name, 'NameError')
  await sbx.removeCodeContext(ctx)
  assert.ok(!(await sbx.listCodeContexts()).some((c) => c.id === ctx.id))
})
