// Compiled (never run) by tests/integration/test_spec.py with tsc --strict: the
// TypeScript SDK's declarations export what its users write against.
import {
  Machine,
  MachineNotFoundError,
  NullspaceError,
  Events,
  Volume,
  VolumeInUseError,
  Webhook,
  verifyWebhook,
  errorFor,
  CodeInterpreterNotAvailableError,
  Execution,
  Result,
  CodeRun,
  type CodeArtifact,
  type CodeContext,
  type CreateOptions,
  type Delivery,
  type Event,
  type MachineInfo,
} from "../../sdks/typescript/src/index.js";

const e: NullspaceError = errorFor("machine_not_found", "no machine m_1");
if (e instanceof MachineNotFoundError) {
  const code: "machine_not_found" = e.code;
  console.log(code, e.status, e.requestId);
}

export async function started(): Promise<string> {
  const opts: CreateOptions = { template: "base", runtime: "vm", pool: "skip", timeout_s: 60 };
  const m = await Machine.create(opts);
  const info: MachineInfo = m.info;
  return `${info.id} ${info.state} ${info.runtime} ${info.network?.address ?? "-"}`;
}

export async function mounted(): Promise<string> {
  const vol = await Volume.create("data", { sizeMb: 64, metadata: { team: "a" } });
  await vol.files.write("/seed.txt", "seed");
  const m = await Machine.create({ volumes: [vol.mount("/data", { readOnly: true })] });
  try {
    await vol.delete();
  } catch (err) {
    if (!(err instanceof VolumeInUseError)) throw err;
  }
  const used: number | undefined = (await vol.refresh()).info.used_bytes;
  return `${m.info.volumes[0].path} ${used ?? 0}`;
}

export async function observed(body: Buffer, headers: Record<string, string>): Promise<string> {
  const w = await Webhook.create("https://hooks.example.com/n", { events: ["machine.*"] });
  const id: string = verifyWebhook(w.secret ?? "", headers, body);
  const d: Delivery[] = await w.deliveries();
  const evs: Event[] = await Events.list({ type: "machine.*" });
  const sub = await Events.follow((e: Event) => console.log(e.type, e.reason, e.key_id));
  sub.close();
  return `${id} ${d[0]?.state} ${evs.length}`;
}

export async function analysed(m: Machine): Promise<string> {
  const ctx: CodeContext = await m.code.createContext({ language: "python", cwd: "/tmp" });
  const seen: Result[] = [];
  const ex: Execution = await m.code.run("x = 1\nx + 1", {
    context: ctx,
    env: { A: "1" },
    timeoutS: 10,
    onStdout: (t: string) => console.log(t),
    onResult: (r: Result) => seen.push(r),
  });
  try {
    await m.code.run("1", { language: "r" });
  } catch (err) {
    if (!(err instanceof CodeInterpreterNotAvailableError)) throw err;
  }
  const run: CodeRun = await m.code.start("print(1)", { language: "python", timeoutS: 30 });
  const done: Execution | null = await run.wait(60);
  const art: CodeArtifact | undefined = run.artifacts[0];
  const bytes: Buffer | undefined = art && (await run.readArtifact(art));
  console.log(done?.text, run.state, bytes?.length, (await m.code.listRuns()).length, await run.cancel());
  await run.delete();
  const stopped: boolean = await m.code.interrupt(ctx.id);
  await m.code.deleteContext(ctx);
  return `${ex.text} ${ex.error?.name} ${seen[0]?.png?.length} ${stopped} ${ex.results[0].formats()}`;
}
