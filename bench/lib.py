"""Shared by the bench/*/run.py scripts: a throwaway daemon, raw gVisor sandboxes built
the way a machine is (overlay over the base template, OCI bundle), and percentiles."""

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import empty_pools, sweep_state_dir  # noqa: E402  (one clean-up for both)
BUILD = os.path.join(ROOT, "build")
CACHE = os.environ.get("NULLSPACE_CACHE_DIR", "/var/cache/nullspace")
BASE_ROOTFS = os.path.join(CACHE, "templates/base/rootfs")


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def summary(name, ms):
    return "%-44s p50 %8.2f ms   p99 %8.2f ms   (n=%d)" % (name, pct(ms, 50), pct(ms, 99), len(ms))


def du_bytes(path):
    # -x: a machine's directory holds its mounted root filesystem; count only its own files
    out = subprocess.run(["du", "-sbx", path], capture_output=True, text=True).stdout
    return int(out.split()[0]) if out else 0


class Daemon:
    """nullspaced on a free loopback port with a temporary state directory."""

    def __init__(self, args=()):
        self.dir = tempfile.mkdtemp(prefix="ns-bench-")
        env = dict(os.environ, NULLSPACE_CACHE_DIR=CACHE)
        env.pop("NULLSPACE_API_KEY", None)  # else it becomes the first key: no api-key file
        self.proc = subprocess.Popen([os.path.join(BUILD, "nullspaced"), "--state-dir", self.dir,
                                      "--listen", "127.0.0.1:0", "--log-level", "warn",
                                      "--max-connections", "4096"] + list(args),
                                     env=env, stderr=open(os.path.join(self.dir, "log"), "wb"))
        for _ in range(200):
            if os.path.exists(os.path.join(self.dir, "nullspaced.addr")):
                break
            time.sleep(0.02)
        with open(os.path.join(self.dir, "nullspaced.addr")) as f:
            host, port = f.read().strip().rsplit(":", 1)
        self.host, self.port = host, int(port)
        with open(os.path.join(self.dir, "api-key")) as f:
            self.key = f.read().strip()

    def call(self, method, path, body=None, raw=False, conn=None):
        c = conn or http.client.HTTPConnection(self.host, self.port, timeout=900)
        h = {"Authorization": "Bearer " + self.key}
        if body is not None and not raw:
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        if r.status >= 300:
            raise RuntimeError("%s %s -> %d %s" % (method, path, r.status, data[:200]))
        return json.loads(data) if r.getheader("Content-Type", "").startswith("application/json") else data

    def build(self, body):
        """Builds a template (POST /v1/templates/builds, polled); ms it took."""
        t0 = time.monotonic()
        b = self.call("POST", "/v1/templates/builds", body)
        while b["state"] == "building":
            time.sleep(0.05)
            b = self.call("GET", "/v1/templates/builds/" + b["id"])
        if b["state"] != "ready":
            raise RuntimeError("build failed: %s" % b["error"])
        return (time.monotonic() - t0) * 1000

    def destroy_all(self, ids, nthreads=4):
        """Destroys ids, a few at a time (a thousand connections at once overflow the
        daemon's listen backlog and time out)."""
        ids = list(ids)
        threads = [threading.Thread(target=lambda c=ids[k::nthreads]: [
            self.request("DELETE", "/v1/machines/" + i) for i in c]) for k in range(nthreads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def request(self, method, path, body=None):
        """(status, headers, body) without raising, for the shared clean-up."""
        try:
            return 200, {}, self.call(method, path, body)
        except (RuntimeError, OSError):
            return 500, {}, {}

    def stop(self):
        """Destroys everything the bench made (warm pools first: their members outlive a
        stopped daemon like every machine), stops the daemon, then sweeps whatever is
        still there — also after a bench that failed half-way."""
        try:
            if self.proc.poll() is None:
                empty_pools(self.request)
                page = self.request("GET", "/v1/machines?limit=1000")[2]
                self.destroy_all([m["id"] for m in page.get("machines", [])
                                  if m["state"] != "destroyed"])
        finally:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(120)
            sweep_state_dir(self.dir)
            shutil.rmtree(self.dir, ignore_errors=True)


class RawSandbox:
    """A bare `runsc` container over an overlay of the base template, like a machine but
    with `args` as its process and no daemon, shim or agent. With `machine_mounts` it
    also gets the mounts a machine has (/dev as tmpfs, /sys); with `like` (a machine's
    bundle/config.json) it takes that whole OCI config (mounts, capabilities, limits)
    and only swaps in its own root and process: the equivalent sandbox. With `network`
    it gets what a machine's network is: its own namespace with a veth pair and
    addresses, and gVisor's netstack on it (`--network sandbox`)."""

    def __init__(self, work, name, args, memory_mb=512, machine_mounts=False, like=None,
                 network=False):
        self.work, self.name = work, name
        self.netns = None
        if network:
            self.netns = "nsraw-%d-%s" % (os.getpid(), name)
            n = abs(hash(self.netns)) % 16000 + 1
            host, guest = "10.%d.%d.%d" % (210, n >> 6, (n & 63) * 4 + 1), None
            guest = host.rsplit(".", 1)[0] + ".%d" % (int(host.rsplit(".", 1)[1]) + 1)
            veth = "nsr%x" % (abs(hash(self.netns)) & 0xfffffff)
            for cmd in (["ip", "netns", "add", self.netns],
                        ["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0",
                         "netns", self.netns],
                        ["ip", "addr", "add", host + "/30", "dev", veth],
                        ["ip", "link", "set", veth, "up"],
                        ["ip", "-n", self.netns, "addr", "add", guest + "/30", "dev", "eth0"],
                        ["ip", "-n", self.netns, "link", "set", "eth0", "up"],
                        ["ip", "-n", self.netns, "link", "set", "lo", "up"]):
                subprocess.run(cmd, check=True)
        self.dir = os.path.join(work, name)
        self.root = os.path.join(work, "runsc")
        for sub in ("upper", "work", "rootfs", "bundle"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        os.chmod(os.path.join(self.dir, "upper"), 0o755)
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (
                            BASE_ROOTFS, self.dir, self.dir),
                        os.path.join(self.dir, "rootfs")], check=True)
        cfg = {"ociVersion": "1.0.2",
               "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": args,
                           "env": ["PATH=/usr/bin:/bin"], "cwd": "/"},
               "root": {"path": os.path.join(self.dir, "rootfs")}, "hostname": "raw",
               "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}] + ([
                   {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "mode=755"]},
                   {"destination": "/sys", "type": "sysfs", "source": "sysfs",
                    "options": ["nosuid", "noexec", "nodev", "ro"]}] if machine_mounts else []),
               "linux": {"namespaces": [{"type": t} for t in
                                        ("pid", "ipc", "uts", "mount", "network")],
                         "resources": {"memory": {"limit": memory_mb << 20}}}}
        if self.netns:
            cfg["linux"]["namespaces"][-1]["path"] = "/run/netns/" + self.netns
        if like:  # a machine's own OCI config, with our root and process
            with open(like) as f:
                base = json.load(f)
            base["root"], base["process"]["args"] = cfg["root"], args
            base["process"]["env"], base["hostname"] = cfg["process"]["env"], "raw"
            base["linux"]["resources"]["memory"]["limit"] = memory_mb << 20
            cfg = base
        with open(os.path.join(self.dir, "bundle/config.json"), "w") as f:
            json.dump(cfg, f)

    def runsc(self, *args, check=True):
        # a detached sandbox inherits our descriptors: never hand it a pipe we wait on
        with open(os.path.join(self.dir, "runsc.log"), "ab") as log:
            argv = ["runsc", "--root", self.root, "--network",
                    "sandbox" if self.netns else "none"] + list(args)
            if self.netns:  # as the daemon does (src/runtime/net.c: net_enter)
                argv = ["unshare", "-m", "--propagation", "slave", "nsenter",
                        "--net=/run/netns/" + self.netns, "sh", "-c",
                        'mount -t tmpfs none /proc/sys/net/core && exec "$@"', "-"] + argv
            return subprocess.run(argv, check=check, stdout=subprocess.DEVNULL, stderr=log)

    def bundle(self):
        return os.path.join(self.dir, "bundle")

    def close(self):
        self.runsc("kill", self.name, "KILL", check=False)
        for _ in range(20):
            if self.runsc("delete", "--force", self.name, check=False).returncode == 0:
                break
            time.sleep(0.1)
        subprocess.run(["umount", "-l", os.path.join(self.dir, "rootfs")], check=False)
        if self.netns:
            subprocess.run(["ip", "netns", "delete", self.netns], check=False)


def runsc_argv(root, machine_id, *args):
    """argv of a runsc call on a daemon's machine: runsc reaches a sandbox only from the
    machine's network namespace (its control socket is an abstract socket)."""
    return ["nsenter", "--net=/run/netns/nsm-" + machine_id, "runsc", "--root", root] + list(args)
