"""The code interpreter through every client (docs/code-interpreter.md): the Python SDK
in this process, the TypeScript SDK (code_sdk.mjs under node), the CLI and the official
MCP client (tests/mcp/code.mjs), against one machine of the code-interpreter template."""

import base64
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

from harness import CLI, DaemonTest, SOURCE, run_bounded

sys.path.insert(0, os.path.join(SOURCE, "sdks", "python"))
import nullspace  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PLOT = "import matplotlib.pyplot as plt\nplt.plot([1, 2], [3, 4]); plt.show()"


class CodeClients(DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client = nullspace.Client(cls.d.url, cls.d.key)
        cls.m = nullspace.Machine.create(template="code-interpreter", client=cls.client,
                                         timeout_s=1800)

    def test_python_sdk_runs_streams_and_manages_contexts(self):
        code = self.m.code
        code.run("x = 41")
        ex = code.run("print('hi'); x + 1")
        self.assertEqual((ex.text, ex.logs.stdout, ex.error), ("42", ["hi\n"], None))
        seen = {"out": [], "results": [], "errors": []}
        ex = code.run("import sys\nprint('a'); print('b', file=sys.stderr)\n" + PLOT +
                      "\n1/0", on_stdout=seen["out"].append,
                      on_result=seen["results"].append, on_error=seen["errors"].append)
        self.assertEqual(seen["out"], ["a\n"])
        self.assertEqual(ex.logs.stderr, ["b\n"])
        self.assertEqual([r.formats() for r in seen["results"]], [["text", "png", "chart"]])
        self.assertEqual((ex.error.name, seen["errors"][0].name),
                         ("ZeroDivisionError", "ZeroDivisionError"))
        self.assertIn("1/0", ex.error.traceback)
        ctx = code.create_context(language="bash", cwd="/tmp", env={"GREETING": "a'b\"$c"})
        self.assertEqual((ctx.language, ctx.cwd), ("bash", "/tmp"))
        self.assertEqual("".join(code.run('printf %s "$GREETING"; pwd', context=ctx).logs.stdout),
                         "a'b\"$c/tmp\n")
        self.assertIn(ctx.id, [c.id for c in code.list_contexts()])
        self.assertFalse(code.interrupt(ctx))
        code.run("X=1", context=ctx)
        code.restart_context(ctx)
        self.assertEqual(code.run('echo "[$X]"', context=ctx.id).logs.stdout, ["[]\n"])
        code.delete_context(ctx)
        with self.assertRaises(nullspace.errors.CodeContextNotFoundError):
            code.run("1", context=ctx)
        with self.assertRaises(nullspace.errors.LanguageNotSupportedError):
            code.run("1", language="cobol")

    def test_python_sdk_async_runs_and_artifacts(self):
        code = self.m.code
        run = code.start("import os\nopen(os.environ['NULLSPACE_ARTIFACTS_DIR'] + '/r.json', 'w')"
                         ".write('{\"a\": 1}')\n6 * 7", language="python")
        self.assertIn(run.id, [r.id for r in code.list_runs()])
        ex = run.wait(60)
        self.assertEqual((run.state, ex.text), ("succeeded", "42"))
        (art,) = run.artifacts
        self.assertEqual((art.name, art.mime_type, run.read_artifact(art)),
                         ("r.json", "application/json", b'{"a": 1}'))
        out = tempfile.mkdtemp(prefix="ns-code-art-")
        self.addCleanup(shutil.rmtree, out, ignore_errors=True)
        self.assertEqual(run.download_artifact(art, out), os.path.join(out, "r.json"))
        slow = code.start("import time\ntime.sleep(60)")
        deadline = time.monotonic() + 30
        while slow.refresh().state == "queued" and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(slow.state, "running")
        self.assertTrue(slow.cancel())
        self.assertEqual(slow.wait(30).error.name, "KeyboardInterrupt")
        self.assertEqual(code.get_run(slow.id).state, "cancelled")
        run.delete()
        with self.assertRaises(nullspace.errors.CodeRunNotFoundError):
            code.get_run(run.id)

    def test_a_machine_of_another_template_says_so(self):
        base = nullspace.Machine.create(client=self.client)
        try:
            with self.assertRaises(nullspace.errors.CodeInterpreterNotAvailableError):
                base.code.run("1 + 1")
        finally:
            base.kill()

    def test_typescript_sdk(self):
        r = run_bounded(["node", os.path.join(HERE, "code_sdk.mjs"), self.m.id], 120,
                        env=self.d.client_env(), cwd=os.path.join(SOURCE, "sdks", "typescript"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual(out, {
            "text": "42", "streamed": ["a\n"], "formats": [["text", "png", "chart"]],
            "error": "ZeroDivisionError", "ctx": ["bash", "/tmp"], "env": "a'b\"$c",
            "listed": True, "interrupted": False, "gone": "code_context_not_found",
            "listedRun": True, "runText": "42", "artifact": ["succeeded", ["n.txt"], "seven"],
            "downloaded": "seven",
            "runGone": "code_run_not_found"})

    def test_cli_streams_saves_results_and_exits_with_the_code(self):
        out = tempfile.mkdtemp(prefix="ns-code-out-")
        self.addCleanup(shutil.rmtree, out, ignore_errors=True)
        r = self.d.cli("code", "run", self.m.id, "-", "--out", out, "--env", "V=a b",
                       input="import os\nprint(os.environ['V'])\n" + PLOT + "\n6 * 7")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[0], "a b")
        self.assertEqual(r.stdout.splitlines()[-1], "42")
        with open(os.path.join(out, "result-1.png"), "rb") as f:
            self.assertTrue(f.read().startswith(b"\x89PNG"))
        self.assertIn("saved %s/result-1.png" % out, r.stderr)
        r = self.d.cli("code", "run", self.m.id, "-", input="raise KeyError('k')")
        self.assertEqual(r.returncode, 1)
        self.assertIn("KeyError", r.stderr)
        r = self.d.cli("--json", "code", "run", self.m.id, "--language", "bash", "-",
                       input="echo hi")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["logs"]["stdout"], ["hi\n"])
        r = self.d.cli("--json", "code", "contexts", "create", self.m.id, "--language", "r")
        self.assertEqual(r.returncode, 0, r.stderr)
        cid = json.loads(r.stdout)["id"]
        r = self.d.cli("code", "contexts", "list", self.m.id)
        self.assertIn(cid, r.stdout)
        for argv, want in ((("contexts", "list", self.m.id), None),
                           (("contexts", "restart", self.m.id, cid), {"id": cid}),
                           (("interrupt", self.m.id, cid), {"id": cid, "interrupted": False})):
            r = self.d.cli("--json", "code", *argv)
            self.assertEqual(r.returncode, 0, r.stderr)
            doc = json.loads(r.stdout)
            if want is None:
                self.assertIn(cid, [c["id"] for c in doc])
            else:
                self.assertEqual({k: doc[k] for k in want}, want)
        r = self.d.cli("code", "run", self.m.id, "--context", cid, "-", input="1 + 2")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "[1] 3"), r.stderr)
        r = self.d.cli("code", "contexts", "delete", self.m.id, cid)
        self.assertEqual((r.returncode, r.stdout), (0, "deleted %s\n" % cid))
        r = self.d.cli("code", "interrupt", self.m.id, cid)
        self.assertEqual(r.returncode, 6, r.stderr)  # code_context_not_found
        r = self.d.cli("code", "run", self.m.id, "--language", "r", "--context", cid, "-")
        self.assertEqual(r.returncode, 2)

    def test_cli_async_runs_and_artifacts(self):
        r = self.d.cli("--json", "code", "runs", "start", self.m.id, "--language", "bash", "-",
                       input='echo out; printf art > "$NULLSPACE_ARTIFACTS_DIR/a.txt"')
        self.assertEqual(r.returncode, 0, r.stderr)
        rid = json.loads(r.stdout)["id"]
        r = self.d.cli("code", "runs", "list", self.m.id)
        self.assertIn(rid, r.stdout)
        r = self.d.cli("code", "runs", "get", self.m.id, rid, "--wait")
        self.assertEqual((r.returncode, r.stdout), (0, "out\n"), r.stderr)
        self.assertIn("%s succeeded (1 artifact" % rid, r.stderr)
        r = self.d.cli("--json", "code", "artifacts", "list", self.m.id, rid)
        (art,) = json.loads(r.stdout)
        self.assertEqual((art["name"], art["size"]), ("a.txt", 3))
        r = self.d.cli("code", "artifacts", "get", self.m.id, rid, art["id"])
        self.assertEqual((r.returncode, r.stdout), (0, "art"), r.stderr)
        r = self.d.cli("code", "artifacts", "get", self.m.id, rid, "art_99")
        self.assertEqual(r.returncode, 6, r.stderr)  # code_artifact_not_found
        r = self.d.cli("--json", "code", "runs", "start", self.m.id, "--language", "bash", "-",
                       input="sleep 60")
        slow = json.loads(r.stdout)["id"]
        r = self.d.cli("--json", "code", "runs", "cancel", self.m.id, slow)
        self.assertEqual((r.returncode, json.loads(r.stdout)["cancelled"]), (0, True), r.stderr)
        r = self.d.cli("--json", "code", "runs", "get", self.m.id, slow, "--wait")
        self.assertEqual((r.returncode, json.loads(r.stdout)["state"]), (1, "cancelled"))
        for run in (rid, slow):
            r = self.d.cli("code", "runs", "delete", self.m.id, run)
            self.assertEqual((r.returncode, r.stdout), (0, "deleted %s\n" % run), r.stderr)
        r = self.d.cli("code", "runs", "get", self.m.id, rid)
        self.assertEqual(r.returncode, 6, r.stderr)  # code_run_not_found

    def test_the_official_mcp_client_gets_images(self):
        mcp = os.path.join(SOURCE, "tests", "mcp")
        r = run_bounded(["node", os.path.join(mcp, "code.mjs"), CLI, self.m.id], 120,
                        env=self.d.client_env(), cwd=mcp)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual(out["listed"], True)
        self.assertEqual(out["kinds"], ["text", "image"])
        self.assertEqual(out["mime"], "image/png")
        self.assertTrue(base64.b64decode(out["png_head"]).startswith(b"\x89PNG"))
        self.assertEqual((out["text"], out["is_error"]), ("7", False))
        self.assertEqual((out["error_name"], out["error_is_error"]), ("NameError", True))


if __name__ == "__main__":
    unittest.main()
