"""Templates on real gVisor machines: builds from a Dockerfile (with a build context)
and from builder steps, the per-step cache, start and ready commands captured in the
snapshot machines start from, failed builds that keep their logs, names, tags and
aliases, deletion guarded by what depends on a template, warm pools, the CLI."""

import io
import json
import os
import re
import subprocess
import tarfile
import time
import unittest

from harness import Daemon, DaemonTest, assert_clean_exit, error_code
from wsclient import Session, WsError

APP = b"""import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("greeting=%s\\n" % os.environ.get("GREETING")).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("0.0.0.0", 8000), H).serve_forever()
"""

# the ready command records its runs: at the build, and once more in each pool member
READY = "curl -sf localhost:8000 && echo checked >> /tmp/ready-checks"

DOCKERFILE = """FROM base
ARG VER=1
ENV GREETING=hello APP=/srv/app
WORKDIR /srv/app
COPY app.py conf ./
RUN echo built-$VER > version
RUN useradd -m app
USER app
EXPOSE 8000
CMD ["python3", "/srv/app/app.py"]
"""


def context_tar(files):
    return tar_bytes(list(files.items()))


def tar_bytes(entries, gz=False):
    """A tar of entries: (name, bytes) files, (name, None) directories, (name, "->target")
    symlinks; gzip-compressed with gz."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as t:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o1777 if name == "tmp" else 0o755
                t.addfile(info)
            elif isinstance(data, str):
                info.type, info.linkname = tarfile.SYMTYPE, data[2:]
                t.addfile(info)
            else:
                info.size, info.mode = len(data), 0o755
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def busybox_image(oci=False):
    """A small image (busybox, two layers with whiteouts and an opaque directory) as
    `docker save` output, or as an OCI layout with gzip-compressed layers."""
    import hashlib
    with open("/bin/busybox", "rb") as f:
        bb = f.read()
    apps = ["sh", "mkdir", "cat", "echo", "ls", "sleep", "rm", "cp", "chown", "tar", "true",
            "mktemp", "basename", "dirname", "id", "whoami", "env"]
    l1 = tar_bytes([("bin", None), ("bin/busybox", bb)] +
                   [("bin/" + a, "->busybox") for a in apps] +
                   [("etc", None), ("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
                    ("etc/group", b"root:x:0:\n"), ("root", None), ("tmp", None),
                    ("data", None), ("data/a.txt", b"a\n"), ("data/b.txt", b"b1\n"),
                    ("data/sub", None), ("data/sub/c.txt", b"c\n"), ("gone.txt", b"x\n")],
                   gz=oci)
    l2 = tar_bytes([("data/.wh.a.txt", b""), (".wh.gone.txt", b""), ("data/b.txt", b"b2\n"),
                    ("data/sub/.wh..wh..opq", b""), ("data/sub/new.txt", b"new\n")], gz=oci)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {
        "Env": ["PATH=/bin", "IMG=yes"], "WorkingDir": "/data",
        "Entrypoint": ["sh", "-c"], "Cmd": ["echo started > /tmp/started; sleep 1000"]}}).encode()
    def sha(b):
        return hashlib.sha256(b).hexdigest()
    if not oci:
        files = [("l1/layer.tar", l1), ("l2/layer.tar", l2), ("cfg.json", config),
                 ("manifest.json", json.dumps([{"Config": "cfg.json", "RepoTags": ["bb:1"],
                                                "Layers": ["l1/layer.tar", "l2/layer.tar"]}]).encode())]
        return tar_bytes([("l1", None), ("l2", None)] + files)
    manifest = json.dumps({"schemaVersion": 2, "config": {"digest": "sha256:" + sha(config)},
                           "layers": [{"digest": "sha256:" + sha(l)} for l in (l1, l2)]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"digest": "sha256:" + sha(manifest),
         "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
    blobs = [("blobs/sha256/" + sha(b), b) for b in (l1, l2, config, manifest)]
    return tar_bytes([("blobs", None), ("blobs/sha256", None), ("oci-layout",
                      b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)] + blobs)


class TemplateClient(DaemonTest):
    """Helpers of template tests (no tests of its own)."""

    def req(self, method, path, body=None):
        return self.d.request(method, path, body=body)

    def upload(self, files):
        st, _, r = self.d.request("PUT", "/v1/templates/contexts", body=context_tar(files),
                                  headers={"Content-Type": "application/x-tar"})
        self.assertEqual(st, 201, r)
        return r["context_id"]

    def build(self, body, want="ready", timeout=240):
        (st, first), b = self.d.build_template(body, timeout)
        self.assertEqual((st, first.get("state")), (202, "building"), first)
        self.assertEqual(b["state"], want, b)
        return b

    def logs(self, build_id):
        out, cursor = [], 0
        while True:
            st, _, r = self.req("GET", "/v1/templates/builds/%s/logs?cursor=%d" % (build_id,
                                                                                     cursor))
            self.assertEqual(st, 200, r)
            out += r["logs"]
            if r["next_cursor"] == cursor:
                return out
            cursor = r["next_cursor"]

    def exec(self, mid, cmd):
        st, _, r = self.req("POST", "/v1/machines/%s/exec" % mid, {"cmd": cmd})
        self.assertEqual(st, 200, r)
        return r

    def create(self, body):
        st, _, m = self.req("POST", "/v1/machines", body)
        self.assertEqual(st, 201, m)
        return m

    def destroy(self, mid):
        self.req("DELETE", "/v1/machines/" + mid)

    def cached(self, build_id):
        return [l["text"] for l in self.logs(build_id) if l["text"].endswith("(cached)")]


class TemplatesTest(TemplateClient):
    def web(self):
        """The web template, built once for the class (later builds hit the cache)."""
        if not getattr(type(self), "_web", None):
            ctx = self.upload({"app.py": APP, "conf/settings.ini": b"mode=test\n"})
            b = self.build({"name": "web", "dockerfile": DOCKERFILE, "context_id": ctx,
                            "ready_cmd": READY})
            type(self)._web = (ctx, b)
        return type(self)._web

    def test_dockerfile_build_and_machines_from_it(self):
        ctx, b = self.web()
        st, _, t = self.req("GET", "/v1/templates/web")
        self.assertEqual(st, 200, t)
        self.assertEqual((t["ref"], t["name"], t["tag"]), ("web:latest", "web", "latest"))
        self.assertEqual((t["user"], t["cwd"], t["ports"]), ("app", "/srv/app", [8000]))
        self.assertEqual(t["env"], {"GREETING": "hello", "APP": "/srv/app"})
        self.assertEqual(t["start"], {"argv": ["python3", "/srv/app/app.py"]})
        self.assertEqual(t["ready"], READY)
        self.assertEqual(t["build_id"], b["id"])
        lines = self.logs(b["id"])
        text = [l["text"] for l in lines]
        self.assertTrue(any(x.startswith("step 4/8: RUN echo built-$VER") for x in text), text)
        self.assertTrue(any(x.startswith("template web:latest ready") for x in text), text)
        m = self.create({"template": "web"})
        try:
            self.assertEqual((m["template"], m["user"], m["cwd"], m["checkout"]),
                             ("web:latest", "app", "/srv/app", "fresh"))
            # the service started during the build runs in the machine already
            # (a directory source's contents are copied, like Docker does)
            r = self.exec(m["id"], "curl -s localhost:8000; whoami; pwd; cat version "
                                   "settings.ini; echo $GREETING; python3 -c "
                                   "\"import os; print(os.stat('app.py').st_uid)\"")
            self.assertEqual(r["stdout"], "greeting=hello\napp\n/srv/app\nbuilt-1\nmode=test\n"
                                          "hello\n0\n")
        finally:
            self.destroy(m["id"])
        # a create's env is added to the template's: what the machine starts sees both,
        # the service it restored running keeps its own
        m = self.create({"template": "web", "env": {"GREETING": "hi", "EXTRA": "x y"}})
        try:
            r = self.exec(m["id"], "echo $GREETING $APP $EXTRA; curl -s localhost:8000")
            self.assertEqual(r["stdout"], "hi /srv/app x y\ngreeting=hello\n")
        finally:
            self.destroy(m["id"])
        # a template's snapshot is its own: not among the user's snapshots
        st, _, snaps = self.req("GET", "/v1/snapshots")
        self.assertNotIn(t["snapshot"], [s["id"] for s in snaps["snapshots"]])

    def test_rebuild_hits_the_cache_step_by_step(self):
        ctx, first = self.web()
        body = {"name": "web:again", "dockerfile": DOCKERFILE, "context_id": ctx,
                "ready_cmd": READY}
        b = self.build(body)
        cached = self.cached(b["id"])
        self.assertEqual(len(cached), 3, cached)  # COPY and both RUNs
        b = self.build(dict(body, no_cache=True))
        self.assertEqual(self.cached(b["id"]), [])
        # another context: COPY and what follows run again
        ctx2 = self.upload({"app.py": APP, "conf/settings.ini": b"mode=other\n"})
        b = self.build(dict(body, context_id=ctx2))
        self.assertEqual(self.cached(b["id"]), [])
        # a build arg changes the RUN that sees it, not the COPY before it
        b = self.build(dict(body, build_args={"VER": "2"}))
        cached = self.cached(b["id"])
        self.assertEqual(len(cached), 1, cached)
        m = self.create({"template": "web:again"})
        try:
            self.assertEqual(self.exec(m["id"], "cat version")["stdout"], "built-2\n")
        finally:
            self.destroy(m["id"])
        self.assertEqual(self.req("DELETE", "/v1/templates/web:again")[0], 204)

    def test_build_logs_stream_over_the_websocket(self):
        st, _, b = self.req("POST", "/v1/templates/builds", {"name": "ws-logs", "steps": [
            {"op": "run", "cmd": "for i in 1 2 3; do echo line$i; sleep 0.3; done"}]})
        self.assertEqual(st, 202, b)
        s = Session(self.d)
        self.addCleanup(s.close)

        def follow(cursor=0):
            r = s.call("build.logs", build=b["id"], cursor=cursor)
            lines, end = [], None
            while end is None:
                m = s.next()
                if m.get("channel") != r["channel"]:
                    continue
                if m["type"] == "log":
                    lines.append(m["line"])
                elif m["type"] == "exit":
                    end = m
            return lines, end
        lines, end = follow()  # while it runs: lines as they come, then the end
        texts = [l["text"] for l in lines]
        self.assertEqual([t for t in texts if t.startswith("line")], ["line1", "line2", "line3"])
        self.assertTrue(texts[-1].startswith("template ws-logs:latest ready"), texts)
        self.assertEqual((end["state"], end.get("error")), ("ready", None))
        # the same as the HTTP route; after the end a client gets it all at once, and a
        # cursor skips what it had
        self.assertEqual(lines, self.logs(b["id"]))
        again, end2 = follow()
        self.assertEqual((again, end2["cursor"]), (lines, end["cursor"]))
        half = len(json.dumps(lines[0], separators=(",", ":"))) + 1
        rest, _ = follow(cursor=half)
        self.assertEqual(rest, lines[1:])
        with self.assertRaises(WsError) as c:
            s.call("build.logs", build="b_nope")
        self.assertEqual(c.exception.code, "build_not_found")
        self.assertEqual(self.req("DELETE", "/v1/templates/ws-logs")[0], 204)

    def test_failed_build_keeps_its_log_and_names_the_step(self):
        df = "FROM base\nRUN echo first\nRUN echo oops >&2; exit 3\nRUN echo never\n"
        b = self.build({"name": "broken", "dockerfile": df}, want="failed")
        self.assertIn("step 2 (line 3) failed (exit 3): RUN echo oops", b["error"])
        self.assertEqual(b["step"], 2)
        lines = self.logs(b["id"])
        self.assertIn({"stream": "stderr", "text": "oops", "step": 2},
                      [{k: l[k] for k in ("stream", "text", "step")} for l in lines])
        self.assertFalse([l for l in lines if l["text"] == "never"])
        st, _, r = self.req("GET", "/v1/templates/broken")
        self.assertEqual((st, error_code(r)), (404, "template_not_found"))
        # no machine of the build is left behind
        deadline, left = time.time() + 20, True
        while left and time.time() < deadline:
            ms = self.req("GET", "/v1/machines")[2]["machines"]
            left = [m for m in ms if m["template"] == "broken:latest"]
            time.sleep(0.1)
        self.assertFalse(left)
        # a ready command that never succeeds fails the build after its timeout
        b = self.build({"name": "unready", "steps": [{"op": "run", "cmd": "true"}],
                        "start_cmd": "sleep 600", "ready_cmd": "false", "ready_timeout_s": 2},
                       want="failed")
        self.assertIn("ready command did not succeed within 2 s", b["error"])
        # a running build can be cancelled; an ended one cannot
        st, _, b = self.req("POST", "/v1/templates/builds",
                            {"name": "long", "steps": [{"op": "run", "cmd": "sleep 300"}]})
        deadline = time.time() + 30
        while time.time() < deadline and not [
                l for l in self.logs(b["id"]) if l["text"].startswith("step 1/1")]:
            time.sleep(0.1)
        r = self.d.cli("templates", "cancel", b["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("cancelled cancelled by a request", r.stdout)
        st, _, again = self.req("DELETE", "/v1/templates/builds/" + b["id"])
        self.assertEqual((st, error_code(again)), (409, "conflict"))
        st, _, r = self.req("DELETE", "/v1/templates/builds/b_nope")
        self.assertEqual((st, error_code(r)), (404, "build_not_found"))

    def test_builder_steps_from_a_template_and_dependents(self):
        self.web()
        steps = [{"op": "env", "vars": {"EXTRA": "1"}},
                 {"op": "run", "cmd": "echo child > /home/app/child.txt"},
                 {"op": "apt", "packages": ["jq"]}]
        b = self.build({"name": "web-child", "from": "web", "steps": steps})
        st, _, t = self.req("GET", "/v1/templates/web-child")
        self.assertEqual(t["from"], "web:latest")
        self.assertEqual(t["env"], {"GREETING": "hello", "APP": "/srv/app", "EXTRA": "1"})
        self.assertEqual(t["start"], {"argv": ["python3", "/srv/app/app.py"]}, "inherited")
        m = self.create({"template": "web-child"})
        try:
            r = self.exec(m["id"], "cat /home/app/child.txt version; echo '{\"a\":2}' | jq .a; "
                                   "curl -s localhost:8000")
            self.assertEqual(r["stdout"], "child\nbuilt-1\n2\ngreeting=hello\n")
            st, _, r = self.req("DELETE", "/v1/templates/web-child")
            self.assertEqual((st, error_code(r)), (409, "template_in_use"), r)
        finally:
            self.destroy(m["id"])
        # the parent cannot go while a template built FROM it exists
        st, _, r = self.req("DELETE", "/v1/templates/web")
        self.assertEqual((st, error_code(r)), (409, "template_in_use"), r)
        self.assertIn("web-child", r["error"]["message"])
        self.assertEqual(self.req("DELETE", "/v1/templates/web-child")[0], 204)
        self.assertEqual(b["template"], "web-child:latest")

    def test_builds_from_imported_images(self):
        for oci in (False, True):
            st, _, up = self.d.request("PUT", "/v1/templates/contexts", body=busybox_image(oci),
                                       headers={"Content-Type": "application/x-tar"})
            self.assertEqual(st, 201, up)
            name = "bb-oci" if oci else "bb-docker"
            b = self.build({"name": name, "from_image": up["context_id"],
                            "steps": [{"op": "run", "cmd": "echo built > built.txt"}]})
            st, _, t = self.req("GET", "/v1/templates/" + name)
            self.assertEqual((t["from"], t["cwd"]), ("image", "/data"), t)
            self.assertEqual(t["env"], {"PATH": "/bin", "IMG": "yes"})
            self.assertEqual(t["start"], {"argv": ["sh", "-c",
                                                   "echo started > /tmp/started; sleep 1000"]})
            m = self.create({"template": name})
            try:
                r = self.exec(m["id"], "cat b.txt built.txt /tmp/started; ls /data; "
                                       "ls /data/sub; echo $IMG; ls / | grep -c gone; "
                                       "ls /usr 2>&1 | grep -c python3")
                # layer 2 replaced b.txt, whited out a.txt and gone.txt, made sub opaque;
                # nothing of the base template shows through
                self.assertEqual(r["stdout"], "b2\nbuilt\nstarted\nb.txt\nbuilt.txt\nsub\n"
                                              "new.txt\nyes\n0\n0\n", r)
            finally:
                self.destroy(m["id"])
            self.assertEqual(b["from"], "image")
            self.assertEqual(self.req("DELETE", "/v1/templates/" + name)[0], 204)
        # the CLI uploads an image file itself
        path = os.path.join(self.d.state_dir, "bb.tar")
        with open(path, "wb") as f:
            f.write(busybox_image())
        r = self.d.cli("templates", "build", "--name", "bb-cli", "--image", path,
                       "--start-cmd", "sleep 600")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("building bb-cli:latest from image", r.stderr)
        self.assertEqual(self.req("DELETE", "/v1/templates/bb-cli")[0], 204)
        # not an image: the build fails and says why
        ctx = self.upload({"just.txt": b"x"})
        b = self.build({"name": "not-image", "from_image": ctx}, want="failed")
        self.assertIn("no image found", b["error"])
        st, _, r = self.req("POST", "/v1/templates/builds", {"name": "x", "from_image": "f" * 64})
        self.assertEqual((st, error_code(r)), (404, "context_not_found"))

    def test_a_daemon_stopped_mid_build_fails_it_and_cleans_up(self):
        d = Daemon().start()
        try:
            st, _, b = d.request("POST", "/v1/templates/builds",
                                 {"name": "interrupted", "steps": [
                                     {"op": "run", "cmd": "echo going; sleep 60"}]})
            self.assertEqual(st, 202, b)
            deadline = time.time() + 30
            while time.time() < deadline:
                ms = d.request("GET", "/v1/machines")[2]["machines"]
                if [m for m in ms if m["state"] == "running"]:
                    break
                time.sleep(0.1)
            self.assertEqual(d.stop(), 0)
            d.start()
            st, _, b = d.request("GET", "/v1/templates/builds/" + b["id"])
            self.assertEqual((b["state"], b["error"]),
                             ("failed", "the daemon stopped during the build"), b)
            deadline, left = time.time() + 30, True
            while left and time.time() < deadline:
                left = [m for m in d.request("GET", "/v1/machines")[2]["machines"]
                        if m["state"] not in ("destroyed", "failed")]
                time.sleep(0.1)
            self.assertFalse(left, "the build's machine is destroyed at the restart")
            st, _, r = d.request("GET", "/v1/templates/interrupted")
            self.assertEqual(error_code(r), "template_not_found")
        finally:
            assert_clean_exit(d)

    def test_names_tags_aliases_and_bad_input(self):
        self.web()
        st, _, t = self.req("POST", "/v1/templates/web/aliases", {"name": "web:v1"})
        self.assertEqual((st, t["ref"]), (201, "web:v1"), t)
        st, _, t2 = self.req("GET", "/v1/templates/web:v1")
        self.assertEqual(t2["build_id"], t["build_id"])
        st, _, lst = self.req("GET", "/v1/templates")
        self.assertTrue({"web:latest", "web:v1"} <= {x["ref"] for x in lst["templates"]})
        # deleting an alias leaves the other name and the build
        self.assertEqual(self.req("DELETE", "/v1/templates/web:v1")[0], 204)
        self.assertEqual(self.req("GET", "/v1/templates/web")[0], 200)
        st, _, evs = self.req("GET", "/v1/events?subject=web:v1")
        self.assertEqual([(e["type"], e["subject"]["type"], e["data"]["build_id"], e["reason"])
                          for e in evs["events"]],
                         [("template.set", "template", t["build_id"], "user"),
                          ("template.deleted", "template", t["build_id"], "user")])
        cases = [
            ("POST", "/v1/templates/builds", {"name": "Bad Name", "steps": []}, 400,
             "invalid_field"),
            ("POST", "/v1/templates/builds", {"name": "x", "steps": [{"op": "fly"}]}, 400,
             "invalid_field"),
            ("POST", "/v1/templates/builds", {"name": "x", "dockerfile": "FROM base\nVOLUME /x\n"},
             400, "invalid_dockerfile"),
            ("POST", "/v1/templates/builds", {"name": "x", "dockerfile": "FROM base",
                                              "steps": []}, 400, "invalid_field"),
            ("POST", "/v1/templates/builds", {"name": "x", "context_id": "0" * 64}, 404,
             "context_not_found"),
            ("POST", "/v1/templates/builds", {"name": "x", "from": "nope"}, 404,
             "template_not_found"),
            ("POST", "/v1/templates/builds", {"name": "x", "surprise": 1}, 400, "unknown_field"),
            ("GET", "/v1/templates/builds/b_0000", None, 404, "build_not_found"),
            ("GET", "/v1/templates/nope", None, 404, "template_not_found"),
            ("GET", "/v1/templates/UPPER", None, 400, "invalid_field"),
            ("POST", "/v1/templates/web/aliases", {"name": "a:b:c"}, 400, "invalid_field"),
            ("PUT", "/v1/templates/web/pool", {"size": 33}, 400, "invalid_field"),
            ("POST", "/v1/machines", {"template": "nope"}, 404, "template_not_found"),
            ("POST", "/v1/machines", {"template": "web", "pool": "maybe"}, 400, "invalid_field"),
        ]
        for method, path, body, status, code in cases:
            st, _, r = self.req(method, path, body)
            self.assertEqual((st, error_code(r)), (status, code), (path, body, r))
        st, _, r = self.req("POST", "/v1/templates/builds",
                            {"name": "x", "dockerfile": "FROM base\nRUN true\nSHELL [\"x\"]\n"})
        self.assertIn("line 3", r["error"]["message"])
        self.assertTrue(self.d.alive())

    def drain_pool(self, name):
        """Sets template name's pool size to 0 and waits until its members are gone."""
        st, _, t = self.req("PUT", "/v1/templates/%s/pool" % name, {"size": 0})
        self.assertEqual(st, 200, t)
        deadline = time.time() + 30
        while time.time() < deadline and t["pool"]["ready"] + t["pool"]["creating"] > 0:
            time.sleep(0.2)
            t = self.req("GET", "/v1/templates/" + name)[2]
        self.assertEqual(t["pool"], {"size": 0, "ready": 0, "creating": 0})

    def test_warm_pool(self):
        self.web()
        st, _, r = self.req("POST", "/v1/machines", {"template": "web", "pool": "require"})
        self.assertEqual((st, error_code(r)), (409, "pool_empty"))
        st, _, t = self.req("PUT", "/v1/templates/web/pool", {"size": 2})
        self.assertEqual((st, t["pool"]["size"]), (200, 2), t)
        deadline = time.time() + 60
        while time.time() < deadline and t["pool"]["ready"] < 2:
            time.sleep(0.2)
            t = self.req("GET", "/v1/templates/web")[2]
        self.assertEqual(t["pool"]["ready"], 2, t)
        # parked (frozen) for longer than the agent's post-restore re-arm window: it still
        # answers once taken (it used to hang: the window's time passed while frozen)
        time.sleep(1.5)
        # members are not the user's machines
        self.assertFalse([m for m in self.req("GET", "/v1/machines")[2]["machines"]
                          if m["template"] == "web:latest"])
        m = self.create({"template": "web", "metadata": {"who": "me"}, "timeout_s": 600})
        try:
            self.assertEqual(m["checkout"], "pool")
            self.assertEqual(m["metadata"], {"who": "me"})
            self.assertIsNotNone(m["timeout_at"])
            self.assertEqual(self.exec(m["id"], "curl -s localhost:8000")["stdout"],
                             "greeting=hello\n")
            # its ready command ran in it before it was parked (the build's run, then its own)
            self.assertEqual(self.exec(m["id"], "cat /tmp/ready-checks")["stdout"],
                             "checked\nchecked\n")
            listed = self.req("GET", "/v1/machines?metadata=who%3Dme")[2]["machines"]
            self.assertEqual([x["id"] for x in listed], [m["id"]])
            # the pool refills
            deadline = time.time() + 60
            while time.time() < deadline and t["pool"]["ready"] < 2:
                time.sleep(0.2)
                t = self.req("GET", "/v1/templates/web")[2]
            self.assertEqual(t["pool"]["ready"], 2, t)
            skipped = self.create({"template": "web", "pool": "skip"})
            self.assertEqual(skipped["checkout"], "fresh")
            self.assertEqual(self.exec(skipped["id"], "cat /tmp/ready-checks")["stdout"],
                             "checked\n")
            self.destroy(skipped["id"])
            # a member's environment is its template's: a create with an env of its own
            # is a fresh spawn
            own = self.create({"template": "web", "env": {"EXTRA": "x"}})
            self.assertEqual(own["checkout"], "fresh")
            self.assertEqual(self.exec(own["id"], "echo $EXTRA")["stdout"], "x\n")
            self.destroy(own["id"])
        finally:
            self.destroy(m["id"])
        self.drain_pool("web")

    def test_a_pool_member_whose_ready_command_fails_is_never_handed_out(self):
        # the ready command passes at the build and fails in every member: its marker is
        # in the template's snapshot
        self.build({"name": "fails-later", "steps": [], "start_cmd": "sleep 600",
                    "ready_cmd": "test ! -e /tmp/built && touch /tmp/built"})
        st, _, t = self.req("PUT", "/v1/templates/fails-later/pool", {"size": 1})
        self.assertEqual(st, 200, t)
        try:
            deadline = time.time() + 60
            while time.time() < deadline and "pool_member_not_ready" not in self.d.read_log():
                time.sleep(0.2)
            self.assertIn("pool_member_not_ready", self.d.read_log())
            self.assertEqual(self.req("GET", "/v1/templates/fails-later")[2]["pool"]["ready"], 0)
            st, _, r = self.req("POST", "/v1/machines",
                                {"template": "fails-later", "pool": "require"})
            self.assertEqual((st, error_code(r)), (409, "pool_empty"), r)
        finally:
            self.drain_pool("fails-later")

    def test_a_machines_checkout_survives_a_daemon_restart(self):
        self.web()
        m = self.create({"template": "web", "pool": "skip"})
        try:
            self.assertEqual(m["checkout"], "fresh")
            self.assertEqual(self.d.stop(), 0)
            self.d.start()
            # a snapshot stores the spec again: what the new daemon read of it
            st, _, snap = self.req("POST", "/v1/machines/%s/snapshots" % m["id"], {"name": "c"})
            self.assertEqual(st, 201, snap)
            self.req("DELETE", "/v1/snapshots/" + snap["id"])
            st, _, got = self.req("GET", "/v1/machines/" + m["id"])
            self.assertEqual((got["checkout"], got["template"], got["metadata"]),
                             ("fresh", m["template"], {}), got)
        finally:
            self.destroy(m["id"])

    def test_machines_destroyed_while_they_restore_leave_no_sandbox(self):
        """A warm pool shrunk while its members are restored from the template's snapshot
        destroys them mid-restore: each destroy must stop the restore too, so that no
        sandbox appears after its machine is gone (one did, with its directory removed)."""
        self.web()
        root = os.path.join(self.d.state_dir, "runsc")

        def listed():
            return subprocess.run(["runsc", "--root", root, "list", "-quiet"],
                                  capture_output=True, text=True).stdout.split()

        for n in range(5):
            self.req("PUT", "/v1/templates/web/pool", {"size": 3})
            time.sleep(0.1 * n)  # at several points of the restores
            self.req("PUT", "/v1/templates/web/pool", {"size": 0})
        # until all is gone and 3 s after: a sandbox of a machine recorded destroyed
        # would be one that outlived its destroy
        orphans, quiet_since, deadline = set(), None, time.time() + 60
        while time.time() < deadline and (quiet_since is None or time.time() < quiet_since + 3):
            now = listed()
            for mid in now:
                if self.req("GET", "/v1/machines/" + mid)[2].get("state") == "destroyed":
                    orphans.add(mid)
            pool = self.req("GET", "/v1/templates/web")[2]["pool"]
            busy = now or pool["ready"] + pool["creating"]
            quiet_since = None if busy else (quiet_since or time.time())
            time.sleep(0.1)
        self.assertEqual(sorted(orphans), [])
        self.assertEqual(listed(), [])

    def test_cli_build(self):
        d = os.path.join(self.d.state_dir, "cli-ctx")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "hello.txt"), "w") as f:
            f.write("hi from the context\n")
        with open(os.path.join(d, "Dockerfile"), "w") as f:
            f.write("FROM base\nCOPY hello.txt /opt/\nRUN cat /opt/hello.txt\n")
        r = self.d.cli("templates", "build", "--name", "cli-tpl:v2", "--dockerfile",
                       os.path.join(d, "Dockerfile"), "--context", d, "--start-cmd",
                       "sleep 1000")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("step 2/3: RUN cat /opt/hello.txt", r.stderr)
        self.assertIn("   | hi from the context", r.stderr)
        self.assertTrue(r.stdout.startswith("cli-tpl:v2 "), r.stdout)
        r = self.d.cli("--json", "templates", "get", "cli-tpl:v2")
        self.assertIn('"start"', r.stdout)
        build = json.loads(r.stdout)["build_id"]
        r = self.d.cli("--json", "templates", "logs", build)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["state"], "ready")
        self.assertIn("hi from the context", [l["text"] for l in doc["logs"]])
        r = self.d.cli("templates", "logs", build)
        self.assertIn("#2 step 2/3: RUN cat /opt/hello.txt", r.stdout)
        with open(os.path.join(d, "Dockerfile"), "w") as f:
            f.write("FROM base\nRUN exit 4\n")
        r = self.d.cli("templates", "build", "--name", "cli-bad", "--dockerfile",
                       os.path.join(d, "Dockerfile"))
        self.assertEqual(r.returncode, 8, r.stderr)
        self.assertIn("failed: step 1 (line 2) failed (exit 4)", r.stderr)
        r = self.d.cli("templates", "delete", "cli-tpl:v2")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.d.cli("templates", "get", "cli-tpl:v2")
        self.assertEqual(r.returncode, 6, r.stderr)


class Prune(TemplateClient):
    def entries(self, sub):
        path = os.path.join(self.d.state_dir, sub)
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    def test_prune_frees_what_only_old_builds_hold(self):
        ctx = self.upload({"hello.txt": b"pruned\n"})
        steps = {"name": "p1", "context_id": ctx, "start_cmd": "sleep 600", "steps": [
            {"op": "copy", "src": ["hello.txt"], "dest": "/opt/"},
            {"op": "run", "cmd": "echo ran > /opt/ran"}]}
        self.build(steps)
        st, _, up = self.d.request("PUT", "/v1/templates/contexts", body=busybox_image(),
                                   headers={"Content-Type": "application/x-tar"})
        self.build({"name": "pimg", "from_image": up["context_id"],
                    "steps": [{"op": "run", "cmd": "echo x > x"}]})
        self.assertEqual(self.req("DELETE", "/v1/templates/pimg")[0], 204)
        self.assertEqual(len(self.entries("bases")), 1)
        # a build under way: refused, nothing touched
        st, _, b = self.req("POST", "/v1/templates/builds", {"name": "later", "steps": []})
        self.assertEqual(st, 202, b)
        st, _, r = self.req("POST", "/v1/templates/prune")
        self.assertEqual((st, error_code(r)), (409, "conflict"), r)
        deadline = time.time() + 60
        while self.req("GET", "/v1/templates/builds/" + b["id"])[2]["state"] == "building":
            self.assertLess(time.time(), deadline)
            time.sleep(0.2)
        layers = [x for x in self.entries("layers") if "." not in x]
        # the builds' machines are destroyed after their builds end: until one is gone
        # the image under it is in use, and prune rightly keeps it
        deadline = time.time() + 60
        while self.req("GET", "/v1/machines?state=destroying")[2]["machines"]:
            self.assertLess(time.time(), deadline)
            time.sleep(0.2)
        # younger than the cutoff: kept
        st, _, r = self.req("POST", "/v1/templates/prune", {"older_than_s": 3600})
        self.assertEqual((st, r), (200, {"cache_entries": 0, "contexts": 0, "images": 0,
                                         "layers": 0}))
        st, _, r = self.req("POST", "/v1/templates/prune", {"older_than_s": -1})
        self.assertEqual((st, error_code(r)), (400, "invalid_field"), r)
        r = self.d.cli("templates", "prune")
        self.assertEqual(r.returncode, 0, r.stderr)
        # 3 cache entries (COPY and RUN of p1, RUN of pimg), both uploads, the image, and at
        # least the layer of pimg's step that only the cache held
        got = re.search(r"cache entries (\d+), uploads (\d+), images (\d+), layers (\d+) removed",
                        r.stdout)
        self.assertIsNotNone(got, r.stdout)
        self.assertEqual([int(x) for x in got.groups()[:3]], [3, 2, 1])
        self.assertGreaterEqual(int(got.group(4)), 1)
        def kept():
            return [x for x in self.entries("layers") if "." not in x]
        deadline = time.time() + 30  # files go in child processes
        while (self.entries("bases") or self.entries("contexts") or
               len(kept()) >= len(layers)) and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual((self.entries("bases"), self.entries("contexts")), ([], []))
        self.assertLess(len(kept()), len(layers))
        # p1 works on; building it again runs its steps (a new upload: the old one is gone)
        m = self.create({"template": "p1"})
        try:
            self.assertEqual(self.exec(m["id"], "cat /opt/hello.txt /opt/ran")["stdout"],
                             "pruned\nran\n")
        finally:
            self.destroy(m["id"])
        st, _, r = self.req("POST", "/v1/templates/builds", steps)
        self.assertEqual((st, error_code(r)), (404, "context_not_found"), r)
        b = self.build(dict(steps, context_id=self.upload({"hello.txt": b"pruned\n"})))
        self.assertEqual(self.cached(b["id"]), [])


if __name__ == "__main__":
    unittest.main()
