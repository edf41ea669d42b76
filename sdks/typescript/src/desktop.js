// The desktop (docs/desktop.md) of machines from the desktop template: m.desktop takes
// screenshots, sends mouse and keyboard input, lists, focuses and closes windows, reads
// and sets the clipboard, launches applications and hands out browser viewer URLs. Every
// input call resolves once the machine's X server has the input.

function at(x, y, fields) {
  return x === undefined && y === undefined ? fields : { x, y, ...fields };
}

function recId(r) {
  return encodeURIComponent(String(typeof r === "object" ? r.id : r));
}

function windowId(w) {
  return encodeURIComponent(String(typeof w === "object" ? w.id : w));
}

/** m.desktop. Errors are the daemon's typed errors (DesktopNotAvailableError on a
 * machine of another template, DesktopWindowNotFoundError, DesktopAppNotFoundError,
 * InvalidFieldError, ...). */
export class Desktop {
  constructor(machine) {
    this.machine = machine;
  }

  call(method, suffix, opts) {
    return this.machine.client.request(method, this.machine.path(`/desktop${suffix}`), opts);
  }

  /** { width, height, depth } of the screen. */
  screen() {
    return this.call("GET", "/screen");
  }

  /** The screen as a PNG (or JPEG: format "jpeg", quality 1-100) Buffer; region
   * { x, y, width, height } crops, scale (0.05-1) shrinks, cursor draws the pointer. */
  screenshot({ format = "png", quality, region, scale, cursor } = {}) {
    const query = { format, quality, scale, cursor: cursor ? "true" : undefined, ...(region || {}) };
    return this.call("GET", "/screenshot", { query, decode: false });
  }

  /** { x, y } of the mouse pointer. */
  cursorPosition() {
    return this.call("GET", "/mouse");
  }

  move(x, y) {
    return this.call("POST", "/mouse/move", { body: { x, y } });
  }

  /** Clicks opts.button (left, middle, right; opts.double, opts.clicks) at (x, y), or
   * where the pointer is when x and y are undefined. */
  click(x, y, { button = "left", double = false, clicks } = {}) {
    return this.call("POST", "/mouse/click", { body: at(x, y, { button, double, clicks }) });
  }

  doubleClick(x, y, button = "left") {
    return this.click(x, y, { button, double: true });
  }

  rightClick(x, y) {
    return this.click(x, y, { button: "right" });
  }

  mouseDown(x, y, button = "left") {
    return this.call("POST", "/mouse/down", { body: at(x, y, { button }) });
  }

  mouseUp(x, y, button = "left") {
    return this.call("POST", "/mouse/up", { body: at(x, y, { button }) });
  }

  /** Drags from [x, y] to [x, y] with button held. */
  drag(from, to, button = "left") {
    return this.call("POST", "/mouse/drag", { body: { x: from[0], y: from[1], to_x: to[0], to_y: to[1], button } });
  }

  /** Turns the wheel amount steps up, down, left or right (at x, y when given). */
  scroll(direction = "down", amount = 3, x, y) {
    return this.call("POST", "/mouse/scroll", { body: at(x, y, { direction, amount }) });
  }

  /** Types text (any Unicode) into the focused window. */
  type(text, { delayMs } = {}) {
    return this.call("POST", "/keyboard/type", { body: { text, delay_ms: delayMs } });
  }

  /** Presses keys or combinations one after another: key("ctrl+shift+t"),
   * key(["esc", "enter"]). */
  key(keys, { delayMs } = {}) {
    return this.call("POST", "/keyboard/key", { body: { keys: Array.isArray(keys) ? keys : [keys], delay_ms: delayMs } });
  }

  /** The application windows: [{ id, title, app, pid, x, y, width, height, focused, minimized }]. */
  windows() {
    return this.call("GET", "/windows");
  }

  /** Raises and focuses a window (its id or the window); resolves the window after. */
  focus(window) {
    return this.call("POST", `/windows/${windowId(window)}/focus`);
  }

  /** Asks a window to close, as its close button does. */
  close(window) {
    return this.call("POST", `/windows/${windowId(window)}/close`);
  }

  /** The clipboard's text ("" when it holds none). */
  async clipboard() {
    return (await this.call("GET", "/clipboard")).text;
  }

  setClipboard(text) {
    return this.call("PUT", "/clipboard", { body: { text } });
  }

  /** Starts a desktop entry ({ app: "chromium" }) or a shell command ({ command }) in the
   * session; resolves { pid, window } (the new window with waitS, else null). */
  launch({ app, command, env, cwd, waitS } = {}) {
    return this.call("POST", "/launch", { body: { app, command, env, cwd, wait_s: waitS }, wait: true });
  }

  /** Changes the screen's size (320x240 to 3840x2160; windows stay open, viewers follow);
   * resolves { width, height, depth }. The first size comes with the machine:
   * Machine.create({ template: "desktop", desktop: { width: 1920, height: 1080 } }). */
  resize(width, height) {
    return this.call("PUT", "/screen", { body: { width, height } });
  }

  /** Starts recording the screen into an MP4 kept on the host ({ fps }: 1-30, default
   * 10); resolves { id, state: "recording", ... }. A hibernate, snapshot or fork ends it. */
  startRecording({ fps } = {}) {
    return this.call("POST", "/recordings", { body: { fps } });
  }

  /** Stops a recording; resolves it once its file is complete. */
  stopRecording(recording) {
    return this.call("POST", `/recordings/${recId(recording)}/stop`);
  }

  /** The machine's recordings, newest first (also after the machine is destroyed). */
  async recordings() {
    return (await this.call("GET", "/recordings")).recordings;
  }

  recording(recording) {
    return this.call("GET", `/recordings/${recId(recording)}`);
  }

  /** The recording's MP4 (a Buffer). */
  downloadRecording(recording) {
    return this.call("GET", `/recordings/${recId(recording)}/file`);
  }

  deleteRecording(recording) {
    return this.call("DELETE", `/recordings/${recId(recording)}`);
  }

  /** A URL of the daemon's browser viewer (noVNC) for this desktop, to watch ({ viewOnly:
   * true }: the daemon drops the viewer's input) or take over; viewers may connect for
   * expiresInS (default 900, max 86400). Connecting resumes a hibernated machine. */
  viewer({ viewOnly = false, expiresInS } = {}) {
    return this.call("POST", "/viewer", { body: { view_only: viewOnly, expires_in_s: expiresInS } });
  }
}
