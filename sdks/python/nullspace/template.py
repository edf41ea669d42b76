"""Templates: build reusable machine environments (a Dockerfile or builder steps, a build
context, start and ready commands), name and tag them, keep warm pools; machines then
start from them with Machine.create(template=NAME). See docs/templates.md."""

import io
import os
import tarfile
import time
import urllib.parse

from .errors import NullspaceError


class BuildFailedError(NullspaceError):
    """A build ended failed: .build is its record (error, step), .logs its log lines."""

    code = "build_failed"

    def __init__(self, build, logs):
        super().__init__(build.get("error") or "the build failed")
        self.build = build
        self.logs = logs


def _client(client, api_url, api_key):
    from .machine import _client as make
    return make(client, api_url, api_key)


def _tar(context):
    """A tar of a directory (files owned by root, as COPY expects), or bytes as given."""
    if isinstance(context, (bytes, bytearray)):
        return bytes(context)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        def owned_by_root(info):
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            return info
        for entry in sorted(os.listdir(context)):
            t.add(os.path.join(context, entry), arcname=entry, filter=owned_by_root)
    return buf.getvalue()


def _ref(ref):
    return "/v1/templates/" + urllib.parse.quote(ref, safe=":")


class Template:
    """Static methods over the daemon's templates (a dict per template: ref, name, tag,
    build_id, snapshot, env, user, cwd, start, ready, ports, from, layers, pool)."""

    @staticmethod
    def upload_context(context, api_url=None, api_key=None, client=None):
        """Uploads a build context (a directory, or tar bytes); returns its context_id."""
        c = _client(client, api_url, api_key)
        return c.request("PUT", "/v1/templates/contexts", raw=_tar(context))["context_id"]

    @staticmethod
    def build(name, dockerfile=None, steps=None, base=None, context=None, build_args=None,
              start_cmd=None, ready_cmd=None, ready_timeout_s=None, no_cache=False,
              runtime=None, on_log=None, wait=True, api_url=None, api_key=None, client=None):
        """Builds template `name` ("name[:tag]") from a Dockerfile's text or builder
        steps (on `base`: "base" or another template). `context` is a directory or tar
        bytes; `runtime` ("gvisor" or "vm"; default the host's) is what its machines run
        on. on_log(line) gets each log line (a dict: ts, step, stream, text) as it
        comes. Returns the template, or with wait=False the build record at once; a
        failed build raises BuildFailedError."""
        c = _client(client, api_url, api_key)
        body = {"name": name, "no_cache": no_cache}
        for k, v in (("dockerfile", dockerfile), ("steps", steps), ("from", base),
                     ("build_args", build_args), ("start_cmd", start_cmd),
                     ("ready_cmd", ready_cmd), ("ready_timeout_s", ready_timeout_s),
                     ("runtime", runtime)):
            if v is not None:
                body[k] = v
        if context is not None:
            body["context_id"] = Template.upload_context(context, client=c)
        b = c.request("POST", "/v1/templates/builds", body=body)
        if not wait:
            return b
        logs = list(Template.logs(b["id"], follow=True, client=c, on_log=on_log))
        b = c.request("GET", "/v1/templates/builds/" + b["id"])
        if b["state"] != "ready":
            raise BuildFailedError(b, logs)
        return Template.get(b["template"], client=c)

    @staticmethod
    def logs(build_id, follow=False, on_log=None, api_url=None, api_key=None, client=None):
        """Yields the build's log lines from the start; with follow, until it ends."""
        c = _client(client, api_url, api_key)
        cursor = 0
        while True:
            page = c.request("GET", "/v1/templates/builds/%s/logs" % build_id,
                             query={"cursor": cursor})
            for line in page["logs"]:
                if on_log:
                    on_log(line)
                yield line
            more = page["next_cursor"] != cursor
            cursor = page["next_cursor"]
            if page["done"] or (not follow and not more):
                return
            if not more:
                time.sleep(0.3)

    @staticmethod
    def get(ref, api_url=None, api_key=None, client=None):
        return _client(client, api_url, api_key).request("GET", _ref(ref))

    @staticmethod
    def list(api_url=None, api_key=None, client=None):
        from .machine import _pages
        return _pages(_client(client, api_url, api_key), "/v1/templates", "templates")

    @staticmethod
    def delete(ref, api_url=None, api_key=None, client=None):
        return _client(client, api_url, api_key).request("DELETE", _ref(ref))

    @staticmethod
    def alias(ref, new_name, api_url=None, api_key=None, client=None):
        """Gives the template another name or tag; returns the new name's template."""
        c = _client(client, api_url, api_key)
        return c.request("POST", _ref(ref) + "/aliases", body={"name": new_name})

    @staticmethod
    def set_pool(ref, size, api_url=None, api_key=None, client=None):
        """Keeps `size` machines of the template ready (0 drains the pool)."""
        c = _client(client, api_url, api_key)
        return c.request("PUT", _ref(ref) + "/pool", body={"size": size})

    @staticmethod
    def prune(older_than_s=0, api_url=None, api_key=None, client=None):
        """Frees the disk old builds hold (build cache, uploads, unused images, layers);
        returns the counts removed. Raises ConflictError while a build is under way."""
        c = _client(client, api_url, api_key)
        return c.request("POST", "/v1/templates/prune", body={"older_than_s": older_than_s})
