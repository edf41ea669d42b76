// bench/e2b's measuring half (run by run.py, which starts the daemon and sets the E2B_*
// and NULLSPACE_* variables): on one machine, the same round trips through the official
// e2b SDK and through our TypeScript SDK, interleaved so both see the same host.
// Prints one JSON line: {"e2b_run": [ms...], "ours_run": [...], "e2b_read": [...], ...}.
import { Sandbox } from '../../tests/e2b/node_modules/e2b/dist/index.mjs' // the suite's pin
import { Machine } from '../../sdks/typescript/src/index.js'

const runs = Number(process.argv[2] || 50)
const sbx = await Sandbox.create({ timeoutMs: 600_000 })
const out = { e2b_run: [], ours_run: [], ours_login: [], e2b_read: [], ours_read: [] }
try {
  const m = await Machine.connect(`m_${sbx.sandboxId}`)
  await sbx.files.write('/tmp/bench.txt', 'x'.repeat(4096))
  const time = async (list, fn) => {
    const t0 = performance.now()
    await fn()
    list.push(performance.now() - t0)
  }
  for (let i = 0; i < 5; i++) { // warm both paths (connections, the agent)
    await sbx.commands.run('true')
    await m.commands.run('true')
  }
  for (let i = 0; i < runs; i++) {
    await time(out.e2b_run, () => sbx.commands.run('true'))
    await time(out.ours_run, () => m.commands.run('true'))
    // what the e2b SDK asks envd to run for commands.run('true'): a login shell
    await time(out.ours_login, () => m.commands.run(['/bin/bash', '-l', '-c', 'true']))
    await time(out.e2b_read, () => sbx.files.read('/tmp/bench.txt'))
    await time(out.ours_read, () => m.files.read('/tmp/bench.txt'))
  }
} finally {
  await Sandbox.kill(sbx.sandboxId)
}
console.log(JSON.stringify(out))
