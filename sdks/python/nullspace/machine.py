"""Machines and what runs in them: Machine (create, connect, list, kill, hibernate,
resume, fork, snapshots), m.commands (run, background processes), m.files and m.pty."""

import base64
import hashlib
import io
import os
import tarfile
import tempfile
import time
import urllib.parse

from .code import Code
from .desktop import Desktop
from .client import Client
from .errors import ConnectionFailedError, RequestTimeoutError, ShuttingDownError


def _client(client, api_url, api_key):
    return client or Client(api_url, api_key)


def _pages(c, path, key, **query):
    """Every item of a paginated list (all pages)."""
    out, cursor = [], None
    while True:
        page = c.request("GET", path, query=dict(query, cursor=cursor, limit=1000))
        out += page[key]
        cursor = page.get("next_cursor")
        if not cursor:
            return out


class CommandResult:
    """A finished command: stdout and stderr (str), exit_code, and the rest of the
    daemon's answer (duration_ms, timed_out, signal) in .info."""

    def __init__(self, stdout, stderr, info):
        self.stdout, self.stderr = stdout, stderr
        self.exit_code = info.get("exit_code")
        self.info = info

    def __repr__(self):
        return "CommandResult(exit_code=%r, stdout=%r, stderr=%r)" % (
            self.exit_code, self.stdout[:80], self.stderr[:80])


def _follow(s, channel, on_stdout, on_stderr):
    """Reads a channel to its end, calling the callbacks with text as it comes."""
    out = {1: bytearray(), 2: bytearray()}
    while True:
        msg = s.next()
        if msg.get("channel") != channel:
            continue
        if msg["type"] == "data":
            out[msg["stream"]] += msg["data"]
            cb = on_stdout if msg["stream"] == 1 else on_stderr
            if cb:
                cb(bytes(msg["data"]).decode(errors="replace"))
        elif msg["type"] in ("exit", "detached"):
            return (out[1].decode(errors="replace"), out[2].decode(errors="replace"), msg)


class CommandHandle:
    """A background process: .pid, .tag; wait() follows it to its end (replaying what
    it already printed), kill() signals it, send_stdin() writes to it."""

    def __init__(self, machine, pid, tag="", on_stdout=None, on_stderr=None):
        self.machine, self.pid, self.tag = machine, pid, tag
        self.on_stdout, self.on_stderr = on_stdout, on_stderr

    def wait(self):
        s = self.machine.client.streams()
        try:
            r = s.call("process.attach", machine=self.machine.id, pid=self.pid)
            out, err, end = _follow(s, r["channel"], self.on_stdout, self.on_stderr)
        finally:
            s.close()
        if end["type"] == "detached":
            raise ConnectionError("detached from process %d: %s" % (self.pid, end["reason"]))
        return CommandResult(out, err, end)

    def kill(self, signal="KILL"):
        self.machine.commands.kill(self.pid, signal)

    def send_stdin(self, data, eof=False):
        self.machine.commands.send_stdin(self.pid, data, eof)

    def logs(self):
        return self.machine.commands.logs(self.pid)


class Commands:
    def __init__(self, machine):
        self.m = machine

    def run(self, cmd, background=False, on_stdout=None, on_stderr=None, timeout=None,
            env=None, cwd=None, user=None, tag=None, stdin=None):
        """Runs `cmd` (a shell line, or a list for argv). In the foreground returns a
        CommandResult (streamed through the callbacks as it runs when any is given);
        with background=True returns a CommandHandle at once."""
        spec = {"cmd": cmd} if isinstance(cmd, str) else {"argv": list(cmd)}
        for k, v in (("env", env), ("cwd", cwd), ("user", user), ("timeout_s", timeout)):
            if v is not None:
                spec[k] = v
        if background:
            if tag:
                spec["tag"] = tag
            p = self.m.client.request("POST", self.m._path("/processes"), body=spec)
            return CommandHandle(self.m, p["pid"], p.get("tag", ""), on_stdout, on_stderr)
        if not on_stdout and not on_stderr:
            if stdin is not None:
                spec["stdin"] = stdin
            r = self.m.client.request("POST", self.m._path("/exec"), body=spec, wait=True)
            return CommandResult(r["stdout"], r["stderr"], r)
        s = self.m.client.streams()
        try:
            r = s.call("exec", machine=self.m.id, stdin=stdin is not None, **spec)
            if stdin is not None:
                s.stdin(r["channel"], stdin.encode() if isinstance(stdin, str) else stdin)
                s.stdin(r["channel"], b"")
            out, err, end = _follow(s, r["channel"], on_stdout, on_stderr)
        finally:
            s.close()
        return CommandResult(out, err, end)

    def connect(self, pid, on_stdout=None, on_stderr=None):
        """A handle on a running (or finished) background process by PID or tag."""
        return CommandHandle(self.m, pid, "", on_stdout, on_stderr)

    def list(self):
        return self.m.client.request("GET", self.m._path("/processes"))["processes"]

    def send_stdin(self, pid, data, eof=False):
        raw = data.encode() if isinstance(data, str) else bytes(data)
        self.m.client.request("POST", self.m._path("/processes/%s/stdin" % pid),
                              body={"data": base64.b64encode(raw).decode(),
                                    "encoding": "base64", "eof": eof})

    def kill(self, pid, signal="KILL"):
        self.m.client.request("POST", self.m._path("/processes/%s/signal" % pid),
                              body={"signal": str(signal)})

    def logs(self, pid):
        return self.m.client.request("GET", self.m._path("/processes/%s/logs" % pid))


class WatchHandle:
    """Events of a watched directory: iterate (blocks), or poll(timeout)."""

    def __init__(self, s, channel):
        self.s, self.channel = s, channel

    def poll(self, timeout):
        end = time.monotonic() + timeout
        while True:
            msg = self.s.poll(max(0.0, end - time.monotonic()))
            if msg is None:
                return None
            if msg.get("channel") == self.channel and msg["type"] == "watch":
                return msg["event"]
            if msg.get("channel") == self.channel:
                raise StopIteration

    def __iter__(self):
        while True:
            try:
                ev = self.poll(3600)
            except StopIteration:
                return
            if ev is not None:
                yield ev

    def close(self):
        self.s.close()


class Files:
    """A machine's files, or a volume's (the same calls; Volume.files)."""

    def __init__(self, machine):
        self.m = machine

    def upload_file(self, local, remote, progress=None, piece=8 << 20, retries=5):
        """Copies the local file `local` to `remote` as a resumable upload: pieces of
        `piece` bytes; a piece that fails on the way (connection, timeout, a restarting
        daemon) is retried up to `retries` times from the offset the daemon holds; the
        SHA-256 is checked at the end. progress(done, total) is called as bytes go."""
        c = self.m.client
        size = os.path.getsize(local)
        h = hashlib.sha256()
        with open(local, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        mode = "%o" % (os.stat(local).st_mode & 0o777)
        u = c.request("POST", self.m._path("/uploads"),
                      body={"path": remote, "size": size, "sha256": h.hexdigest(), "mode": mode})
        up, offset, tries = self.m._path("/uploads/" + u["id"]), 0, 0
        with open(local, "rb") as f:
            while offset < size:
                f.seek(offset)
                n = min(piece, size - offset)
                try:
                    r = c.transfer("PUT", up, query={"offset": offset},
                                   body=io.BytesIO(f.read(n)), size=n)
                    offset, tries = r["offset"], 0
                    if progress:
                        progress(offset, size)
                except (ConnectionFailedError, RequestTimeoutError, ShuttingDownError):
                    tries += 1
                    if tries > retries:
                        raise
                    time.sleep(min(0.2 * 2 ** tries, 5))
                    offset = c.request("GET", up)["offset"]
        return c.request("POST", up + "/complete", wait=True)

    def download_file(self, remote, local, progress=None):
        """Streams the file `remote` into the local file `local`; returns its size."""
        with open(local, "wb") as out:
            return self.m.client.transfer("GET", self.m._path("/files"),
                                          query={"path": remote}, sink=out, progress=progress)

    def upload_dir(self, local_dir, remote_dir, progress=None):
        """Copies a local directory's tree beneath `remote_dir` (a tar stream; members
        that would leave it are refused by the daemon). Returns {path, bytes, entries}."""
        with tempfile.TemporaryFile() as tmp:
            with tarfile.open(fileobj=tmp, mode="w") as t:
                for name in sorted(os.listdir(local_dir)):
                    t.add(os.path.join(local_dir, name), arcname=name)
            size = tmp.tell()
            tmp.seek(0)
            return self.m.client.transfer("PUT", self.m._path("/files"),
                                          query={"path": remote_dir, "format": "tar"},
                                          body=tmp, size=size, progress=progress,
                                          content_type="application/x-tar")

    def download_dir(self, remote_dir, local_dir, progress=None):
        """Copies the tree beneath `remote_dir` into `local_dir` (made when missing),
        through a tar stream; nothing it holds is written outside local_dir."""
        os.makedirs(local_dir, exist_ok=True)
        with tempfile.TemporaryFile() as tmp:
            self.m.client.transfer("GET", self.m._path("/files"),
                                   query={"path": remote_dir, "format": "tar"}, sink=tmp,
                                   progress=progress)
            tmp.seek(0)
            with tarfile.open(fileobj=tmp, mode="r") as t:
                if hasattr(tarfile, "data_filter"):
                    t.extractall(local_dir, filter="data")
                else:  # older Pythons: refuse what would leave local_dir
                    root = os.path.realpath(local_dir)
                    for m in t.getmembers():
                        dest = os.path.realpath(os.path.join(local_dir, m.name))
                        if os.path.commonpath([root, dest]) != root or m.isdev():
                            raise ValueError("unsafe member %r" % m.name)
                    t.extractall(local_dir)

    def read_bytes(self, path):
        return self.m.client.request("GET", self.m._path("/files"), query={"path": path})

    def read(self, path):
        return self.read_bytes(path).decode()

    def write(self, path, data, mode=None):
        raw = data.encode() if isinstance(data, str) else bytes(data)
        return self.m.client.request("PUT", self.m._path("/files"),
                                     query={"path": path, "mode": mode}, raw=raw)

    def list(self, path, depth=1):
        return self.m.client.request("GET", self.m._path("/files/list"),
                                     query={"path": path, "depth": depth})

    def exists(self, path):
        return self.m.client.request("GET", self.m._path("/files/exists"),
                                     query={"path": path})["exists"]

    def remove(self, path):
        self.m.client.request("DELETE", self.m._path("/files"), query={"path": path})

    def rename(self, path, to):
        return self.m.client.request("POST", self.m._path("/files/rename"),
                                     body={"path": path, "to": to})

    def chmod(self, path, mode):
        """Sets permission bits (an int like 0o755, or octal text like "755")."""
        mode = mode if isinstance(mode, str) else "%o" % mode
        return self.m.client.request("POST", self.m._path("/files/chmod"),
                                     body={"path": path, "mode": mode})

    def write_files(self, files):
        """Writes many small files in one request: a list of (path, data) pairs, data str
        or bytes (at most 512 KiB of body; larger sets: upload_dir)."""
        body = []
        for path, data in files:
            raw = data.encode() if isinstance(data, str) else bytes(data)
            body.append({"path": path, "content": base64.b64encode(raw).decode(),
                         "encoding": "base64"})
        return self.m.client.request("POST", self.m._path("/files/batch"), body={"files": body})

    def make_dir(self, path):
        return self.m.client.request("POST", self.m._path("/files/mkdir"), body={"path": path})

    def watch(self, path, recursive=False):
        s = self.m.client.streams()
        r = s.call("watch", path=path, recursive=recursive, **self.m._owner())
        return WatchHandle(s, r["channel"])


class PtyHandle:
    """A PTY session: send_stdin(bytes), read() (bytes received so far), resize(),
    kill(), and .pid to reconnect later with m.pty.connect(pid)."""

    def __init__(self, machine, s, reply):
        self.machine, self.s = machine, s
        self.pid, self.channel = reply["pid"], reply["channel"]
        self.output = bytearray()
        self.exit = None

    def _pump(self, timeout):
        end = time.monotonic() + timeout
        while self.exit is None:
            msg = self.s.poll(max(0.0, end - time.monotonic()))
            if msg is None:
                return
            if msg.get("channel") != self.channel:
                continue
            if msg["type"] == "data":
                self.output += msg["data"]
            elif msg["type"] in ("exit", "detached"):
                self.exit = msg

    def read(self, timeout=0.05):
        """Everything the terminal printed so far (waits up to `timeout` for more)."""
        self._pump(timeout)
        return bytes(self.output)

    def wait_for(self, text, timeout=30):
        """Reads until `text` (bytes or str) appears; returns the output so far."""
        want = text.encode() if isinstance(text, str) else text
        end = time.monotonic() + timeout
        while want not in self.output and self.exit is None and time.monotonic() < end:
            self._pump(min(0.2, max(0.0, end - time.monotonic())))
        if want not in self.output:
            raise TimeoutError("%r did not appear: %r" % (want, bytes(self.output[-200:])))
        return bytes(self.output)

    def send_stdin(self, data):
        self.s.stdin(self.channel, data.encode() if isinstance(data, str) else data)

    def resize(self, cols, rows):
        self.s.call("process.resize", machine=self.machine.id, pid=self.pid, cols=cols,
                    rows=rows)

    def kill(self):
        self.s.call("process.signal", machine=self.machine.id, pid=self.pid, signal="KILL")
        while self.exit is None:
            self._pump(1)
        return self.exit

    def close(self):
        """Detaches (the session runs on; reconnect with m.pty.connect(pid))."""
        self.s.close()


class Pty:
    def __init__(self, machine):
        self.m = machine

    def create(self, cols=80, rows=24, cmd=None, tag=None):
        """A terminal running `cmd` (default: the user's login shell)."""
        s = self.m.client.streams()
        fields = {"pty": True, "cols": cols, "rows": rows}
        if cmd:
            fields["cmd" if isinstance(cmd, str) else "argv"] = cmd
        if tag:
            fields["tag"] = tag
        return PtyHandle(self.m, s, s.call("process.start", machine=self.m.id, **fields))

    def connect(self, pid):
        """Attaches again; .read() starts with the session's replay buffer."""
        s = self.m.client.streams()
        return PtyHandle(self.m, s, s.call("process.attach", machine=self.m.id, pid=pid))


class Machine:
    """One machine. Class methods create, connect to and list machines; the client comes
    from api_url/api_key (or the environment, see nullspace.config) unless given."""

    def __init__(self, client, info):
        self.client = client
        self.info = info
        self.id = info["id"]
        self.commands = Commands(self)
        self.files = Files(self)
        self.pty = Pty(self)
        self.code = Code(self)
        self.desktop = Desktop(self)

    def __repr__(self):
        return "Machine(%s, %s)" % (self.id, self.info.get("state"))

    @property
    def state(self):
        return self.info.get("state")

    def _path(self, suffix=""):
        return "/v1/machines/" + urllib.parse.quote(self.id, safe="") + suffix

    def metrics(self, since=None):
        """Usage now ({cpu_ns, memory_bytes, memory_limit_bytes, disk_bytes}), or with
        `since` (ms since the epoch; 0 for all) the samples kept since then:
        {interval_ms, capacity, points: [{ts, cpu_ns, memory_bytes, disk_bytes,
        net_rx_bytes, net_tx_bytes}, ...]}."""
        return self.client.request("GET", self._path("/metrics"),
                                   query=None if since is None else {"since": since})

    def events(self):
        """The machine's lifecycle events, oldest first."""
        return _pages(self.client, self._path("/events"), "events")

    def _owner(self):
        return {"machine": self.id}

    @classmethod
    def create(cls, template="base", api_url=None, api_key=None, client=None, **fields):
        """Creates a machine (fields: vcpus, memory_mb, timeout_s, env, metadata, user,
        cwd, auto_resume, timeout_action, snapshot, network, pool, runtime, volumes: a list
        of {"volume", "path"[, "subpath", "read_only"]} or Volume.mount(...), idle:
        {"pause_after_s", "hibernate_after_s"}, desktop: {"width", "height"} of the desktop
        template's screen, secrets: names of nullspace.Secret values each set as the
        environment variable of its name) and returns it running;
        template is base or a template's name[:tag] (see nullspace.Template)."""
        c = _client(client, api_url, api_key)
        body = dict(fields)
        if not body.get("snapshot"):
            body["template"] = template
        return cls(c, c.request("POST", "/v1/machines", body=body, wait=True))

    @classmethod
    def connect(cls, machine_id, api_url=None, api_key=None, client=None):
        c = _client(client, api_url, api_key)
        return cls(c, c.request("GET", "/v1/machines/" + urllib.parse.quote(machine_id)))

    @classmethod
    def list(cls, state=None, api_url=None, api_key=None, client=None):
        """Every machine (all pages), optionally only those in `state`."""
        c = _client(client, api_url, api_key)
        return [cls(c, m) for m in _pages(c, "/v1/machines", "machines", state=state)]

    def refresh(self):
        self.info = self.client.request("GET", self._path())
        return self

    def kill(self):
        self.info = self.client.request("DELETE", self._path())

    def hibernate(self):
        self.info = self.client.request("POST", self._path("/hibernate"), wait=True)

    def resume(self):
        """Continues a paused machine (milliseconds) or restores a hibernated one."""
        self.info = self.client.request("POST", self._path("/resume"), wait=True)

    def pause(self):
        """Stops the machine in memory: processes, sessions and connections wait; any
        request (with auto_resume) or resume() continues it."""
        self.info = self.client.request("POST", self._path("/pause"))

    def set_timeout(self, timeout_s):
        self.info = self.client.request("POST", self._path("/timeout"),
                                        body={"timeout_s": timeout_s})

    def fork(self, count=1, metadata=None):
        body = {"count": count}
        if metadata is not None:
            body["metadata"] = metadata
        r = self.client.request("POST", self._path("/fork"), body=body, wait=True)
        return [Machine(self.client, m) for m in r["machines"]]

    def preview(self, port, expires_in_s=None, public=None):
        """A signed URL reaching `port` of this machine through the daemon (a dict: url,
        path_url, token, port, expires_at, public[, public_url]); see docs/networking.md."""
        body = {"port": port}
        if expires_in_s is not None:
            body["expires_in_s"] = expires_in_s
        if public is not None:
            body["public"] = public
        return self.client.request("POST", self._path("/previews"), body=body)

    def ssh_certificate(self, public_key, user=None, ttl_s=None, agent_forwarding=None):
        """A short-lived OpenSSH certificate for `public_key` (one public key line) on this
        machine: a dict with certificate, known_hosts, principal, expires_at, ... Use it
        with ssh's CertificateFile and ProxyCommand='nullspace ssh-proxy %h' (docs/access.md)."""
        body = {"public_key": public_key}
        if user is not None:
            body["user"] = user
        if ttl_s is not None:
            body["ttl_s"] = ttl_s
        if agent_forwarding is not None:
            body["agent_forwarding"] = agent_forwarding
        return self.client.request("POST", self._path("/ssh"), body=body)

    def get_url(self, port, expires_in_s=None):
        """Just the preview URL of `port` (host-routed)."""
        return self.preview(port, expires_in_s)["url"]

    @property
    def network(self):
        """The machine's address and egress policy as last fetched (None: no network)."""
        return self.info.get("network")

    def set_network(self, allow_internet_access=None, allow_out=None, deny_out=None,
                    public_all=None):
        """Changes the egress policy (only the arguments given), also while it runs;
        public_all serves every port without a preview token."""
        body = {k: v for k, v in (("allow_internet_access", allow_internet_access),
                                  ("allow_out", allow_out), ("deny_out", deny_out),
                                  ("public_all", public_all))
                if v is not None}
        self.info = self.client.request("PUT", self._path("/network"), body=body)
        return self.info["network"]

    def snapshot(self, name):
        """Captures this machine into a snapshot (a dict; spawn with
        Machine.create(snapshot=ID))."""
        return self.client.request("POST", self._path("/snapshots"), body={"name": name},
                                   wait=True)


class Snapshot:
    """Snapshots: a machine's memory, processes and files, spawnable any number of times
    with Machine.create(snapshot=ID)."""

    @staticmethod
    def list(api_url=None, api_key=None, client=None):
        return _pages(_client(client, api_url, api_key), "/v1/snapshots", "snapshots")

    @staticmethod
    def get(snapshot_id, api_url=None, api_key=None, client=None):
        c = _client(client, api_url, api_key)
        return c.request("GET", "/v1/snapshots/" + urllib.parse.quote(snapshot_id, safe=""))

    @staticmethod
    def delete(snapshot_id, api_url=None, api_key=None, client=None):
        c = _client(client, api_url, api_key)
        return c.request("DELETE", "/v1/snapshots/" + urllib.parse.quote(snapshot_id, safe=""))
