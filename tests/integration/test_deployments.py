"""Deployments on a real daemon: a project directory deployed as a job by the CLI (its
manifest, its ignore files), runs that finish with their logs and exit codes kept after
their machines are gone, a failed run's machine retained for exec and then destroyed (by
hand and by its timer), a schedule that fires, revisions and rollback, a broken build
that never goes live, concurrency policies, time limits, a daemon restart during a run,
secrets in the environment and never in an answer or a stored log, and the API's
refusals."""

import json
import os
import shutil
import tempfile
import time
import sys
import unittest

from harness import SOURCE, DaemonTest, error_code, run_bounded

sys.path.insert(0, os.path.join(SOURCE, "sdks", "python"))
import nullspace  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def write(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


JOB_PY = """import os, sys
print("job", os.environ["NULLSPACE_DEPLOYMENT"], "rev", os.environ["NULLSPACE_REVISION"])
print("greeting", os.environ.get("GREETING"))
print("token", os.environ.get("API_TOKEN"))
print("files", sorted(os.listdir(".")), sorted(os.listdir("sub")))
print("to stderr", file=sys.stderr)
sys.exit(int(open("exit_code").read()))
"""


class Deployments(DaemonTest):
    def req(self, method, path, body=None):
        st, _, doc = self.d.request(method, path, body)
        return st, doc

    def project(self, files):
        root = tempfile.mkdtemp(prefix="ns-proj-")
        self.addCleanup(shutil.rmtree, root, True)
        write(root, files)
        return root

    def deploy(self, root, *flags):
        r = self.d.cli("deploy", root, "--json", *flags, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        rev = json.loads(r.stdout)
        self.addCleanup(self.req, "DELETE", "/v1/deployments/" + rev["deployment"])
        return rev

    def api_deploy(self, **body):
        st, rev = self.req("POST", "/v1/deployments", body)
        self.assertEqual(st, 202, rev)
        if rev["number"] == 1:
            self.addCleanup(self.req, "DELETE", "/v1/deployments/" + body["name"])
        return self.settled(body["name"], rev["number"])

    def settled(self, name, number, timeout=240):
        end = time.time() + timeout
        while time.time() < end:
            st, rev = self.req("GET", "/v1/deployments/%s/revisions/%d" % (name, number))
            self.assertEqual(st, 200, rev)
            if rev["state"] != "building":
                return rev
            time.sleep(0.2)
        self.fail("revision %d of %s still building" % (number, name))

    def run_job(self, name):
        st, run = self.req("POST", "/v1/deployments/%s/runs" % name)
        self.assertEqual(st, 202, run)
        return run

    def ended(self, name, run_id, timeout=120):
        end = time.time() + timeout
        while time.time() < end:
            st, run = self.req("GET", "/v1/deployments/%s/runs/%s" % (name, run_id))
            self.assertEqual(st, 200, run)
            if run["state"] not in ("starting", "running"):
                return run
            time.sleep(0.2)
        self.fail("run %s still active" % run_id)

    def log(self, name, run_id):
        conn = self.d.conn()
        conn.request("GET", "/v1/deployments/%s/runs/%s/logs" % (name, run_id),
                     headers={"Authorization": "Bearer " + self.d.key})
        r = conn.getresponse()
        body = r.read().decode()
        conn.close()
        self.assertEqual(r.status, 200, body)
        self.assertEqual(int(r.getheader("X-Nullspace-Next-Offset")), len(body.encode()))
        return body

    def machine_gone(self, mid, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            st, m = self.req("GET", "/v1/machines/" + mid)
            if st == 404 or m.get("state") == "destroyed":
                return
            time.sleep(0.2)
        self.fail("machine %s is still %s" % (mid, m.get("state")))

    def assert_not_in_state_dir(self, needle):
        for root, dirs, files in os.walk(self.d.state_dir):
            dirs[:] = [x for x in dirs if not os.path.ismount(os.path.join(root, x))]
            for f in files:
                p = os.path.join(root, f)
                if not os.path.isfile(p) or os.path.islink(p):
                    continue
                with open(p, "rb") as fh:
                    self.assertNotIn(needle.encode(), fh.read(), p)

    def test_cli_job_runs_logs_retention_and_secrets(self):
        secret = "tok-" + os.urandom(12).hex()
        st, _ = self.req("PUT", "/v1/secrets/API_TOKEN", {"value": secret})
        self.assertEqual(st, 201)
        self.addCleanup(self.req, "DELETE", "/v1/secrets/API_TOKEN")
        root = self.project({
            "main.py": JOB_PY, "exit_code": "0", "sub/keep.txt": "k", "sub/drop.log": "d",
            "sub/.gitignore": "*.log\n", ".gitignore": "cache/\n", "cache/big": "x",
            ".nullspaceignore": "notes.md\n", "notes.md": "n",
            "nullspace.toml": 'name = "clijob"\nsecrets = ["API_TOKEN"]\n[env]\n'
                              'GREETING = "hi"\n[job]\nretain_failed_s = 300\n'})
        rev = self.deploy(root)
        self.assertEqual((rev["state"], rev["number"], rev["template"]),
                         ("ready", 1, "deploy-clijob:r1"))
        r = self.d.cli("deployments", "run", "clijob", "--follow", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        run = json.loads(r.stdout)
        self.assertEqual((run["state"], run["exit_code"], run["trigger"]),
                         ("succeeded", 0, "manual"))
        self.assertIn("job clijob rev 1", r.stderr)
        log = self.log("clijob", run["id"])
        self.assertIn("greeting hi", log)
        self.assertIn("token [redacted:API_TOKEN]", log)
        self.assertIn("to stderr", log)
        self.assertIn("files ['.gitignore', '.nullspaceignore', 'exit_code', 'main.py', "
                      "'nullspace.toml', 'sub'] ['.gitignore', 'keep.txt']", log)
        self.machine_gone(run["machine_id"])
        self.assertEqual(self.log("clijob", run["id"]), log, "the log outlives the machine")
        r = self.d.cli("deployments", "logs", "clijob")
        self.assertEqual((r.returncode, r.stdout), (0, log))

        # a failing run: its machine stays for exec until cancelled
        with open(os.path.join(root, "exit_code"), "w") as f:
            f.write("7")
        rev = self.deploy(root)
        self.assertEqual(rev["number"], 2)
        r = self.d.cli("deployments", "run", "clijob", "--follow")
        self.assertEqual(r.returncode, 7, r.stderr)
        st, runs = self.req("GET", "/v1/deployments/clijob/runs")
        failed = runs["runs"][0]
        self.assertEqual((failed["state"], failed["exit_code"], failed["retained"], failed["revision"]),
                         ("failed", 7, True, 2))
        st, out = self.req("POST", "/v1/machines/%s/exec" % failed["machine_id"],
                           {"cmd": "cat exit_code; echo $API_TOKEN | wc -c"})
        self.assertEqual((st, out["stdout"]), (200, "7%d\n" % (len(secret) + 1)))
        r = self.d.cli("deployments", "cancel", "clijob", failed["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.machine_gone(failed["machine_id"])
        st, again = self.req("GET", "/v1/deployments/clijob/runs/" + failed["id"])
        self.assertEqual((again["retained"], again["state"]), (False, "failed"))
        st, err = self.req("POST", "/v1/deployments/clijob/runs/%s/cancel" % failed["id"])
        self.assertEqual((st, error_code(err)), (409, "conflict"))

        for path in ("/v1/deployments", "/v1/deployments/clijob", "/v1/deployments/clijob/runs",
                     "/v1/deployments/clijob/revisions"):
            st, doc = self.req("GET", path)
            self.assertEqual(st, 200)
            self.assertNotIn(secret, json.dumps(doc))
        self.assert_not_in_state_dir(secret)

    def test_retention_ends_by_itself_and_time_limit(self):
        self.api_deploy(name="brief", command="echo failing; exit 3", retain_failed_s=2)
        run = self.ended("brief", self.run_job("brief")["id"])
        self.assertEqual((run["state"], run["exit_code"], run["retained"]), ("failed", 3, True))
        self.machine_gone(run["machine_id"], timeout=30)
        st, run = self.req("GET", "/v1/deployments/brief/runs/" + run["id"])
        self.assertFalse(run["retained"])
        self.assertEqual(self.log("brief", run["id"]), "failing\n")

        self.api_deploy(name="slow", command="echo start; sleep 60", timeout_s=2,
                        retain_failed_s=0)
        run = self.ended("slow", self.run_job("slow")["id"], timeout=60)
        self.assertEqual((run["state"], run["exit_code"], run["retained"]), ("failed", None, False))
        self.assertIn("timeout_s", run["error"])
        self.machine_gone(run["machine_id"])

    def test_schedule_fires(self):
        self.api_deploy(name="ticker", command="date +%s", schedule="@every 10s")
        end = time.time() + 40
        runs = []
        while time.time() < end and len([r for r in runs if r["state"] == "succeeded"]) < 1:
            time.sleep(1)
            st, doc = self.req("GET", "/v1/deployments/ticker/runs")
            runs = doc["runs"]
        done = [r for r in runs if r["state"] == "succeeded"]
        self.assertTrue(done, runs)
        self.assertEqual(done[0]["trigger"], "schedule")
        st, _ = self.req("DELETE", "/v1/deployments/ticker")
        self.assertEqual(st, 204)
        st, err = self.req("GET", "/v1/deployments/ticker/runs")
        self.assertEqual((st, error_code(err)), (404, "deployment_not_found"))
        self.assertFalse(os.path.exists(os.path.join(self.d.state_dir, "deployments", "ticker")))

    def test_revisions_rollback_and_a_broken_build(self):
        self.api_deploy(name="revs", command="echo one")
        self.api_deploy(name="revs", command="echo two")
        broken = self.api_deploy(name="revs", command="echo three",
                                 steps=[{"op": "run", "cmd": "exit 9"}])
        self.assertEqual(broken["state"], "failed")
        st, dep = self.req("GET", "/v1/deployments/revs")
        self.assertEqual((dep["revision"], dep["latest_revision"]["number"]), (2, 3),
                         "a failed build never goes live")
        run = self.ended("revs", self.run_job("revs")["id"])
        self.assertEqual(self.log("revs", run["id"]), "two\n")
        r = self.d.cli("deployments", "rollback", "revs", "1", "--json")
        self.assertEqual((r.returncode, json.loads(r.stdout)["revision"]), (0, 1), r.stderr)
        run = self.ended("revs", self.run_job("revs")["id"])
        self.assertEqual((self.log("revs", run["id"]), run["revision"]), ("one\n", 1))
        for number, code, status in ((3, "revision_not_ready", 409),
                                     (9, "revision_not_found", 404)):
            st, err = self.req("POST", "/v1/deployments/revs/rollback", {"revision": number})
            self.assertEqual((st, error_code(err)), (status, code))
        st, revs = self.req("GET", "/v1/deployments/revs/revisions?limit=2")
        self.assertEqual([x["number"] for x in revs["revisions"]], [3, 2])
        st, rest = self.req("GET", "/v1/deployments/revs/revisions?cursor=" + revs["next_cursor"])
        self.assertEqual(([x["number"] for x in rest["revisions"]], rest["next_cursor"]),
                         ([1], None))

    def test_concurrency(self):
        self.api_deploy(name="single", command="sleep 30", concurrency="forbid", retain_failed_s=0)
        first = self.run_job("single")
        st, err = self.req("POST", "/v1/deployments/single/runs")
        self.assertEqual((st, error_code(err)), (409, "run_active"))
        st, run = self.req("POST", "/v1/deployments/single/runs/%s/cancel" % first["id"])
        self.assertEqual((st, run["state"]), (200, "cancelled"))
        self.machine_gone(first["machine_id"])

        self.api_deploy(name="newest", command="sleep 30", concurrency="replace")
        a = self.run_job("newest")
        b = self.run_job("newest")
        st, a = self.req("GET", "/v1/deployments/newest/runs/" + a["id"])
        self.assertEqual((a["state"], a["error"], a["retained"]),
                         ("cancelled", "replaced by a newer run", False))
        self.machine_gone(a["machine_id"])
        st, _ = self.req("POST", "/v1/deployments/newest/runs/%s/cancel" % b["id"])
        self.assertEqual(st, 200)

    def test_refusals(self):
        cases = [
            ({"name": "Bad_Name", "command": "true"}, 400, "invalid_field"),
            ({"name": "x", "command": "true", "kind": "cron"}, 400, "invalid_field"),
            ({"name": "x"}, 400, "invalid_field"),
            ({"name": "x", "command": "true", "argv": ["true"]}, 400, "invalid_field"),
            ({"name": "x", "command": "true", "schedule": "61 * * * *"}, 400, "invalid_field"),
            ({"name": "x", "command": "true", "concurrency": "sometimes"}, 400, "invalid_field"),
            ({"name": "x", "command": "true", "secrets": ["NOT_SET_ANYWHERE"]}, 404,
             "secret_not_found"),
            ({"name": "x", "command": "true", "retain_failed_s": -1}, 400, "invalid_field"),
            ({"name": "x", "command": "true", "context_id": "0" * 64}, 404, "context_not_found"),
        ]
        for body, status, code in cases:
            st, err = self.req("POST", "/v1/deployments", body)
            self.assertEqual((st, error_code(err)), (status, code), body)
        st, dep = self.req("GET", "/v1/deployments/x")
        self.assertEqual((st, error_code(dep)), (404, "deployment_not_found"),
                         "a refused deploy leaves nothing")
        for method, path, code in (("POST", "/v1/deployments/nope/runs", "deployment_not_found"),
                                   ("GET", "/v1/deployments/nope/runs/r_00", "deployment_not_found"),
                                   ("DELETE", "/v1/deployments/nope", "deployment_not_found")):
            st, err = self.req(method, path)
            self.assertEqual((st, error_code(err)), (404, code), path)
        self.api_deploy(name="known", command="true")
        st, err = self.req("GET", "/v1/deployments/known/runs/r_0000000000000000")
        self.assertEqual((st, error_code(err)), (404, "run_not_found"))
        st, err = self.req("GET", "/v1/deployments/known/revisions/0")
        self.assertEqual((st, error_code(err)), (404, "revision_not_found"))
        r = self.d.cli("deploy", self.project({"nullspace.toml": "name = \"x\"\nbad line\n"}))
        self.assertEqual(r.returncode, 2)
        self.assertIn("nullspace.toml:2:", r.stderr)

    def sdk_project(self):
        return self.project({"main.py": 'import os, sys\nprint("rev", os.environ["NULLSPACE_REVISION"])\n'
                                        'sys.exit(int(os.environ["EXIT"]))\n',
                             ".gitignore": "junk/\n", "junk/x": "x"})

    def test_python_sdk(self):
        root = self.sdk_project()
        c = nullspace.Client(api_url=self.d.url, api_key=self.d.key)
        lines = []
        d = nullspace.Deployment.deploy("pyjob", root, command="python3 main.py", env={"EXIT": "0"},
                                        on_log=lines.append, client=c)
        self.addCleanup(self.req, "DELETE", "/v1/deployments/pyjob")
        self.assertEqual((d.name, d.kind, d.revision), ("pyjob", "job", 1))
        self.assertTrue(any("COPY" in x["text"] for x in lines), lines)
        seen = []
        run = d.run().wait(on_output=seen.append)
        self.assertEqual((run.state, run.exit_code, "".join(seen)), ("succeeded", 0, "rev 1\n"))
        self.assertEqual(run.logs(), "rev 1\n")
        d2 = nullspace.Deployment.deploy("pyjob", root, command="python3 main.py",
                                         env={"EXIT": "4"}, client=c)
        bad = d2.run().wait()
        self.assertEqual((bad.state, bad.exit_code, bad.retained), ("failed", 4, True))
        self.assertEqual(bad.cancel().retained, False)
        self.assertEqual(d2.rollback(1).revision, 1)
        self.assertEqual([r["number"] for r in d2.revisions()], [2, 1])
        self.assertEqual([r.id for r in d2.runs()], [bad.id, run.id])
        self.assertIn("pyjob", [x.name for x in nullspace.Deployment.list(client=c)])
        with self.assertRaises(nullspace.BuildFailedError):
            nullspace.Deployment.deploy("pyjob", root, command="true",
                                        steps=[{"op": "run", "cmd": "exit 3"}], client=c)
        d2.delete()
        with self.assertRaises(nullspace.errors.DeploymentNotFoundError):
            nullspace.Deployment.get("pyjob", client=c)

    def test_typescript_sdk(self):
        root = self.sdk_project()
        self.addCleanup(self.req, "DELETE", "/v1/deployments/tsjob")
        r = run_bounded(["node", os.path.join(HERE, "deploy_sdk.mjs"), root], 300,
                        env=self.d.client_env())
        self.assertEqual(r.returncode, 0, r.stderr + self.d.read_log()[-3000:])
        out = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual(out, {"deployed": ["tsjob", 1, "deploy-tsjob:r1"],
                               "ok": ["succeeded", 0, True, True], "bad": [2, "failed", 5, True],
                               "cancelled": False, "rolledBack": 1, "runs": 2,
                               "revisions": [2, 1], "listed": True, "deleted": True})


SERVER_PY = """import http.server, os, sys
if os.environ.get("BROKEN"):
    sys.exit("this revision is broken")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("rev %s %s %s" % (os.environ["NULLSPACE_REVISION"], self.path,
                                 self.headers.get("Authorization"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        print("served", self.path, flush=True)
http.server.HTTPServer(("0.0.0.0", 8080), H).serve_forever()
"""


TS_SERVICE = """
import { Deployment } from "../../sdks/typescript/src/index.js";
const d = await Deployment.deploy("tssvc", { directory: process.argv[1], kind: "service", port: 8080,
                                            command: "python3 server.py" });
const body = await (await fetch(process.env.NULLSPACE_API_URL + "/deploy/tssvc/ts")).text();
const logged = (await d.logs()).stdout.includes("served /ts");
await d.delete();
console.log(JSON.stringify({ kind: d.kind, body, logged }));
"""


class Services(DaemonTest):
    req = Deployments.req
    project = Deployments.project
    settled = Deployments.settled
    machine_gone = Deployments.machine_gone

    def get(self, path, host=None, auth=None):
        conn = self.d.conn(timeout=30)
        headers = {"Host": host} if host else {}
        if auth:
            headers["Authorization"] = auth
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            body = r.read().decode()
        except ConnectionError as e:  # the server died with the connection in its backlog
            return 0, str(e)
        finally:
            conn.close()
        return r.status, body

    def dep(self, name):
        st, dep = self.req("GET", "/v1/deployments/" + name)
        self.assertEqual(st, 200, dep)
        return dep

    def until(self, what, cond, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            v = cond()
            if v:
                return v
            time.sleep(0.2)
        self.fail("gave up waiting for " + what)

    def machine_state(self, mid):
        return self.req("GET", "/v1/machines/" + mid)[1]["state"]

    def test_a_service_lives_restarts_sleeps_and_rolls_back(self):
        root = self.project({"server.py": SERVER_PY, "nullspace.toml":
                             'name = "web"\nkind = "service"\ncommand = "python3 server.py"\n'
                             '[service]\nport = 8080\nhealth_path = "/healthz"\nidle_s = 3\n'})
        r = self.d.cli("deploy", root, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(self.req, "DELETE", "/v1/deployments/web")
        dep = json.loads(r.stdout)
        self.assertEqual((dep["kind"], dep["revision"]), ("service", 1))
        self.assertTrue(dep["url"].startswith("http://web.") and dep["path_url"].endswith("/deploy/web/"))
        host = dep["url"].split("/")[2]
        self.assertEqual(self.get("/a?b=1", host=host, auth="Bearer app-token"),
                         (200, "rev 1 /a?b=1 Bearer app-token"), "by host, its own auth passes")
        self.assertEqual(self.get("/deploy/web/c"), (200, "rev 1 /c None"), "by path")
        first = dep["machine_id"]

        # its process killed: started again in the same machine
        st, _ = self.req("POST", "/v1/machines/%s/processes/start/signal" % first, {"signal": "KILL"})
        self.assertEqual(st, 200)
        self.until("a respawn", lambda: self.get("/deploy/web/back")[0] == 200, 30)
        self.assertEqual(self.dep("web")["machine_id"], first)
        r = self.d.cli("deployments", "logs", "web")
        self.assertIn("served /back", r.stdout)

        # idle: hibernated; a request wakes it
        self.until("an idle hibernation", lambda: self.machine_state(first) == "hibernated", 30)
        self.assertEqual(self.get("/deploy/web/woken"), (200, "rev 1 /woken None"))
        self.assertEqual(self.machine_state(first), "running")

        # a broken revision never takes traffic
        st, rev = self.req("POST", "/v1/deployments", {
            "name": "web", "kind": "service", "command": "python3 /app/server.py", "port": 8080,
            "env": {"BROKEN": "1"}, "health_timeout_s": 3,
            "context_id": self.upload(root)})
        self.assertEqual(st, 202, rev)
        self.until("the broken revision to fail",
                   lambda: self.settled("web", 2)["state"] == "failed", 60)
        self.assertIn("unhealthy", self.settled("web", 2)["error"])
        self.assertEqual(self.get("/deploy/web/still"), (200, "rev 1 /still None"))

        # a good one does; the old machine is kept hibernated, a rollback is instant
        st, rev = self.req("POST", "/v1/deployments", {
            "name": "web", "kind": "service", "command": "python3 /app/server.py", "port": 8080,
            "context_id": self.upload(root)})
        self.until("revision 3 live", lambda: self.dep("web")["revision"] == 3, 60)
        dep = self.dep("web")
        self.assertEqual(dep["previous_machine_id"], first)
        self.assertEqual(self.get("/deploy/web/new"), (200, "rev 3 /new None"))
        self.until("the old machine asleep", lambda: self.machine_state(first) == "hibernated", 30)
        r = self.d.cli("deployments", "rollback", "web", "1", "--json")
        self.assertEqual((r.returncode, json.loads(r.stdout)["machine_id"]), (0, first), r.stderr)
        self.assertEqual(self.get("/deploy/web/old"), (200, "rev 1 /old None"))
        st, err = self.req("POST", "/v1/deployments/web/rollback", {"revision": 2})
        self.assertEqual((st, error_code(err)), (409, "revision_not_ready"))

        st, _ = self.req("DELETE", "/v1/deployments/web")
        self.assertEqual(st, 204)
        self.machine_gone(first)
        self.machine_gone(dep["machine_id"])
        self.assertEqual(self.get("/deploy/web/gone")[0], 404)
        self.until("its templates deleted", lambda: not [
            t for t in self.req("GET", "/v1/templates")[1]["templates"]
            if t["name"] == "deploy-web"], 30)

    def upload(self, root):
        conn = self.d.conn()
        import subprocess
        tar = subprocess.run(["tar", "-C", root, "-cf", "-", "."], capture_output=True).stdout
        conn.request("PUT", "/v1/templates/contexts", body=tar,
                     headers={"Authorization": "Bearer " + self.d.key,
                              "Content-Type": "application/octet-stream"})
        r = conn.getresponse()
        doc = json.loads(r.read())
        conn.close()
        return doc["context_id"]

    def test_sdks(self):
        root = self.project({"server.py": SERVER_PY})
        c = nullspace.Client(api_url=self.d.url, api_key=self.d.key)
        d = nullspace.Deployment.deploy("pysvc", root, kind="service", port=8080,
                                        command="python3 server.py", client=c)
        self.addCleanup(self.req, "DELETE", "/v1/deployments/pysvc")
        self.assertEqual((d.kind, d.revision, d.url.split("/")[2].split(".")[0]),
                         ("service", 1, "pysvc"))
        self.assertEqual(self.get("/deploy/pysvc/py"), (200, "rev 1 /py None"))
        self.assertIn("served /py", d.logs()[0])
        with self.assertRaises(nullspace.NullspaceError) as cm:
            nullspace.Deployment.deploy("pysvc", root, kind="service", port=8080,
                                        command="python3 server.py", env={"BROKEN": "1"},
                                        health_timeout_s=2, client=c)
        self.assertEqual(cm.exception.code, "unhealthy")
        self.assertEqual(self.get("/deploy/pysvc/still"), (200, "rev 1 /still None"))
        d.delete()
        r = run_bounded(["node", "--input-type=module", "-e", TS_SERVICE, root], 240,
                        env=self.d.client_env(), cwd=HERE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout.strip().splitlines()[-1]),
                         {"kind": "service", "body": "rev 1 /ts None", "logged": True})

    def test_service_refusals(self):
        for body, field in (({"name": "s", "kind": "service", "command": "true"}, "port"),
                            ({"name": "s", "kind": "service", "command": "true", "port": 80,
                              "schedule": "@daily"}, "schedule"),
                            ({"name": "s", "command": "true", "port": 80}, "port"),
                            ({"name": "s", "kind": "service", "command": "true", "port": 80,
                              "health_path": "no-slash"}, "health_path"),
                            ({"name": "s", "kind": "service", "command": "true", "port": 80,
                              "restart": "sometimes"}, "restart")):
            st, err = self.req("POST", "/v1/deployments", body)
            self.assertEqual((st, error_code(err)), (400, "invalid_field"), body)
            self.assertIn(field, err["error"]["message"])
        self.assertEqual(self.get("/deploy/nothing/")[0], 404)


class DeploymentsRestart(DaemonTest):
    def test_a_run_under_way_fails_when_the_daemon_stops(self):
        d = self.d
        st, _, rev = d.request("POST", "/v1/deployments", {"name": "longrun", "command": "sleep 60",
                                                           "retain_failed_s": 0})
        self.assertEqual(st, 202, rev)
        for _ in range(600):
            st, _, rev = d.request("GET", "/v1/deployments/longrun/revisions/1")
            if rev["state"] != "building":
                break
            time.sleep(0.2)
        st, _, run = d.request("POST", "/v1/deployments/longrun/runs")
        for _ in range(300):
            st, _, run = d.request("GET", "/v1/deployments/longrun/runs/" + run["id"])
            if run["state"] == "running":
                break
            time.sleep(0.2)
        self.assertEqual(run["state"], "running")
        d.stop()
        d.start()
        st, _, run = d.request("GET", "/v1/deployments/longrun/runs/" + run["id"])
        self.assertEqual((run["state"], run["error"]), ("failed", "the daemon stopped during the run"))
        for _ in range(150):
            st, _, m = d.request("GET", "/v1/machines/" + run["machine_id"])
            if st == 404 or m["state"] == "destroyed":
                break
            time.sleep(0.2)
        self.assertTrue(st == 404 or m["state"] == "destroyed", m)
        st, _, _ = d.request("DELETE", "/v1/deployments/longrun")
        self.assertEqual(st, 204)


if __name__ == "__main__":
    unittest.main()
