// The desktop viewer nullspaced serves at /viewer/ (docs/desktop.md, "Viewer"). The URL's
// fragment names the machine, the mode and the viewer token: it never reaches a server or
// a log. The token goes to the daemon as the WebSocket's subprotocol; the daemon relays
// RFB to the machine's VNC server and drops a view-only viewer's input itself.
import RFB from "./novnc/core/rfb.js";

const params = new URLSearchParams(location.hash.slice(1));
const machine = params.get("machine") || "";
const token = params.get("token") || "";
const viewOnly = params.get("mode") !== "control";
const statusEl = document.getElementById("status");
const button = document.getElementById("reconnect");
let rfb = null;

// What a close code from the daemon means (4000 + the HTTP status of its error code).
// A socket refused before it opened (an expired or wrong token: 403) shows as 1006.
function closeText(ev, opened) {
  if (!opened && ev.code === 1006)
    return "could not connect: the URL's token may have expired (ask for a new viewer URL)";
  if (ev.code >= 4000 && ev.code < 5000)
    return ev.reason || "refused (" + (ev.code - 4000) + ")";
  if (ev.code === 1001)
    return "the machine's desktop went away (stopped or hibernated): reconnect resumes it";
  return ev.reason || "disconnected";
}

function show(text, failed) {
  statusEl.textContent = text;
  statusEl.className = failed ? "failed" : "";
  button.hidden = !failed;
}

function connect() {
  if (!machine || !token) {
    show("this URL has no viewer token: ask for one (POST /v1/machines/ID/desktop/viewer)", true);
    return;
  }
  show("connecting…", false);
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const url = scheme + location.host + "/v1/machines/" + encodeURIComponent(machine) +
      "/desktop/viewer/socket";
  const ws = new WebSocket(url, ["nullspace." + (viewOnly ? "view" : "control") + "." + token]);
  let closed = null, opened = false;
  ws.addEventListener("open", () => { opened = true; });
  ws.addEventListener("close", (ev) => { closed = ev; });
  rfb = new RFB(document.getElementById("screen"), ws, { shared: true });
  rfb.viewOnly = viewOnly;
  rfb.scaleViewport = true;
  rfb.focusOnClick = true;
  rfb.addEventListener("connect", () => show("connected", false));
  rfb.addEventListener("disconnect", () => {
    // the socket's close event has come by now: it says why
    show(closed ? closeText(closed, opened) : "disconnected", true);
    rfb = null;
  });
  window.nullspaceViewer = { get rfb() { return rfb; } }; // for tests and embedders
}

document.getElementById("mode").textContent = viewOnly ? "view only" : "control";
document.title = "Nullspace desktop " + machine;
button.addEventListener("click", connect);
connect();
