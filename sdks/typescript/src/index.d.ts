// Types of the Nullspace SDK for Node.js (the implementation is index.js).

export interface ClientOptions {
  apiUrl?: string;
  apiKey?: string;
  /** Bound on each ordinary HTTP request, in ms (default 600000); past it: NullspaceError request_timeout. */
  timeoutMs?: number;
  /** Bound on requests that wait for an operation (create, hibernate, resume, fork,
   * snapshot, a foreground command), in ms; default: none, they wait as long as it takes. */
  waitTimeoutMs?: number;
}

/** Errors: NullspaceError and one subclass per stable code (docs/errors.md), generated
 * from the daemon's catalogue. */
export * from "./errors.js";
import { NullspaceError } from "./errors.js";

export function resolveConfig(opts?: ClientOptions): { apiUrl: string; apiKey?: string };

/** Parses a config file's text (docs/configuration.md); throws on a line that is not
 * `key = value`, naming FILE:LINE. */
export function parseConfig(text: string, file?: string): Record<string, string>;

export class Client {
  constructor(opts?: ClientOptions);
  apiUrl: string;
  apiKey?: string;
  timeoutMs: number;
  waitTimeoutMs?: number;
  request(
    method: string,
    path: string,
    opts?: { body?: unknown; query?: Record<string, unknown>; raw?: Uint8Array | string; wait?: boolean },
  ): Promise<any>;
  /** A JSON request whose answer is read as a stream (NDJSON); rejects with the typed error. */
  open(method: string, path: string, body: unknown): Promise<Response>;
  streams(): Promise<Streams>;
}

export interface ChannelHandlers {
  onData?(stream: number, bytes: Buffer): void;
  onMessage?(msg: Record<string, any>): void;
  onEnd?(end: Record<string, any>): void;
}

/** The daemon's WebSocket protocol (docs/websocket-protocol.md). */
export class Streams {
  constructor(url: string, apiKey?: string);
  opened: Promise<void>;
  call(type: string, fields?: Record<string, unknown>): Promise<Record<string, any>>;
  listen(channel: number, handlers: ChannelHandlers): void;
  stdin(channel: number, data: Uint8Array | string): void;
  close(): void;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  info: Record<string, any>;
}

export interface RunOptions {
  background?: boolean;
  onStdout?(text: string): void;
  onStderr?(text: string): void;
  timeoutS?: number;
  env?: Record<string, string>;
  cwd?: string;
  user?: string;
  tag?: string;
  stdin?: string;
}

export class CommandHandle {
  pid: number;
  tag: string;
  wait(): Promise<CommandResult>;
  kill(signal?: string): Promise<unknown>;
  sendStdin(data: Uint8Array | string, eof?: boolean): Promise<unknown>;
}

export interface Commands {
  run(cmd: string | string[], opts: RunOptions & { background: true }): Promise<CommandHandle>;
  run(cmd: string | string[], opts?: RunOptions): Promise<CommandResult>;
  connect(pid: number | string, opts?: RunOptions): CommandHandle;
  list(): Promise<Array<Record<string, any>>>;
  sendStdin(pid: number | string, data: Uint8Array | string, eof?: boolean): Promise<unknown>;
  kill(pid: number | string, signal?: string): Promise<unknown>;
  logs(pid: number | string): Promise<Record<string, any>>;
}

export interface WatchEvent {
  type: "create" | "modify" | "delete" | "rename" | "overflow";
  path: string;
  is_dir?: boolean;
  from?: string;
}

export interface Files {
  read(path: string): Promise<string>;
  readBytes(path: string): Promise<Buffer>;
  write(path: string, data: Uint8Array | string, mode?: string): Promise<unknown>;
  list(path: string, depth?: number): Promise<{ entries: Array<Record<string, any>> }>;
  exists(path: string): Promise<boolean>;
  remove(path: string): Promise<unknown>;
  rename(path: string, to: string): Promise<unknown>;
  makeDir(path: string): Promise<unknown>;
  chmod(path: string, mode: number | string): Promise<{ path: string; mode: number }>;
  writeFiles(files: Array<{ path: string; data: Uint8Array | string }>): Promise<{ written: number; bytes: number }>;
  /** A resumable upload of a local file (retried from the daemon's offset; SHA-256 checked). */
  uploadFile(
    local: string,
    remote: string,
    opts?: { onProgress?: (done: number, total: number) => void; pieceSize?: number; retries?: number },
  ): Promise<{ path: string; size: number; sha256: string }>;
  downloadFile(remote: string, local: string, opts?: { onProgress?: (done: number, total: number | null) => void }): Promise<number>;
  uploadDir(localDir: string, remote: string): Promise<{ path: string; bytes: number; entries: number }>;
  downloadDir(remote: string, localDir: string, opts?: { onProgress?: (done: number, total: number | null) => void }): Promise<void>;
  watch(
    path: string,
    onEvent: (ev: WatchEvent) => void,
    opts?: { recursive?: boolean },
  ): Promise<{ close(): void }>;
}

export class PtyHandle {
  pid: number;
  read(): Buffer;
  waitFor(text: string, timeoutMs?: number): Promise<Buffer>;
  sendStdin(data: Uint8Array | string): void;
  resize(cols: number, rows: number): Promise<unknown>;
  kill(): Promise<Record<string, any>>;
  close(): void;
}

export interface Pty {
  create(opts?: { cols?: number; rows?: number; cmd?: string | string[]; tag?: string }): Promise<PtyHandle>;
  connect(pid: number): Promise<PtyHandle>;
}

export interface CreateOptions extends ClientOptions {
  client?: Client;
  template?: string;
  vcpus?: number;
  memory_mb?: number;
  timeout_s?: number;
  env?: Record<string, string>;
  metadata?: Record<string, string>;
  user?: string;
  cwd?: string;
  auto_resume?: boolean;
  timeout_action?: "destroy" | "hibernate";
  snapshot?: string;
  network?: NetworkPolicy;
  /** With a template: its warm pool first (prefer), only (require) or never (skip). */
  pool?: "prefer" | "require" | "skip";
  /** What it runs on (default: the host's default runtime). */
  runtime?: "gvisor" | "vm";
  /** Volumes to mount (see Volume.mount). */
  volumes?: VolumeMount[];
  /** Pause after pause_after_s without use, hibernate hibernate_after_s later (0: never). */
  idle?: IdlePolicy;
  /** The desktop template's screen size (default 1280x800; depth 24 only). */
  desktop?: { width?: number; height?: number; depth?: 24 };
  /** Names of secrets (see Secret.set), each set as the environment variable of its name. */
  secrets?: string[];
}

export interface IdlePolicy {
  pause_after_s?: number;
  hibernate_after_s?: number;
}

/** A volume mounted in a machine (createMachine's `volumes`, a machine's view). */
export interface VolumeMount {
  /** The volume's ID or name (a machine's view shows its ID, and `name`). */
  volume: string;
  name?: string;
  /** Absolute path in the machine. */
  path: string;
  /** A directory of the volume to mount instead of its root. */
  subpath?: string;
  read_only?: boolean;
}

/** A volume as the API shows it (GET /v1/volumes/{id}). */
export interface VolumeInfo {
  id: string;
  name: string;
  state: "creating" | "ready" | "deleting";
  size_mb: number;
  metadata: Record<string, string>;
  created_at: number;
  used_bytes?: number;
  capacity_bytes?: number;
  machines?: string[];
}

/** A lifecycle event (GET /v1/events). */
export interface Event {
  seq: number;
  id: string;
  type: string;
  subject: { type: string; id: string };
  reason: "user" | "timeout" | "idle" | "error" | "system" | "pool";
  key_id: string | null;
  ts: number;
  data: Record<string, any>;
}

/** One usage sample (a figure the host cannot give is null). */
export interface UsagePoint {
  ts: number;
  cpu_ns: number | null;
  memory_bytes: number | null;
  memory_limit_bytes: number | null;
  disk_bytes: number | null;
  net_rx_bytes: number | null;
  net_tx_bytes: number | null;
}

export interface UsageSeries {
  id: string;
  interval_ms: number;
  capacity: number;
  points: UsagePoint[];
}

/** A subscription: close() ends it. */
export interface Subscription {
  close(): void;
}

export const Events: {
  list(opts?: ClientOptions & { client?: Client; type?: string; subject?: string; sinceSeq?: number; since?: number }): Promise<Event[]>;
  follow(
    onEvent: (e: Event) => void,
    opts?: ClientOptions & { client?: Client; type?: string; machine?: string; sinceSeq?: number },
  ): Promise<Subscription>;
  monitor(
    onMessage: (kind: "sample" | "event" | "process" | "progress", doc: Record<string, any>) => void,
    opts?: ClientOptions & { client?: Client; machines?: string[]; intervalMs?: number },
  ): Promise<Subscription>;
};

/** A webhook as the API shows it (`secret` only from create and rotateSecret). */
export interface WebhookInfo {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  description: string;
  created_at: number;
  updated_at: number;
  secret?: string;
  previous_secret_expires_at: number | null;
}

/** One event's delivery to one webhook, with every attempt. */
export interface Delivery {
  id: string;
  webhook_id: string;
  event_id: string;
  event_seq: number;
  type: string;
  state: "pending" | "delivered" | "failed";
  attempts: number;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
  attempt_log: { at: number; status: number | null; duration_ms: number; error: string | null; response: string }[];
}

export class Webhook {
  constructor(client: Client, info: WebhookInfo);
  client: Client;
  info: WebhookInfo;
  id: string;
  secret?: string;
  static create(
    url: string,
    opts?: ClientOptions & { client?: Client; events?: string[]; enabled?: boolean; description?: string },
  ): Promise<Webhook>;
  static get(id: string, opts?: ClientOptions & { client?: Client }): Promise<Webhook>;
  static list(opts?: ClientOptions & { client?: Client }): Promise<Webhook[]>;
  update(fields: { url?: string; events?: string[]; enabled?: boolean; description?: string }): Promise<Webhook>;
  delete(): Promise<void>;
  rotateSecret(): Promise<string>;
  test(): Promise<void>;
  deliveries(): Promise<Delivery[]>;
  redeliver(deliveryId: string): Promise<Delivery>;
}

/** Verifies a delivery (Standard Webhooks v1); throws unless valid; returns its webhook-id. */
export function verifyWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string | Buffer | Uint8Array,
  opts?: { toleranceS?: number; now?: number },
): string;

/** A volume: a filesystem that outlives machines; its files without a machine in `files`. */
export class Volume {
  constructor(client: Client, info: VolumeInfo);
  client: Client;
  info: VolumeInfo;
  id: string;
  name: string;
  files: Files;
  static create(
    name: string,
    opts?: ClientOptions & { client?: Client; sizeMb?: number; metadata?: Record<string, string> },
  ): Promise<Volume>;
  static get(ref: string, opts?: ClientOptions & { client?: Client }): Promise<Volume>;
  static list(opts?: ClientOptions & { client?: Client }): Promise<Volume[]>;
  refresh(): Promise<Volume>;
  delete(): Promise<void>;
  /** The entry createMachine's `volumes` takes. */
  mount(path: string, opts?: { subpath?: string; readOnly?: boolean }): VolumeMount;
}

/** A secret's record: its values go in and never come back out. */
export interface SecretInfo {
  name: string;
  created_at: number;
  updated_at: number;
}

/** Named values (API keys, tokens) kept sealed by the daemon and given to machines that
 * name them (createMachine's `secrets`) as environment variables. */
export class Secret {
  constructor(client: Client, info: SecretInfo);
  client: Client;
  info: SecretInfo;
  name: string;
  /** Creates or replaces `name` ([A-Za-z_][A-Za-z0-9_]*) with `value` (at most 64 KiB). */
  static set(name: string, value: string, opts?: ClientOptions & { client?: Client }): Promise<Secret>;
  static get(name: string, opts?: ClientOptions & { client?: Client }): Promise<Secret>;
  static list(opts?: ClientOptions & { client?: Client }): Promise<Secret[]>;
  /** Machines that have it keep it; new ones naming it are refused (secret_not_found). */
  delete(): Promise<void>;
}

/** A machine as the API shows it (GET /v1/machines/{id}). */
export interface MachineInfo {
  id: string;
  state: string;
  runtime: "gvisor" | "vm";
  template: string;
  vcpus: number;
  memory_mb: number;
  metadata: Record<string, string>;
  created_at: number;
  updated_at: number;
  user: string | null;
  cwd: string | null;
  auto_resume: boolean;
  timeout_action: "destroy" | "hibernate";
  timeout_at: number | null;
  failure_reason: string | null;
  parent_id: string | null;
  snapshot_id: string | null;
  checkout: string | null;
  children?: string[];
  network: (NetworkPolicy & { address: string; gateway: string; public_ports: number[] }) | null;
  volumes: VolumeMount[];
  idle?: IdlePolicy | null;
  /** the names of the secrets it was given (never their values) */
  secrets: string[];
}

export interface NetworkPolicy {
  allow_internet_access?: boolean;
  allow_out?: string[];
  deny_out?: string[];
  /** Every port served without a preview token (E2B's allowPublicTraffic). */
  public_all?: boolean;
}

export interface Preview {
  url: string;
  path_url: string;
  token: string;
  port: number;
  expires_at: number;
  public: boolean;
  public_url?: string;
}

export class Machine {
  id: string;
  info: MachineInfo;
  readonly state: string;
  client: Client;
  commands: Commands;
  files: Files;
  pty: Pty;
  /** The code interpreter (machines from the code-interpreter template). */
  code: Code;
  /** The desktop (machines from the desktop template). */
  desktop: Desktop;
  path(suffix?: string): string;
  static create(opts?: CreateOptions): Promise<Machine>;
  static connect(id: string, opts?: ClientOptions & { client?: Client }): Promise<Machine>;
  static list(opts?: ClientOptions & { client?: Client; state?: string }): Promise<Machine[]>;
  refresh(): Promise<Machine>;
  kill(): Promise<void>;
  hibernate(): Promise<void>;
  /** Stops the machine in memory; resume() or any request continues it. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  setTimeout(timeoutS: number): Promise<void>;
  fork(count?: number, metadata?: Record<string, string>): Promise<Machine[]>;
  snapshot(name: string): Promise<Record<string, any>>;
  preview(port: number, opts?: { expiresInS?: number; public?: boolean }): Promise<Preview>;
  getUrl(port: number, opts?: { expiresInS?: number }): Promise<string>;
  /** A short-lived OpenSSH certificate for one public key line on this machine. */
  sshCertificate(
    publicKey: string,
    opts?: { user?: string; ttlS?: number; agentForwarding?: boolean },
  ): Promise<SshCertificate>;
  readonly network: (NetworkPolicy & { address: string; gateway: string; public_ports: number[] }) | null;
  setNetwork(policy: NetworkPolicy): Promise<Record<string, any>>;
  /** Usage now, or with `since` (ms since the epoch; 0: all) the samples kept since then. */
  metrics(opts?: { since?: number }): Promise<Record<string, any> | UsageSeries>;
  /** The machine's lifecycle events, oldest first. */
  events(): Promise<Event[]>;
}

export interface SshCertificate {
  machine_id: string;
  user: string;
  certificate: string;
  principal: string;
  key_id: string;
  serial: number;
  fingerprint: string;
  valid_after: number;
  expires_at: number;
  known_hosts: string;
  host_ca_public_key: string;
  user_ca_public_key: string;
  command: string;
  proxy_command: string;
}

export const Snapshot: {
  list(opts?: ClientOptions & { client?: Client }): Promise<Array<Record<string, any>>>;
  get(id: string, opts?: ClientOptions & { client?: Client }): Promise<Record<string, any>>;
  delete(id: string, opts?: ClientOptions & { client?: Client }): Promise<Record<string, any>>;
};

export class BuildFailedError extends NullspaceError {
  build: Record<string, any>;
  logs: BuildLogLine[];
}

export interface BuildLogLine {
  ts: number;
  step: number;
  stream: "system" | "stdout" | "stderr";
  text: string;
}

export interface BuildOptions extends ClientOptions {
  client?: Client;
  dockerfile?: string;
  steps?: Array<Record<string, any>>;
  from?: string;
  /** An uploaded container image (a context id) as the base instead of `from`. */
  from_image?: string;
  context?: string | Uint8Array;
  build_args?: Record<string, string>;
  start_cmd?: string;
  ready_cmd?: string;
  ready_timeout_s?: number;
  no_cache?: boolean;
  vcpus?: number;
  memory_mb?: number;
  /** What its machines run on (default: the host's default runtime). */
  runtime?: "gvisor" | "vm";
  onLog?: (line: BuildLogLine) => void;
  wait?: boolean;
}

export const Template: {
  uploadContext(context: string | Uint8Array, opts?: ClientOptions & { client?: Client }): Promise<string>;
  build(name: string, opts?: BuildOptions): Promise<Record<string, any>>;
  logs(buildId: string, opts?: ClientOptions & { client?: Client; follow?: boolean; onLog?: (line: BuildLogLine) => void }): Promise<BuildLogLine[]>;
  get(ref: string, opts?: ClientOptions & { client?: Client }): Promise<Record<string, any>>;
  list(opts?: ClientOptions & { client?: Client }): Promise<Array<Record<string, any>>>;
  delete(ref: string, opts?: ClientOptions & { client?: Client }): Promise<Record<string, any>>;
  alias(ref: string, newName: string, opts?: ClientOptions & { client?: Client }): Promise<Record<string, any>>;
  setPool(ref: string, size: number, opts?: ClientOptions & { client?: Client }): Promise<Record<string, any>>;
  prune(opts?: ClientOptions & { client?: Client; olderThanS?: number }): Promise<{ cache_entries: number; contexts: number; images: number; layers: number }>;
};

/** The fields of a result, one per MIME type or typed form. */
export const RESULT_FORMATS: readonly string[];

/** One displayed value of a run (docs/code-interpreter.md, "Results"). */
export class Result {
  raw: Record<string, any>;
  isMainResult: boolean;
  text?: string;
  html?: string;
  markdown?: string;
  /** base64 */
  png?: string;
  /** base64 */
  jpeg?: string;
  svg?: string;
  /** base64 */
  pdf?: string;
  latex?: string;
  json?: any;
  javascript?: string;
  /** A matplotlib figure's data: type, title, labels, elements. */
  chart?: Record<string, any>;
  /** A DataFrame: columns, index, rows, total_rows. */
  data?: Record<string, any>;
  extra?: Record<string, any>;
  formats(): string[];
}

export interface ExecutionError {
  name: string;
  value: string;
  traceback: string;
}

export class Execution {
  results: Result[];
  logs: { stdout: string[]; stderr: string[] };
  error: ExecutionError | null;
  executionCount: number | null;
  context: string | null;
  /** The main result's text, or undefined. */
  readonly text: string | undefined;
}

export interface CodeContext {
  id: string;
  language: string;
  cwd: string;
}

export interface RunCodeOptions {
  /** python (default), r, javascript, typescript, java or bash; ignored when context is given. */
  language?: string;
  context?: CodeContext | string;
  /** This run's environment (its process environment; never code text). */
  env?: Record<string, string>;
  /** Interrupt the run after this long (default 300, 0: never). */
  timeoutS?: number;
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
  onResult?: (result: Result) => void;
  onError?: (error: ExecutionError) => void;
}

export interface CodeArtifact {
  id: string;
  /** Its path under the artifacts directory, or result-N.EXT for a large result. */
  name: string;
  size: number;
  mimeType: string;
  source: "file" | "result";
}

export type StartCodeOptions = Omit<RunCodeOptions, "onStdout" | "onStderr" | "onResult" | "onError">;

/** An asynchronous run (m.code.start). */
export class CodeRun {
  id: string;
  state: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  context: string;
  language: string;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  /** What it produced so far (null until fetched with refresh or wait). */
  execution: Execution | null;
  artifacts: CodeArtifact[];
  readonly done: boolean;
  /** Fetches the run again, waiting up to waitS (at most 60) for it to end. */
  refresh(waitS?: number): Promise<CodeRun>;
  /** Waits for the run to end (or timeoutS to pass). */
  wait(timeoutS?: number): Promise<Execution | null>;
  /** Resolves false when the run had already ended. */
  cancel(): Promise<boolean>;
  delete(): Promise<void>;
  readArtifact(artifact: CodeArtifact | string): Promise<Buffer>;
  downloadArtifact(artifact: CodeArtifact | string, file: string): Promise<string>;
}

export class Code {
  run(code: string, opts?: RunCodeOptions): Promise<Execution>;
  /** Starts a run and resolves at once; the code finds $NULLSPACE_ARTIFACTS_DIR. */
  start(code: string, opts?: StartCodeOptions): Promise<CodeRun>;
  /** Newest first, without their output. */
  listRuns(): Promise<CodeRun[]>;
  getRun(runId: string, waitS?: number): Promise<CodeRun>;
  createContext(opts?: { language?: string; cwd?: string; env?: Record<string, string> }): Promise<CodeContext>;
  listContexts(): Promise<CodeContext[]>;
  deleteContext(context: CodeContext | string): Promise<void>;
  restartContext(context: CodeContext | string): Promise<CodeContext>;
  /** Resolves whether a run was under way. */
  interrupt(context: CodeContext | string): Promise<boolean>;
}

/** A recording of a desktop's screen (m.desktop.startRecording), an MP4 on the host. */
export interface DesktopRecording {
  id: string;
  machine_id: string;
  state: "recording" | "stopped" | "failed";
  fps: number;
  started_at: number;
  ended_at: number | null;
  duration_ms?: number;
  bytes: number;
  /** why it ended, when it was not stopped */
  reason?: string;
}

/** A browser viewer of a desktop (m.desktop.viewer). */
export interface DesktopViewer {
  /** the page: the machine, mode and token ride in its fragment */
  url: string;
  machine_id: string;
  view_only: boolean;
  /** ms since the epoch: viewers may connect until then */
  expires_at: number;
  /** for a viewer of your own: the RFB WebSocket and the subprotocol that authorises it */
  websocket_url: string;
  websocket_protocol: string;
}

export interface DesktopWindow {
  id: number;
  title: string;
  /** Its WM_CLASS class (Chromium, st-256color). */
  app: string;
  pid: number | null;
  x: number;
  y: number;
  width: number;
  height: number;
  focused: boolean;
  minimized: boolean;
}

export type MouseButton = "left" | "middle" | "right";
export interface Point { x: number; y: number }

/** m.desktop: screenshots, mouse and keyboard input, windows, the clipboard and launching
 * applications (machines from the desktop template; others: DesktopNotAvailableError).
 * Input calls resolve once the machine's X server has the input, with the pointer's
 * position after. */
export class Desktop {
  screen(): Promise<{ width: number; height: number; depth: number }>;
  screenshot(opts?: { format?: "png" | "jpeg"; quality?: number; region?: { x: number; y: number; width: number; height: number }; scale?: number; cursor?: boolean }): Promise<Buffer>;
  cursorPosition(): Promise<Point>;
  move(x: number, y: number): Promise<Point>;
  click(x?: number, y?: number, opts?: { button?: MouseButton; double?: boolean; clicks?: number }): Promise<Point>;
  doubleClick(x?: number, y?: number, button?: MouseButton): Promise<Point>;
  rightClick(x?: number, y?: number): Promise<Point>;
  mouseDown(x?: number, y?: number, button?: MouseButton): Promise<Point>;
  mouseUp(x?: number, y?: number, button?: MouseButton): Promise<Point>;
  drag(from: [number, number], to: [number, number], button?: MouseButton): Promise<Point>;
  scroll(direction?: "up" | "down" | "left" | "right", amount?: number, x?: number, y?: number): Promise<Point>;
  type(text: string, opts?: { delayMs?: number }): Promise<{ typed: number }>;
  key(keys: string | string[], opts?: { delayMs?: number }): Promise<{ keys: string[] }>;
  windows(): Promise<DesktopWindow[]>;
  focus(window: DesktopWindow | number | string): Promise<DesktopWindow>;
  close(window: DesktopWindow | number | string): Promise<{ id: number; closing: boolean }>;
  clipboard(): Promise<string>;
  setClipboard(text: string): Promise<{ length: number }>;
  launch(opts: { app?: string; command?: string; env?: Record<string, string>; cwd?: string; waitS?: number }): Promise<{ pid: number; window: DesktopWindow | null }>;
  /** A URL of the daemon's browser viewer (noVNC): to watch (viewOnly: the daemon drops
   * the viewer's input) or take over; viewers may connect for expiresInS (default 900). */
  viewer(opts?: { viewOnly?: boolean; expiresInS?: number }): Promise<DesktopViewer>;
  startRecording(opts?: { fps?: number }): Promise<DesktopRecording>;
  stopRecording(recording: DesktopRecording | string): Promise<DesktopRecording>;
  recordings(): Promise<DesktopRecording[]>;
  recording(recording: DesktopRecording | string): Promise<DesktopRecording>;
  /** The MP4. */
  downloadRecording(recording: DesktopRecording | string): Promise<Buffer>;
  deleteRecording(recording: DesktopRecording | string): Promise<void>;
  /** Changes the screen's size (320x240 to 3840x2160). */
  resize(width: number, height: number): Promise<{ width: number; height: number; depth: number }>;
}

/** A deployment's revision (GET /v1/deployments/{name}/revisions/{number}). */
export interface RevisionInfo {
  deployment: string;
  number: number;
  state: "building" | "ready" | "failed";
  build_id: string;
  template: string;
  error?: string;
  created_at: number;
  ready_at?: number;
  command: string | string[];
  env: Record<string, string>;
  secrets: string[];
  vcpus: number;
  memory_mb: number;
  timeout_s: number;
  schedule: string | null;
  retain_failed_s: number;
  concurrency: "allow" | "forbid" | "replace";
  runtime: string;
}

/** A deployment as the API shows it. */
export interface DeploymentInfo {
  name: string;
  kind: "job" | "service";
  revision: number;
  created_at: number;
  updated_at: number;
  machine_id?: string | null;
  previous_machine_id?: string | null;
  url?: string;
  path_url?: string;
  live_revision?: RevisionInfo | null;
  latest_revision?: RevisionInfo | null;
}

/** A job's run as the API shows it. */
export interface RunInfo {
  id: string;
  deployment: string;
  revision: number;
  trigger: "manual" | "schedule";
  state: "starting" | "running" | "succeeded" | "failed" | "cancelled";
  exit_code: number | null;
  error: string | null;
  machine_id: string | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  retained: boolean;
  retained_until: number | null;
  log_bytes: number;
}

export interface DeployOptions extends ClientOptions {
  client?: Client;
  /** The project's directory: its files as git sees them, copied to /app. */
  directory?: string;
  command?: string;
  argv?: string[];
  from?: string;
  dockerfile?: string;
  steps?: object[];
  env?: Record<string, string>;
  secrets?: string[];
  vcpus?: number;
  memory_mb?: number;
  timeout_s?: number;
  schedule?: string;
  retain_failed_s?: number;
  concurrency?: "allow" | "forbid" | "replace";
  runtime?: "gvisor" | "vm";
  no_cache?: boolean;
  /** "service": kept running on `port`, live once GET health_path answers. */
  kind?: "job" | "service";
  port?: number;
  health_path?: string;
  restart?: "always" | "on-failure" | "never";
  idle_s?: number;
  health_timeout_s?: number;
  onLog?: (line: { ts: number; step: number; stream: string; text: string }) => void;
  wait?: boolean;
}

/** A job's run. */
export class Run {
  constructor(client: Client, info: RunInfo);
  client: Client;
  info: RunInfo;
  id: string;
  deployment: string;
  state: RunInfo["state"];
  exitCode: number | null;
  error: string | null;
  machineId: string | null;
  retained: boolean;
  readonly active: boolean;
  refresh(): Promise<Run>;
  /** Its log from byte `offset` on (secret values redacted), as text. */
  logs(offset?: number): Promise<string>;
  /** Waits until it ends; onOutput gets its output as it comes. */
  wait(opts?: { timeoutMs?: number; onOutput?: (text: string) => void }): Promise<Run>;
  /** Cancels it while it runs, or destroys its retained machine now. */
  cancel(): Promise<Run>;
}

/** A project deployed as a named job: revisions built from its files, runs in fresh machines. */
export class Deployment {
  constructor(client: Client, info: DeploymentInfo);
  client: Client;
  info: DeploymentInfo;
  name: string;
  kind: "job" | "service";
  revision: number;
  /** A service's URL (NAME.<preview domain>) and live machine. */
  url?: string;
  machineId?: string;
  /** A service's live output. */
  logs(): Promise<{ stdout: string; stderr: string }>;
  static deploy(name: string, opts?: DeployOptions & { wait?: true }): Promise<Deployment>;
  static deploy(name: string, opts: DeployOptions & { wait: false }): Promise<RevisionInfo>;
  static get(name: string, opts?: ClientOptions & { client?: Client }): Promise<Deployment>;
  static list(opts?: ClientOptions & { client?: Client }): Promise<Deployment[]>;
  revisions(): Promise<RevisionInfo[]>;
  rollback(revision: number): Promise<Deployment>;
  run(): Promise<Run>;
  runs(): Promise<Run[]>;
  getRun(id: string): Promise<Run>;
  delete(): Promise<void>;
}
