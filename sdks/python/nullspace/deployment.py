"""Deployments: a project directory deployed as a named job. Each deploy builds a new
revision (template deploy-NAME:rN) that goes live when its build is ready; each run is a
fresh machine from the live revision, its output kept as the run's log (secret values
redacted), its machine kept for a while after a failure so it can be debugged.

    d = Deployment.deploy("report", "./report", command="python3 main.py",
                          secrets=["OPENAI_API_KEY"], schedule="0 6 * * *")
    run = d.run().wait()           # run.state == "succeeded", run.exit_code == 0
    print(run.logs())

See docs/deployments.md."""

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.parse

from .errors import NullspaceError
from .template import BuildFailedError, Template


def _client(client, api_url, api_key):
    from .machine import _client as make
    return make(client, api_url, api_key)


def _project_files(directory):
    """The project's files as git sees them (every .gitignore, .nullspaceignore at the
    top), without git itself: everything but .git."""
    if shutil.which("git"):
        with tempfile.TemporaryDirectory() as g:
            subprocess.run(["git", "init", "-q", g], check=True)
            cmd = ["git", "--git-dir", os.path.join(g, ".git"), "--work-tree", ".", "ls-files",
                   "-z", "--others", "--exclude-standard"]
            if os.path.isfile(os.path.join(directory, ".nullspaceignore")):
                cmd.append("--exclude-from=.nullspaceignore")
            out = subprocess.run(cmd, cwd=directory, check=True, capture_output=True).stdout
            return sorted(p for p in out.decode().split("\0") if p)
    files = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        files += [os.path.relpath(os.path.join(root, n), directory) for n in sorted(names)]
    return files


def _project_tar(directory):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        def owned_by_root(info):
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            return info
        for rel in _project_files(directory):
            t.add(os.path.join(directory, rel), arcname=rel, recursive=False,
                  filter=owned_by_root)
    return buf.getvalue()


class Run:
    """A job's run: .id, .state (starting, running, succeeded, failed, cancelled),
    .exit_code, .error, .machine_id, .retained; .info is the whole record."""

    def __init__(self, client, info):
        self.client = client
        self._set(info)

    def _set(self, info):
        self.info = info
        for k in ("id", "deployment", "revision", "trigger", "state", "exit_code", "error",
                  "machine_id", "retained"):
            setattr(self, k, info.get(k))

    def __repr__(self):
        return "Run(%s, %s)" % (self.id, self.state)

    @property
    def _path(self):
        return "/v1/deployments/%s/runs/%s" % (self.deployment, self.id)

    @property
    def active(self):
        return self.state in ("starting", "running")

    def refresh(self):
        self._set(self.client.request("GET", self._path))
        return self

    def logs(self, offset=0):
        """Its log from byte `offset` on, as text (what is there now)."""
        out = b""
        while True:
            page = self.client.request("GET", self._path + "/logs", query={"offset": offset})
            if not page:
                return out.decode(errors="replace")
            out += page
            offset += len(page)

    def wait(self, timeout=3600, on_output=None):
        """Waits until the run ends (TimeoutError past timeout s); on_output(text) gets
        its output as it comes. Returns the run."""
        end = time.time() + timeout
        offset = 0
        while True:
            page = self.client.request("GET", self._path + "/logs", query={"offset": offset})
            if page:
                offset += len(page)
                if on_output:
                    on_output(page.decode(errors="replace"))
                continue
            if not self.refresh().active:
                rest = self.logs(offset)  # what came between the last page and the record
                if rest and on_output:
                    on_output(rest)
                return self
            if time.time() > end:
                raise TimeoutError("run %s is still %s" % (self.id, self.state))
            time.sleep(0.25)

    def cancel(self):
        """Cancels it while it runs, or destroys its retained machine now."""
        self._set(self.client.request("POST", self._path + "/cancel"))
        return self


class Deployment:
    """A deployment: .name, .kind, .revision (the live one's number), a service's .url
    and .machine_id, .info (the record, with live_revision and latest_revision when read
    with get)."""

    def __init__(self, client, info):
        self.client = client
        self.info = info
        self.name = info["name"]
        self.kind = info["kind"]
        self.revision = info["revision"]
        self.url = info.get("url")
        self.machine_id = info.get("machine_id")

    def __repr__(self):
        return "Deployment(%s, revision %s)" % (self.name, self.revision)

    @staticmethod
    def _path(name, suffix=""):
        return "/v1/deployments/" + urllib.parse.quote(name, safe="") + suffix

    @classmethod
    def deploy(cls, name, directory=None, command=None, argv=None, base=None, dockerfile=None,
               steps=None, env=None, secrets=None, vcpus=None, memory_mb=None, timeout_s=None,
               schedule=None, retain_failed_s=None, concurrency=None, runtime=None,
               no_cache=False, on_log=None, wait=True, kind="job", port=None, health_path=None,
               restart=None, idle_s=None, health_timeout_s=None, api_url=None, api_key=None,
               client=None):
        """Deploys a new revision of job `name`: the files of `directory` (less what
        .gitignore and .nullspaceignore name) copied to /app on `base` ("base" or a
        template) followed by builder `steps`, or a Dockerfile's text. `command` (a
        shell command) or `argv` is what each run runs. kind="service" keeps it running
        instead, listening on `port`, live once GET `health_path` answers, reached at
        .url. on_log(line) gets the build's log lines. Returns the deployment once the
        revision is live (BuildFailedError when its build failed; NullspaceError
        "unhealthy" when a service's revision failed its health check), or with
        wait=False the new revision's record at once."""
        c = _client(client, api_url, api_key)
        body = {"name": name, "kind": kind, "no_cache": no_cache}
        for k, v in (("command", command), ("argv", argv), ("from", base),
                     ("dockerfile", dockerfile), ("steps", steps), ("env", env),
                     ("secrets", secrets), ("vcpus", vcpus), ("memory_mb", memory_mb),
                     ("timeout_s", timeout_s), ("schedule", schedule),
                     ("retain_failed_s", retain_failed_s), ("concurrency", concurrency),
                     ("runtime", runtime), ("port", port), ("health_path", health_path),
                     ("restart", restart), ("idle_s", idle_s),
                     ("health_timeout_s", health_timeout_s)):
            if v is not None:
                body[k] = v
        if directory is not None:
            body["context_id"] = c.request("PUT", "/v1/templates/contexts",
                                           raw=_project_tar(directory))["context_id"]
        rev = c.request("POST", "/v1/deployments", body=body)
        if not wait:
            return rev
        logs = list(Template.logs(rev["build_id"], follow=True, client=c, on_log=on_log))
        path = cls._path(name, "/revisions/%d" % rev["number"])
        while rev["state"] == "building":
            time.sleep(0.2)
            rev = c.request("GET", path)
        if rev["state"] != "ready":
            raise BuildFailedError(c.request("GET", "/v1/templates/builds/" + rev["build_id"]),
                                   logs)
        d = cls.get(name, client=c)
        while kind == "service" and d.revision != rev["number"]:
            if d.info["latest_revision"]["number"] != rev["number"] or \
                    d.info["latest_revision"]["state"] == "failed":
                raise NullspaceError(d.info["latest_revision"].get("error") or "unhealthy",
                                     code="unhealthy")
            time.sleep(0.2)
            d = cls.get(name, client=c)
        return d

    @classmethod
    def get(cls, name, api_url=None, api_key=None, client=None):
        c = _client(client, api_url, api_key)
        return cls(c, c.request("GET", cls._path(name)))

    @classmethod
    def list(cls, api_url=None, api_key=None, client=None):
        from .machine import _pages
        c = _client(client, api_url, api_key)
        return [cls(c, d) for d in _pages(c, "/v1/deployments", "deployments")]

    def revisions(self):
        """Its revisions' records, newest first."""
        from .machine import _pages
        return list(_pages(self.client, self._path(self.name, "/revisions"), "revisions"))

    def rollback(self, revision, timeout=300):
        """Makes revision number `revision` (ready) the live one; a service's once its
        machine is healthy (at once when its machine was kept)."""
        self.__init__(self.client, self.client.request(
            "POST", self._path(self.name, "/rollback"), body={"revision": revision}))
        end = time.time() + timeout
        while self.revision != revision:
            latest = self.get(self.name, client=self.client)
            self.__init__(self.client, latest.info)
            rev = self.client.request("GET", self._path(self.name, "/revisions/%d" % revision))
            if rev["state"] == "failed" or time.time() > end:
                raise NullspaceError(rev.get("error") or "the rollback did not go live",
                                     code="unhealthy")
            time.sleep(0.2)
        return self

    def logs(self):
        """A service's live output (its machine's start process: stdout, stderr)."""
        r = self.client.request("GET", "/v1/machines/%s/processes/start/logs" %
                                self.get(self.name, client=self.client).machine_id)
        return r["stdout"], r["stderr"]

    def run(self):
        """Starts a run of a job from the live revision; returns it (starting)."""
        return Run(self.client, self.client.request("POST", self._path(self.name, "/runs")))

    def runs(self):
        """Its runs, newest first."""
        from .machine import _pages
        return [Run(self.client, r)
                for r in _pages(self.client, self._path(self.name, "/runs"), "runs")]

    def get_run(self, run_id):
        return Run(self.client, self.client.request(
            "GET", self._path(self.name, "/runs/" + urllib.parse.quote(run_id, safe=""))))

    def delete(self):
        """Deletes it: runs cancelled, machines destroyed, logs and revisions removed."""
        self.client.request("DELETE", self._path(self.name))
