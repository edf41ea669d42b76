"""E2B compatibility: the official `e2b` npm SDK (tests/e2b, pinned) runs unchanged
against a real daemon's /e2b API and real machines (docs/e2b.md)."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

from harness import DaemonTest, SOURCE, npm_test, run_bounded
from nettest import start_web

TESTS = os.path.join(SOURCE, "tests", "e2b")


class E2bSdk(DaemonTest):
    daemon_args = ("--metrics-interval-ms", "200")  # getMetrics has points soon
    def test_the_e2b_sdk_passes_against_a_real_daemon(self):
        self.assertTrue(os.path.isdir(os.path.join(TESTS, "node_modules")),
                        "run scripts/test.sh (it installs tests/e2b with npm ci)")
        st, _, k = self.d.request("POST", "/v1/keys", {"name": "e2b", "format": "e2b"})
        self.assertEqual(st, 201, k)
        self.assertRegex(k["key"], r"^e2b_[0-9a-f]{40}$")  # what the SDK's check accepts
        env = dict(os.environ, E2B_API_URL=self.d.url + "/e2b",
                   E2B_SANDBOX_URL=self.d.url + "/e2b/envd", E2B_API_KEY=k["key"],
                   E2B_VOLUME_API_URL=self.d.url + "/e2b")
        npm_test(self.d, TESTS, env, 300)

    def test_unknown_e2b_routes_and_bad_input_get_e2b_errors(self):
        st, _, body = self.d.request("POST", "/e2b/v2/sandboxes", {"timeout": "soon"})
        self.assertEqual((st, body["code"]), (400, 400), body)
        self.assertIn("timeout", body["message"])
        st, _, body = self.d.request("GET", "/e2b/sandboxes/m_nope")
        self.assertEqual((st, body["code"]), (404, 404), body)
        st, _, body = self.d.request("GET", "/e2b/v2/sandboxes?state=sleeping")
        self.assertEqual(st, 400, body)
        st, _, body = self.d.request("GET", "/e2b/envd/health")
        self.assertEqual((st, body["code"]), (400, 400), body)
        # what E2B has and we do not yet, unknown paths, wrong methods, no key: E2B's shape
        for method, path, status in (("GET", "/e2b/sandboxes/x/logs", 404),
                                     ("GET", "/e2b/templates/x/builds/y/status", 404),
                                     ("GET", "/e2b/no/such/route", 404),
                                     ("PATCH", "/e2b/v2/sandboxes", 405)):
            st, _, body = self.d.request(method, path)
            self.assertEqual((st, body.get("code")), (status, status), body)
            self.assertTrue(body["message"], body)
        st, _, body = self.d.request("GET", "/e2b/v2/sandboxes", key=False)
        self.assertEqual((st, body.get("code")), (401, 401), body)
        st, _, body = self.d.request("GET", "/v1/no/such/route")  # ours stay ours
        self.assertEqual(body["error"]["code"], "not_found", body)

    def test_ports_by_header_and_the_code_interpreters_port(self):
        """E2B_SANDBOX_URL requests naming a port in E2b-Sandbox-Port reach it (how
        @e2b/code-interpreter reaches 49999); port 49999 only for E2B's clients: an open
        sandbox, its traffic token or its envd access token, never a preview URL."""
        def sandbox(body):
            st, _, sb = self.d.request("POST", "/e2b/v2/sandboxes", dict(body, timeout=600))
            self.assertEqual(st, 201, sb)
            self.addCleanup(self.d.request, "DELETE", "/e2b/sandboxes/" + sb["sandboxID"])
            start_web(self.d, "m_" + sb["sandboxID"], 49999)
            return sb

        def get(sb, port, path="/a?b=1", by_host=False, **headers):
            if by_host:
                headers["Host"] = "%d-%s.localhost:%d" % (port, sb["sandboxID"], self.d.port)
            else:
                headers.update({"E2b-Sandbox-Id": sb["sandboxID"], "E2b-Sandbox-Port": str(port)})
                path = "/e2b/envd" + path
            st, _, body = self.d.request("GET", path, headers=headers, key=False)
            return st, body

        public = sandbox({})
        start_web(self.d, "m_" + public["sandboxID"], 8000)
        self.assertEqual(get(public, 49999), (200, b"path:/a?b=1"))
        self.assertEqual(get(public, 49999, by_host=True), (200, b"path:/a?b=1"))
        self.assertEqual(get(public, 8000, "/x"), (200, b"path:/x"))
        private = sandbox({"network": {"allowPublicTraffic": False}})
        def refused(st, body):  # E2B's error shape, or ours for a host-mode request
            self.assertEqual(st, 403, body)
            self.assertIn("code interpreter", body.get("message") or body["error"]["message"])

        for by_host in (False, True):
            refused(*get(private, 49999, by_host=by_host))
            refused(*get(private, 49999, by_host=by_host, **{"X-Access-Token": "0" * 64}))
            self.assertEqual(get(private, 49999, by_host=by_host,
                                 **{"X-Access-Token": private["envdAccessToken"]}),
                             (200, b"path:/a?b=1"))
            self.assertEqual(get(private, 49999, by_host=by_host, **{
                "E2b-Traffic-Access-Token": private["trafficAccessToken"]}), (200, b"path:/a?b=1"))
        # our preview URLs never reach it, public or not
        st, _, p = self.d.request("POST", "/v1/machines/m_%s/previews" % public["sandboxID"],
                                  {"port": 49999, "expires_in_s": 300})
        if st == 201:
            path = urllib.parse.urlsplit(p["path_url"]).path
            refused(*self.d.request("GET", path, key=False)[::2])
        else:
            self.assertEqual(st, 400, p)
        # envd's own port by header is envd (the header names it, nothing is relayed)
        st, _, body = self.d.request("GET", "/e2b/envd/health", headers={
            "E2b-Sandbox-Id": public["sandboxID"], "E2b-Sandbox-Port": "49983",
            "X-Access-Token": public["envdAccessToken"]}, key=False)
        self.assertIn(st, (200, 204), body)

    def test_malformed_connect_requests_get_connect_errors(self):
        import struct
        st, _, m = self.d.request("POST", "/e2b/v2/sandboxes", {"timeout": 600})
        self.assertEqual(st, 201, m)
        self.addCleanup(self.d.request, "DELETE", "/e2b/sandboxes/" + m["sandboxID"])
        h = {"E2b-Sandbox-Id": m["sandboxID"], "X-Access-Token": m["envdAccessToken"],
             "Content-Type": "application/connect+json"}
        path = "/e2b/envd/process.Process/Start"

        def env(flags, payload, length=None):
            return struct.pack("!BI", flags, len(payload) if length is None else length) + payload

        for body in (b"", b"\0\0", env(0, b"{}", 9999), env(1, b"{}"), env(0, b"[1]"),
                     env(0, b"not json"), env(0, b'{"process": {"cmd": ""}}'),
                     env(0, b'{"process": {"cmd": "ls", "args": [1]}}'),
                     env(0, b'{"process": {"cmd": "ls", "envs": {"A": 1}}}')):
            st, hdrs, raw = self.d.request("POST", path, body=body, headers=h, key=False)
            self.assertEqual(st, 200, raw)
            # one end-of-stream envelope carrying the error
            flags, n = struct.unpack("!BI", raw[:5])
            self.assertEqual((flags, len(raw)), (2, 5 + n), raw)
            self.assertEqual(json.loads(raw[5:])["error"]["code"], "invalid_argument", raw)
        bad = dict(h, **{"X-Access-Token": "0" * 64})
        st, _, body = self.d.request("POST", path, body=env(0, b"{}"), headers=bad, key=False)
        self.assertEqual((st, body["code"]), (401, 401), body)
        self.assertEqual(self.d.request("GET", "/e2b/sandboxes/" + m["sandboxID"])[0], 200)

    def test_bad_uploads_signatures_and_streams_get_clear_errors(self):
        import gzip
        import struct
        st, _, m = self.d.request("POST", "/e2b/v2/sandboxes",
                                  {"timeout": 600, "envVars": {"GREETING": "it's $HOME"}})
        self.assertEqual(st, 201, m)
        self.addCleanup(self.d.request, "DELETE", "/e2b/sandboxes/" + m["sandboxID"])
        h = {"E2b-Sandbox-Id": m["sandboxID"], "X-Access-Token": m["envdAccessToken"]}
        st, _, logs = self.d.request("GET", "/e2b/sandboxes/%s/logs" % m["sandboxID"])
        self.assertEqual(st, 200, logs)
        self.assertIn("machine.running", [e["message"] for e in logs["logEntries"]])
        self.assertTrue(logs["logs"][0]["line"] and logs["logs"][0]["timestamp"], logs)
        st, _, envs = self.d.request("GET", "/e2b/envd/envs", headers=h, key=False)
        self.assertEqual((st, envs), (200, {"GREETING": "it's $HOME"}), envs)
        octet = dict(h, **{"Content-Type": "application/octet-stream"})
        files = "/e2b/envd/files?path=/tmp/u"
        # gzip: corrupt, truncated, a bomb past the 64 MiB bound, an unknown encoding
        bomb = gzip.compress(b"\0" * (65 << 20), 9)
        good = gzip.compress(b"fine")
        for body, enc, why in ((b"not gzip", "gzip", "corrupt"), (good[:-6], "gzip", "truncated"),
                               (bomb, "gzip", "too large"), (b"x", "br", "gzip or none")):
            st, _, body = self.d.request("POST", files, body=body, key=False,
                                         headers=dict(octet, **{"Content-Encoding": enc}))
            self.assertEqual((st, body["code"]), (400, 400), body)
            self.assertIn(why, body["message"])
        st, _, body = self.d.request("POST", files, body=good, key=False,
                                     headers=dict(octet, **{"Content-Encoding": "gzip"}))
        self.assertEqual(st, 200, body)
        # signed URLs: a forged signature, one naming no sandbox, none at all
        for path, hdrs, status in (("/files?path=/tmp/u&signature=v1_forged", {}, 401),
                                   ("/e2b/envd/files?path=/tmp/u&signature=v1_x",
                                    {"E2b-Sandbox-Id": m["sandboxID"]}, 401),
                                   ("/files?path=/tmp/u&signature=v1_x&signature_expiration=soon",
                                    {}, 401),
                                   ("/files?path=/tmp/u", {}, 400)):
            st, _, body = self.d.request("GET", path, headers=hdrs, key=False)
            self.assertEqual((st, body["code"]), (status, status), (path, body))
        # WatchDir: a malformed request and a missing directory end the stream with errors
        cj = dict(h, **{"Content-Type": "application/connect+json"})
        watch = "/e2b/envd/filesystem.Filesystem/WatchDir"
        for payload, code in ((b"[]", "invalid_argument"), (b'{"path": ""}', "invalid_argument"),
                              (b'{"path": "/tmp/none"}', "not_found")):
            env = struct.pack("!BI", 0, len(payload)) + payload
            st, _, raw = self.d.request("POST", watch, body=env, headers=cj, key=False)
            self.assertEqual(st, 200, raw)
            flags, n = struct.unpack("!BI", raw[:5])
            self.assertEqual((flags, json.loads(raw[5:5 + n])["error"]["code"]), (2, code), raw)
        # fork and snapshot bodies out of range
        for path, body in (("/fork", {"count": 99}), ("/fork", {"timeout": "x"}),
                           ("/snapshots", {"name": 5})):
            st, _, out = self.d.request("POST", "/e2b/sandboxes/" + m["sandboxID"] + path, body)
            self.assertEqual((st, out["code"]), (400, 400), out)

    def test_volume_content_takes_only_its_own_token(self):
        vols = []
        for name in ("tok-a", "tok-b"):
            st, _, v = self.d.request("POST", "/e2b/volumes", {"name": name})
            self.assertEqual(st, 201, v)
            self.addCleanup(self.d.request, "DELETE", "/e2b/volumes/" + v["volumeID"])
            vols.append(v)
        a, b = vols
        root = "/e2b/volumecontent/%s/path?path=/" % a["volumeID"]
        st, _, entry = self.d.request("GET", root, key=a["token"])
        self.assertEqual((st, entry["type"], entry["path"]), (200, "directory", "/"), entry)
        for key in (b["token"], "0" * 64, False):  # another volume's, forged, none
            st, _, body = self.d.request("GET", root, key=key)
            self.assertEqual((st, body["code"]), (401, 401), body)
        # a volume token opens nothing else
        st, _, body = self.d.request("GET", "/e2b/volumes", key=a["token"])
        self.assertEqual(st, 401, body)
        base = "/e2b/volumecontent/%s" % a["volumeID"]
        for method, path, body in (("GET", "/dir?path=/&depth=99", None),
                                   ("GET", "/dir?depth=1", None),
                                   ("PATCH", "/path?path=/", {"mode": "x"}),
                                   ("PUT", "/file?path=/f&mode=99999", b"x")):
            st, _, out = self.d.request(method, base + path, body=body, key=a["token"])
            self.assertEqual((st, out["code"]), (400, 400), (path, out))
        st, _, out = self.d.request("POST", "/e2b/volumes", {"name": "bad name!"})
        self.assertEqual((st, out["code"]), (400, 400), out)

    def test_polled_watchers_report_changes_until_removed(self):
        import time
        st, _, m = self.d.request("POST", "/e2b/v2/sandboxes", {"timeout": 600})
        self.assertEqual(st, 201, m)
        self.addCleanup(self.d.request, "DELETE", "/e2b/sandboxes/" + m["sandboxID"])
        h = {"E2b-Sandbox-Id": m["sandboxID"], "X-Access-Token": m["envdAccessToken"]}
        fs = "/e2b/envd/filesystem.Filesystem/"
        ours = "/v1/machines/m_%s/exec" % m["sandboxID"]
        self.assertEqual(self.d.request("POST", ours, {"cmd": "mkdir -p /tmp/pw"})[0], 200)

        def call(method, body):
            return self.d.request("POST", fs + method, body, headers=h, key=False)

        st, _, w = call("CreateWatcher", {"path": "/tmp/pw", "recursive": True})
        self.assertEqual(st, 200, w)
        self.assertEqual(self.d.request("POST", ours, {"cmd": "echo x > /tmp/pw/f"})[0], 200)
        seen = []
        for _ in range(100):  # bounded: the event arrives within a few polls
            st, _, got = call("GetWatcherEvents", {"watcherId": w["watcherId"]})
            self.assertEqual(st, 200, got)
            seen += [(e["type"], e["name"]) for e in got["events"]]
            if ("EVENT_TYPE_CREATE", "f") in seen:
                break
            time.sleep(0.05)
        self.assertIn(("EVENT_TYPE_CREATE", "f"), seen)
        st, _, got = call("RemoveWatcher", {"watcherId": w["watcherId"]})
        self.assertEqual((st, got), (200, {}))
        st, _, got = call("GetWatcherEvents", {"watcherId": w["watcherId"]})
        self.assertEqual((st, got["code"]), (404, "not_found"), got)
        st, _, got = call("CreateWatcher", {"path": "/tmp/none"})
        self.assertEqual((st, got["code"]), (404, "not_found"), got)
        st, _, got = call("CreateWatcher", {"path": ""})
        self.assertEqual((st, got["code"]), (400, "invalid_argument"), got)


class E2bHostMode(DaemonTest):
    """The SDK without E2B_SANDBOX_URL: https to PORT-SANDBOXID.e2b.test through a TLS
    proxy (tests/e2b/hostmode.test.mjs) to a daemon whose preview domain is e2b.test."""
    daemon_args = ("--preview-domain", "e2b.test", "--preview-port", "443")

    def test_the_sdk_in_host_mode(self):
        work = tempfile.mkdtemp(prefix="ns-e2b-tls-")
        self.addCleanup(shutil.rmtree, work, True)
        key, cert = os.path.join(work, "key.pem"), os.path.join(work, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=e2b.test", "-keyout", key, "-out", cert, "-addext",
                        "subjectAltName=DNS:e2b.test,DNS:*.e2b.test"],
                       check=True, capture_output=True, timeout=60)
        st, _, k = self.d.request("POST", "/v1/keys", {"name": "e2b", "format": "e2b"})
        self.assertEqual(st, 201, k)
        env = {n: v for n, v in os.environ.items() if not n.startswith("E2B_")}
        env.update(E2B_API_URL=self.d.url + "/e2b", E2B_API_KEY=k["key"],
                   NODE_EXTRA_CA_CERTS=cert, HOSTMODE_KEY=key, HOSTMODE_CERT=cert)
        r = run_bounded(["node", "--test", "--test-timeout=120000", "hostmode.test.mjs"], 300,
                        cwd=TESTS, env=env)
        self.assertTrue(r.returncode == 0 and "# pass 1" in r.stdout and "# fail 0" in r.stdout,
                        r.stdout[-6000:] + r.stderr[-2000:] + "\ndaemon log:\n" +
                        self.d.read_log()[-4000:])


if __name__ == "__main__":
    unittest.main()
