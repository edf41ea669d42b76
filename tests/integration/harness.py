"""Test harness: starts the real nullspaced on a free loopback port with a temporary
state directory, and talks to it with real HTTP clients and the real CLI."""

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

BUILD = os.environ.get("NULLSPACE_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
SOURCE = os.environ.get("NULLSPACE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
DAEMON = os.path.join(BUILD, "nullspaced")
CLI = os.path.join(BUILD, "nullspace")

_live = []


def read_text(path):
    with open(path, errors="replace") as f:
        return f.read()


@atexit.register
def _kill_leftovers():
    for d in list(_live):
        d.kill()


class Daemon:
    def __init__(self, args=(), env=None, state_dir=None, binary=None, base_pool=0):
        self.binary = binary or DAEMON  # another nullspaced (an installed layout's)
        self.own_dir = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="ns-it-")
        # no warm pool of base machines unless a test asks for one (None: the daemon's
        # default): the machines a test finds on the host are then the test's own
        pool = [] if base_pool is None else ["--base-pool", str(base_pool)]
        self.args = pool + list(args)
        self.env = dict(os.environ)
        self.env.pop("NULLSPACE_API_KEY", None)
        # the base template is built once per host and shared by every test daemon
        self.env.setdefault("NULLSPACE_CACHE_DIR", "/var/cache/nullspace")
        if env:
            self.env.update(env)
        self.proc = None
        self.log_path = os.path.join(self.state_dir, "daemon.log")

    def start(self, timeout=10):
        addr_file = os.path.join(self.state_dir, "nullspaced.addr")
        if os.path.exists(addr_file):
            os.unlink(addr_file)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            # --config: a host's /etc/nullspace/nullspaced.conf is not the tests'
            [self.binary, "--config", "/dev/null", "--state-dir", self.state_dir, "--listen",
             "127.0.0.1:0"] + self.args,
            stdout=self.log, stderr=self.log, env=self.env)
        _live.append(self)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.log.close()
                raise RuntimeError("daemon exited %d: %s" % (self.proc.returncode, self.read_log()))
            if os.path.exists(addr_file):
                self.addr = read_text(addr_file).strip()
                self.host, port = self.addr.rsplit(":", 1)
                self.port = int(port)
                self.url = "http://" + self.addr
                return self
            time.sleep(0.02)
        raise RuntimeError("daemon did not start: " + self.read_log())

    @property
    def key(self):
        if "NULLSPACE_API_KEY" in self.env:
            return self.env["NULLSPACE_API_KEY"]
        return read_text(os.path.join(self.state_dir, "api-key")).strip()

    def read_log(self):
        try:
            return read_text(self.log_path)
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stops the daemon and returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        if self in _live:
            _live.remove(self)
        self.log.close()
        self.proc = None
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.kill()
        self.sweep_machines()
        if self in _live:
            _live.remove(self)
        if self.own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def sweep_machines(self):
        """Machines outlive the daemon by design: tear down whatever a test left behind
        (sweep_state_dir)."""
        sweep_state_dir(self.state_dir)

    def destroy_all_machines(self):
        """Empties every warm pool (its members are machines no list shows), then
        destroys every machine."""
        empty_pools(self.request)
        st, _, page = self.request("GET", "/v1/machines?limit=1000")
        for m in page.get("machines", []) if st == 200 else []:
            if m["state"] != "destroyed":
                self.request("DELETE", "/v1/machines/" + m["id"])

    def build_template(self, body, timeout=240):
        """POSTs a template build and polls it until it is no longer building; returns
        (the first answer's status and body, the last state of the build)."""
        st, _, b = self.request("POST", "/v1/templates/builds", body)
        first = (st, b)
        deadline = time.time() + timeout
        while st == 202 and time.time() < deadline:
            _, _, b = self.request("GET", "/v1/templates/builds/" + b["id"])
            if b["state"] != "building":
                break
            time.sleep(0.2)
        return first, b

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # --- clients -------------------------------------------------------------------

    def conn(self, timeout=600):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, key=True, conn=None):
        """One request with http.client; returns (status, headers dict, parsed body)."""
        h = {}
        if key is True:
            h["Authorization"] = "Bearer " + self.key
        elif key:
            h["Authorization"] = "Bearer " + key
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c = conn or self.conn()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if hdrs.get("content-type", "").startswith("application/json") and data:
            data = json.loads(data)
        return r.status, hdrs, data

    def raw(self, payload, timeout=5, shut=True):
        """Sends raw bytes and returns everything the daemon answers until it closes."""
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            s.sendall(payload)
            if shut:
                s.shutdown(socket.SHUT_WR)
            try:
                return recv_until_closed(s)
            except socket.timeout:
                return b""
        finally:
            s.close()

    def client_env(self, **extra):
        """Our environment pointed at this daemon (URL, key, a HOME of its own), for the
        CLI, SDK and MCP clients the tests start."""
        return dict(os.environ, NULLSPACE_API_URL=self.url, NULLSPACE_API_KEY=self.key,
                    HOME=self.state_dir, **extra)

    def rss_kib(self):
        """The daemon's resident memory now (KiB)."""
        for line in read_text("/proc/%d/status" % self.proc.pid).splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

    def cli(self, *args, env=None, key=True, input=None, timeout=300):
        e = dict(os.environ)
        for k in ("NULLSPACE_API_KEY", "NULLSPACE_API_URL", "NULLSPACE_STATE_DIR"):
            e.pop(k, None)
        e["HOME"] = self.state_dir  # no user config leaks in
        e["XDG_CONFIG_HOME"] = os.path.join(self.state_dir, "xdg")
        e["NULLSPACE_API_URL"] = self.url
        if key:
            e["NULLSPACE_API_KEY"] = self.key
        if env:
            e.update(env)
        # an empty stdin unless given: never the test runner's own
        return subprocess.run([CLI] + list(args), env=e, capture_output=True, text=True,
                              input="" if input is None else input, timeout=timeout)


def empty_pools(request, timeout=60):
    """Sets every template's warm pool to 0 and waits until its members are gone.
    request(method, path, body) -> (status, headers, body), as Daemon.request."""
    st, _, page = request("GET", "/v1/templates?limit=1000")
    pooled = [t["name"] for t in (page.get("templates", []) if st == 200 else [])
              if (t.get("pool") or {}).get("size")]
    for name in pooled:
        request("PUT", "/v1/templates/%s/pool" % name, {"size": 0})
    deadline = time.time() + timeout
    for name in pooled:
        while time.time() < deadline:
            pool = request("GET", "/v1/templates/" + name)[2].get("pool") or {}
            if pool.get("ready", 0) + pool.get("creating", 0) == 0:
                break
            time.sleep(0.1)


def sweep_state_dir(state_dir):
    """Machines outlive the daemon by design: tear down whatever a test left behind,
    as the daemon's own destroy would (sandboxes, VMs, mounts, network namespaces,
    address claims, the nftables table). A start or restore still under way creates
    its sandbox only later, so containers are killed until no process of this state
    directory (shims, runsc, QEMU) is left, for at most 30 s."""
    mdir = os.path.join(state_dir, "machines")
    root = os.path.join(state_dir, "runsc")
    ids = os.listdir(mdir) if os.path.isdir(mdir) else []
    deadline = time.time() + 30
    while True:
        listed = subprocess.run(["runsc", "--root", root, "list", "-quiet"],
                                capture_output=True, text=True).stdout.split()
        for cid in set(listed) | set(ids):
            thaw(cid)  # a paused machine's processes cannot even die while frozen
        for cid in listed:
            subprocess.run(["runsc", "--root", root, "kill", cid, "KILL"],
                           capture_output=True)
            subprocess.run(["runsc", "--root", root, "delete", "--force", cid],
                           capture_output=True)
        for mid in ids:
            try:
                os.kill(int(read_text(os.path.join(mdir, mid, "qemu.pid")).strip()),
                        signal.SIGKILL)
            except (OSError, ValueError):
                pass
        alive = subprocess.run(["pgrep", "-f", mdir], capture_output=True).returncode == 0
        if (not listed and not alive) or time.time() > deadline:
            break
        time.sleep(0.1)
    subprocess.run(["pkill", "-9", "-f", mdir], capture_output=True)
    for mid in ids:
        subprocess.run(["umount", "-l", os.path.join(mdir, mid, "rootfs")],
                       capture_output=True)
        subprocess.run(["ip", "netns", "delete", "nsm-" + mid], capture_output=True)
        release_net_claim(mid)
    drop_nft_table(state_dir)
    sweep_volumes(state_dir)


def thaw(mid):
    """Continues machine mid if it is paused (its cgroup frozen, v1 or v2)."""
    for path, text in (("/sys/fs/cgroup/freezer/%s/freezer.state" % mid, "THAWED"),
                       ("/sys/fs/cgroup/%s/cgroup.freeze" % mid, "0")):
        try:
            with open(path, "w") as f:
                f.write(text)
        except OSError:
            pass


def sweep_volumes(state_dir):
    """Volumes are loop-mounted filesystems (and bind mounts of their subpaths) that a
    stopped daemon keeps: unmount them, which frees their loop devices."""
    vdir = os.path.join(state_dir, "volumes")
    for vid in os.listdir(vdir) if os.path.isdir(vdir) else []:
        binds = os.path.join(vdir, vid, "binds")
        for b in os.listdir(binds) if os.path.isdir(binds) else []:
            subprocess.run(["umount", "-l", os.path.join(binds, b)], capture_output=True)
        subprocess.run(["umount", "-l", os.path.join(vdir, vid, "mnt")], capture_output=True)


NET_CLAIMS = "/run/nullspace/net"
NET_TABLES = "/run/nullspace/tables"


def release_net_claim(mid):
    """Gives back a machine's address slot (runtime/net.c: CLAIMS/ID holds the slot,
    CLAIMS/SLOT the ID)."""
    try:
        slot = read_text(os.path.join(NET_CLAIMS, mid)).strip()
    except OSError:
        return
    for name in (slot, mid):
        try:
            os.unlink(os.path.join(NET_CLAIMS, name))
        except OSError:
            pass


def drop_nft_table(state_dir):
    """Deletes the nftables table of the daemon of state_dir (TABLES/NAME names its
    state dir)."""
    for name in (os.listdir(NET_TABLES) if os.path.isdir(NET_TABLES) else []):
        try:
            if read_text(os.path.join(NET_TABLES, name)).strip() != state_dir:
                continue
        except OSError:
            continue
        subprocess.run(["nft", "delete", "table", "inet", name], capture_output=True)
        drop_netns_pool(name)
        try:
            os.unlink(os.path.join(NET_TABLES, name))
        except OSError:
            pass


def drop_netns_pool(table):
    """Deletes the network namespaces a daemon made ahead of machines (runtime/net_pool.c:
    namespace nspHASH-SLOT, claimed as CLAIMS/npHASH-SLOT) and frees their slots."""
    prefix = "np" + table[len("nullspace_"):] + "-"
    for name in (os.listdir(NET_CLAIMS) if os.path.isdir(NET_CLAIMS) else []):
        if not name.startswith(prefix) or "." in name:
            continue
        slot = name[len(prefix):]
        subprocess.run(["ip", "netns", "delete", "nsp" + name[2:]], capture_output=True)
        try:
            if read_text(os.path.join(NET_CLAIMS, slot)).strip() == name:
                os.unlink(os.path.join(NET_CLAIMS, slot))
        except OSError:
            pass
        try:
            os.unlink(os.path.join(NET_CLAIMS, name))
        except OSError:
            pass
    for name in (os.listdir("/run/netns") if os.path.isdir("/run/netns") else []):
        if name.startswith("nsp" + prefix[2:]):  # its claim went first
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def run_bounded(argv, timeout, input=None, **kw):
    """Runs argv in a session of its own (input, when given, on its stdin) and returns the
    CompletedProcess; on timeout the whole group (npm's node child included) is killed and
    AssertionError carries what it printed so far, so a hang names where it hung instead
    of running into CTest's limit."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.PIPE if input is not None else None,
                         start_new_session=True, **kw)
    try:
        out, err = p.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        raise AssertionError("%s: no end after %d s\n%s\n%s" %
                             (" ".join(argv), timeout, out[-6000:], err[-3000:]))
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def npm_test(d, cwd, env, timeout):
    """Runs `npm test` (node:test) in cwd against daemon d and asserts it passed; a
    failure or hang carries the test output and the daemon's log."""
    try:
        r = run_bounded(["npm", "test", "--silent"], timeout, cwd=cwd, env=env)
    except AssertionError as e:
        raise AssertionError("%s\ndaemon log:\n%s" % (e, d.read_log()[-6000:]))
    assert r.returncode == 0 and "# fail 0" in r.stdout, (
        r.stdout[-6000:] + r.stderr[-2000:] + "\ndaemon log:\n" + d.read_log()[-6000:])
    return r


def e2b_sdk_test(d, script, passes, timeout=400):
    """Runs tests/e2b/SCRIPT (node:test, E2B's SDKs from npm) against daemon d through
    E2B_API_URL and E2B_SANDBOX_URL with a key of E2B's form, and asserts `passes` tests
    passed and none failed; a failure or hang carries the output and the daemon's log."""
    st, _, k = d.request("POST", "/v1/keys", {"name": "e2b-" + script, "format": "e2b"})
    assert st == 201, k
    env = {n: v for n, v in os.environ.items() if not n.startswith("E2B_")}
    env.update(E2B_API_URL=d.url + "/e2b", E2B_SANDBOX_URL=d.url + "/e2b/envd",
               E2B_API_KEY=k["key"])
    try:
        r = run_bounded(["node", "--test", "--test-timeout=180000", "--test-concurrency=1",
                         script], timeout, cwd=os.path.join(SOURCE, "tests", "e2b"), env=env)
    except AssertionError as e:
        raise AssertionError("%s\ndaemon log:\n%s" % (e, d.read_log()[-6000:]))
    assert r.returncode == 0 and "# pass %d" % passes in r.stdout and "# fail 0" in r.stdout, (
        r.stdout[-6000:] + r.stderr[-2000:] + "\ndaemon log:\n" + d.read_log()[-4000:])


def recv_until_closed(sock):
    """Reads everything the peer sends until it closes the connection."""
    out = b""
    while True:
        d = sock.recv(65536)
        if not d:
            return out
        out += d


def error_code(body):
    return body["error"]["code"] if isinstance(body, dict) and "error" in body else None


class DaemonTest(unittest.TestCase):
    """Starts one daemon per test class; checks it never crashed and exits cleanly."""

    daemon_args = ()
    daemon_env = None
    base_pool = 0  # None: the daemon's default pool

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(cls.daemon_args, cls.daemon_env, base_pool=cls.base_pool).start()

    @classmethod
    def tearDownClass(cls):
        assert_clean_exit(cls.d)


def assert_clean_exit(d):
    """Stops d with SIGTERM; it must have been alive, exit 0, and log no sanitizer report."""
    alive = d.alive()
    if alive:
        d.destroy_all_machines()
    rc = d.stop()
    log = d.read_log()
    d.cleanup()
    assert alive, "daemon died during the tests:\n" + log
    assert rc == 0, "daemon exited %s:\n%s" % (rc, log[-4000:])
    assert "Sanitizer" not in log, log[-4000:]
    leaked = leaked_claims(log)
    assert not leaked, "address claims outlived their machines:\n" + "\n".join(
        line for line in log.splitlines() if any(mid in line for mid in leaked))[-6000:]


def leaked_claims(log, wait_s=10):
    """The machines named in a daemon's log whose address claim is still there once the
    daemon stopped and its machines were swept (a destroy helper outlives the daemon: it
    is given wait_s to finish). They are released, so that one leak fails one test."""
    ids = set(re.findall(r"machine=(m_[0-9a-f]{16})", log))
    deadline = time.time() + wait_s
    while True:
        leaked = sorted(mid for mid in ids if os.path.exists(os.path.join(NET_CLAIMS, mid)))
        if not leaked or time.time() > deadline:
            break
        time.sleep(0.2)
    for mid in leaked:
        release_net_claim(mid)
    return leaked
