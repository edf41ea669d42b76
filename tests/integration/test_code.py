"""The code interpreter (docs/code-interpreter.md): machines from the built-in template
code-interpreter, built on first need (its apt layer comes from the shared cache, or is
made on the host when the cache is cold), and /v1/machines/{id}/code/... against the
real kernels inside: state across runs, results of every kind, errors, environment
variables, interrupts, contexts, streaming, hibernate and fork."""

import base64
import json
import socket
import threading
import time
import unittest

from harness import DaemonTest, e2b_sdk_test, error_code
from wsclient import Session, WsError


class Code(DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        st, _, m = cls.d.request("POST", "/v1/machines",
                                 {"template": "code-interpreter", "timeout_s": 3600})
        assert st == 201, m
        cls.mid = m["id"]
        # the machine's first run (the template's ready command ran a warm-up cell in
        # this context before the snapshot: it must leave no trace)
        st, _, cls.first = cls.d.request("POST", "/v1/machines/%s/code/run" % cls.mid,
                                         {"code": "repr(_), repr(__), 'Out' in dir() and len(Out)"})
        assert st == 200, cls.first

    def run_code(self, code, mid=None, expect=200, **kw):
        st, _, r = self.d.request("POST", "/v1/machines/%s/code/run" % (mid or self.mid),
                                  dict(kw, code=code))
        self.assertEqual(st, expect, r)
        return r

    def context(self, **body):
        """A new context, deleted when the test ends (each holds a kernel's memory)."""
        st, _, ctx = self.d.request("POST", "/v1/machines/%s/code/contexts" % self.mid, body)
        self.assertEqual(st, 201, ctx)
        self.addCleanup(self.d.request, "DELETE",
                        "/v1/machines/%s/code/contexts/%s" % (self.mid, ctx["id"]))
        return ctx

    def main_text(self, r):
        self.assertIsNone(r["error"], r)
        mains = [x for x in r["results"] if x["is_main_result"]]
        self.assertEqual(len(mains), 1, r)
        return mains[0]["text"]

    def test_the_warm_up_cell_leaves_no_trace(self):
        self.assertEqual(self.first["execution_count"], 1, self.first)
        self.assertEqual(self.main_text(self.first), '("\'\'", "\'\'", 0)')

    def test_python_state_carries_from_run_to_run(self):
        self.run_code("import os\nos.chdir('/tmp')\nx = 41\ndef inc(v):\n    return v + 1")
        self.assertEqual(self.main_text(self.run_code("inc(x)")), "42")
        self.assertEqual(self.main_text(self.run_code("os.getcwd()")), "'/tmp'")
        r = self.run_code("print('out'); import sys; print('err', file=sys.stderr)")
        self.assertEqual(("".join(r["logs"]["stdout"]), "".join(r["logs"]["stderr"])),
                         ("out\n", "err\n"))
        self.assertIsInstance(r["execution_count"], int)

    def test_matplotlib_charts_come_as_png_and_data(self):
        r = self.run_code("import matplotlib.pyplot as plt\n"
                          "plt.plot([1, 2, 3], [4, 5, 7], label='speed')\n"
                          "plt.title('T'); plt.xlabel('t'); plt.ylabel('v'); plt.legend()\n"
                          "plt.show()")
        (fig,) = r["results"]
        self.assertTrue(base64.b64decode(fig["png"]).startswith(b"\x89PNG"))
        chart = fig["chart"]
        self.assertEqual((chart["type"], chart["title"], chart["x_label"], chart["y_label"]),
                         ("line", "T", "t", "v"))
        self.assertEqual(chart["elements"], [{"label": "speed", "points": [[1, 4], [2, 5], [3, 7]]}])
        r = self.run_code("import matplotlib.pyplot as plt\n"
                          "plt.bar(['a', 'b', 'c'], [3, 1, 2]); plt.show()")
        chart = r["results"][0]["chart"]
        self.assertEqual(chart["type"], "bar")
        self.assertEqual([(e["label"], e["value"]) for e in chart["elements"]],
                         [("a", 3), ("b", 1), ("c", 2)])
        r = self.run_code("import matplotlib.pyplot as plt\n"
                          "fig, ax = plt.subplots(1, 2)\n"
                          "ax[0].pie([1, 2], labels=['p', 'q'])\n"
                          "ax[1].boxplot([[1, 2, 3, 4, 5, 20]]); plt.show()")
        chart = r["results"][0]["chart"]
        self.assertEqual([c["type"] for c in chart["elements"]], ["pie", "box_and_whisker"])
        box = chart["elements"][1]["elements"][0]
        self.assertEqual((box["median"], box["outliers"]), (3.5, [20]))

    def test_dataframes_plotly_and_images(self):
        r = self.run_code("import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})")
        (df,) = r["results"]
        self.assertTrue(df["is_main_result"])
        self.assertEqual((df["data"]["columns"], df["data"]["rows"]),
                         (["a", "b"], [[1, "x"], [2, "y"]]))
        self.assertIn("<table", df["html"])
        r = self.run_code("import plotly.express as px\npx.line(x=[1, 2], y=[3, 4])")
        self.assertEqual(len(r["results"]), 1, "one result, not one per piece")
        fig = r["results"][0]
        self.assertTrue(fig["html"].lstrip().startswith("<html>"))
        self.assertEqual(fig["html"].count("cdn.plot.ly"), 1, "plotly.js referenced once")
        self.assertLess(len(fig["html"]), 200000, "plotly.js is referenced, never inlined")
        self.assertEqual(fig["extra"]["application/vnd.plotly.v1+json"]["data"][0]["y"], [3, 4])
        r = self.run_code("from PIL import Image\nImage.new('RGB', (4, 4), 'red')")
        self.assertTrue(base64.b64decode(r["results"][0]["png"]).startswith(b"\x89PNG"))
        r = self.run_code("from IPython.display import display, Markdown, HTML\n"
                          "display(Markdown('**b**')); display(HTML('<i>i</i>'))")
        self.assertEqual([x.get("markdown") or x.get("html") for x in r["results"]],
                         ["**b**", "<i>i</i>"])

    def test_errors_come_with_name_value_and_traceback(self):
        r = self.run_code("def f():\n    return 1 / 0\nf()")
        err = r["error"]
        self.assertEqual((err["name"], err["value"]), ("ZeroDivisionError", "division by zero"))
        self.assertIn("----> 3 f()", err["traceback"])
        self.assertNotIn("\x1b[", err["traceback"], "plain text, no colour codes")

    def test_environment_variables_never_become_code(self):
        tricky = "it's \"quoted\"\nnew line $HOME `id` \\ end"
        r = self.run_code("import os\nos.environ['TRICKY']", env={"TRICKY": tricky})
        self.assertEqual(self.main_text(r), repr(tricky))
        r = self.run_code("import os\nos.environ.get('TRICKY', 'gone')")
        self.assertEqual(self.main_text(r), "'gone'", "a run's variables end with it")
        r = self.run_code('printf "%s" "$TRICKY"', language="bash", env={"TRICKY": tricky})
        self.assertEqual("".join(r["logs"]["stdout"]), tricky)
        r = self.run_code('echo "[${TRICKY-unset}]"', language="bash")
        self.assertEqual("".join(r["logs"]["stdout"]), "[unset]\n")

    def test_bash_keeps_cwd_variables_and_functions(self):
        self.run_code("cd /etc; N=7; hi() { echo \"hi $1\"; }", language="bash")
        r = self.run_code("pwd; hi there; echo $N", language="bash")
        self.assertEqual("".join(r["logs"]["stdout"]), "/etc\nhi there\n7\n")
        r = self.run_code("false", language="bash")
        self.assertEqual((r["error"]["name"], r["error"]["value"]), ("ExitCode", "1"))

    def test_r_runs_in_its_own_kernel(self):
        ctx = self.context(language="r")
        self.run_code("y <- 21", context=ctx["id"])
        r = self.run_code("y * 2", context=ctx["id"])
        self.assertEqual(self.main_text(r), "[1] 42")  # IRkernel's display, made the main one
        r = self.run_code("print('shown'); invisible(3)", context=ctx["id"])
        self.assertEqual([x["is_main_result"] for x in r["results"]], [])

    def test_javascript_and_typescript_keep_globals_and_await(self):
        tricky = "it's \"q\"\n$HOME"
        js = self.context(language="javascript", cwd="/tmp")
        run = lambda code, **kw: self.run_code(code, context=js["id"], **kw)  # noqa: E731
        run("const base = 40; function inc(v) { return v + 1 }\nclass P { two() { return 2 } }")
        self.assertEqual(self.main_text(run("let base = 39; inc(base) + new P().two()")), "42",
                         "declarations carry over and may be declared again")
        r = run("const fs = require('fs'); import path from 'path';\n"
                "console.log(path.basename(process.cwd()));\n"
                "await new Promise((ok) => setTimeout(ok, 10)); process.env.TRICKY",
                env={"TRICKY": tricky})
        self.assertEqual("".join(r["logs"]["stdout"]), "tmp\n")
        self.assertEqual(self.main_text(r), "`%s`" % tricky.replace("\n", "\\n"))
        r = run("display({'text/html': '<b>b</b>'}); [1, 2].map((x) => x * 2)")
        self.assertEqual([(x.get("html"), x.get("text"), x["is_main_result"]) for x in r["results"]],
                         [("<b>b</b>", None, False), (None, "[ 2, 4 ]", True)])
        r = run("function boom() { throw new TypeError('bad ' + typeof fs) }\nboom()")
        self.assertEqual((r["error"]["name"], r["error"]["value"]), ("TypeError", "bad object"))
        self.assertIn("at boom (cell-", r["error"]["traceback"])
        r = run("while (true) {}", timeout_s=1)
        self.assertEqual(r["error"]["name"], "TimeoutError")
        self.assertEqual(self.main_text(run("inc(base)")), "40", "an endless loop is stopped, "
                         "the context lives on")
        ts = self.context(language="typescript")
        self.run_code("interface Pt { x: number }\nconst p: Pt = { x: 6 };\n"
                      "enum E { Seven = 7 }", context=ts["id"])
        r = self.run_code("const n: number = await Promise.resolve(p.x * E.Seven); n",
                          context=ts["id"])
        self.assertEqual(self.main_text(r), "42")
        r = self.run_code("let bad: = 1", context=ts["id"])
        self.assertEqual(r["error"]["name"], "SyntaxError")

    def test_java_keeps_declarations_in_jshell(self):
        ctx = self.context(language="java")
        run = lambda code, **kw: self.run_code(code, context=ctx["id"], **kw)  # noqa: E731
        r = run("int x = 40;\nint inc(int v) { return v + 1; }\nSystem.out.println(\"hi\");")
        self.assertEqual((r["error"], "".join(r["logs"]["stdout"])), (None, "hi\n"))
        self.assertEqual(self.main_text(run("inc(x) + 1")), "42")
        r = run("List.of(3, 4).stream().map(v -> v * 2).collect(Collectors.toList())")
        self.assertEqual(self.main_text(r), "[6, 8]")
        r = run("System.getenv(\"TRICKY\")", env={"TRICKY": "a'b\"$c"})
        self.assertEqual(self.main_text(r), '"a\'b\\"$c"')
        r = run("int y = 1 / (x - 40);")
        self.assertEqual((r["error"]["name"], r["error"]["value"]),
                         ("java.lang.ArithmeticException", "/ by zero"))
        r = run("int z = ;")
        self.assertEqual(r["error"]["name"], "CompilationError")
        r = run("while (true) {}", timeout_s=1)
        self.assertEqual(r["error"]["name"], "TimeoutError")
        self.assertEqual(self.main_text(run("x")), "40")

    def test_async_runs_artifacts_and_cancel(self):
        base = "/v1/machines/%s/code/runs" % self.mid
        ctx = self.context()
        code = ("import os, numpy as np\nfrom PIL import Image\n"
                "d = os.environ['NULLSPACE_ARTIFACTS_DIR']\n"
                "os.makedirs(d + '/out')\nopen(d + '/out/data.csv', 'w').write('a,b\\n1,2\\n')\n"
                "rng = np.random.default_rng(1)\n"
                "Image.fromarray(rng.integers(0, 255, (700, 700, 3), dtype=np.uint8))")
        st, _, run = self.d.request("POST", base, {"code": code, "context": ctx["id"]})
        self.assertEqual((st, run["state"] in ("queued", "running")), (202, True), run)
        st, _, listed = self.d.request("GET", base)
        self.assertIn(run["id"], [r["id"] for r in listed])
        st, _, run = self.d.request("GET", "%s/%s?wait_s=60" % (base, run["id"]))
        self.assertEqual((st, run["state"]), (200, "succeeded"), run)
        (img,) = run["execution"]["results"]
        self.assertNotIn("png", img, "a result over 1 MiB is an artifact, not inline")
        by_id = {a["id"]: a for a in run["artifacts"]}
        self.assertEqual((by_id[img["artifacts"]["png"]]["source"],
                          by_id[img["artifacts"]["png"]]["mime_type"]), ("result", "image/png"))
        files = [a for a in run["artifacts"] if a["source"] == "file"]
        self.assertEqual([(a["name"], a["size"]) for a in files], [("out/data.csv", 8)])
        st, hdrs, body = self.d.request("GET", "%s/%s/artifacts/%s" % (base, run["id"], files[0]["id"]))
        self.assertEqual((st, body), (200, b"a,b\n1,2\n"))
        st, _, png = self.d.request("GET", "%s/%s/artifacts/%s" % (base, run["id"], img["artifacts"]["png"]))
        self.assertTrue(png.startswith(b"\x89PNG") and len(png) > (1 << 20))
        # cancel: a queued run never starts, a running one is interrupted
        st, _, a = self.d.request("POST", base, {"code": "import time\nwhile True: time.sleep(0.05)",
                                                 "context": ctx["id"]})
        st, _, b = self.d.request("POST", base, {"code": "ran = True", "context": ctx["id"]})
        st, _, gone = self.d.request("DELETE", "%s/%s" % (base, a["id"]))
        self.assertEqual((st, error_code(gone)), (409, "conflict"))
        for r in (b, a):
            st, _, c = self.d.request("POST", "%s/%s/cancel" % (base, r["id"]))
            self.assertEqual((st, c["cancelled"]), (200, True), c)
        for r, err in ((a, "KeyboardInterrupt"), (b, None)):
            st, _, r = self.d.request("GET", "%s/%s?wait_s=30" % (base, r["id"]))
            self.assertEqual(r["state"], "cancelled", r)
            self.assertEqual((r["execution"]["error"] or {}).get("name"), err, r)
        self.assertEqual(self.main_text(self.run_code("'ran' in dir()", context=ctx["id"])),
                         "False")
        # an ended run goes with its artifacts
        st, _, _ = self.d.request("DELETE", "%s/%s" % (base, run["id"]))
        self.assertEqual(st, 200)
        for path, code in (("%s/%s" % (base, run["id"]), "code_run_not_found"),
                           ("%s/%s/artifacts/art_9" % (base, a["id"]), "code_artifact_not_found")):
            st, _, r = self.d.request("GET", path)
            self.assertEqual((st, error_code(r)), (404, code), path)

    def test_timeouts_and_interrupts_end_runs_and_keep_state(self):
        self.run_code("kept = 'yes'")
        t = time.monotonic()
        r = self.run_code("import time\nwhile True: time.sleep(0.05)", timeout_s=1)
        self.assertEqual(r["error"]["name"], "TimeoutError")
        self.assertLess(time.monotonic() - t, 30)
        self.assertEqual(self.main_text(self.run_code("kept")), "'yes'")
        r = self.run_code("while true; do sleep 0.05; done", language="bash", timeout_s=1)
        self.assertEqual(r["error"]["name"], "TimeoutError")
        self.assertEqual("".join(self.run_code("echo alive", language="bash")["logs"]["stdout"]),
                         "alive\n")
        # an explicit interrupt, from another connection, of a run that would never end
        ctx = self.context()
        out = {}
        t = threading.Thread(target=lambda: out.update(
            r=self.run_code("import time\nwhile True: time.sleep(0.05)", context=ctx["id"])))
        t.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st, _, r = self.d.request(
                "POST", "/v1/machines/%s/code/contexts/%s/interrupt" % (self.mid, ctx["id"]))
            if r.get("interrupted"):
                break
            time.sleep(0.2)
        t.join(30)
        if "r" not in out:
            st, _, o = self.d.request("POST", "/v1/machines/%s/exec" % self.mid,
                                      {"argv": ["tail", "-c", "3000", "/var/log/nscode.log"]})
            self.fail("the run did not answer; the interpreter's log:\n" + o.get("stdout", ""))
        self.assertEqual(out["r"]["error"]["name"], "KeyboardInterrupt")

    def test_a_client_that_leaves_interrupts_its_run(self):
        ctx = self.context()
        self.run_code("kept = 1", context=ctx["id"])
        body = json.dumps({"code": "import time\nwhile True: time.sleep(0.05)",
                           "context": ctx["id"]}).encode()
        with socket.create_connection((self.d.host, self.d.port), timeout=30) as s:
            s.sendall(b"POST /v1/machines/%s/code/run HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n%s"
                      % (self.mid.encode(), self.d.key.encode(), len(body), body))
            time.sleep(2)  # the run is under way; the client goes without its answer
        # the endless run was interrupted: the context answers the next run (in 30 s, or
        # the client gives up)
        c = self.d.conn(timeout=30)
        self.addCleanup(c.close)
        st, _, r = self.d.request("POST", "/v1/machines/%s/code/run" % self.mid,
                                  {"code": "kept + 1", "context": ctx["id"]}, conn=c)
        self.assertEqual((st, self.main_text(r)), (200, "2"))

    def test_a_memory_hog_is_contained(self):
        ctx = self.context()
        r = self.run_code("hog = []\nwhile True: hog.append(b'\\x01' * (32 << 20))",
                          context=ctx["id"], timeout_s=120)
        self.assertIn(r["error"]["name"], ("MemoryError", "OutOfMemory"), r)
        # the machine, its agent and the other contexts keep answering
        self.assertEqual(self.main_text(self.run_code("6 * 7")), "42")
        st, _, out = self.d.request("POST", "/v1/machines/%s/exec" % self.mid,
                                    {"argv": ["echo", "agent"]})
        self.assertEqual((st, out["stdout"]), (200, "agent\n"), out)
        self.run_code("del hog", context=ctx["id"])

    def test_contexts_are_capped(self):
        st, _, have = self.d.request("GET", "/v1/machines/%s/code/contexts" % self.mid)
        made = 0
        while True:  # bash contexts: a shell each, cheap to make
            st, _, ctx = self.d.request("POST", "/v1/machines/%s/code/contexts" % self.mid,
                                        {"language": "bash"})
            if st != 201:
                break
            made += 1
            self.addCleanup(self.d.request, "DELETE",
                            "/v1/machines/%s/code/contexts/%s" % (self.mid, ctx["id"]))
            self.assertLess(made, 100, "no cap")
        self.assertEqual((st, error_code(ctx)), (409, "conflict"), ctx)
        self.assertEqual(len(have) + made, 64)

    def test_contexts_are_isolated_and_listed(self):
        ids = []
        for cwd in ("/tmp", "/var"):
            ctx = self.context(language="python", cwd=cwd)
            self.assertEqual((ctx["language"], ctx["cwd"]), ("python", cwd), ctx)
            ids.append(ctx["id"])
        self.run_code("v = 'first'", context=ids[0])
        r = self.run_code("v", context=ids[1])
        self.assertEqual(r["error"]["name"], "NameError")
        self.assertEqual(self.main_text(self.run_code("import os; os.getcwd()", context=ids[1])),
                         "'/var'")
        st, _, listed = self.d.request("GET", "/v1/machines/%s/code/contexts" % self.mid)
        self.assertTrue(set(ids) <= {c["id"] for c in listed})
        st, _, r = self.d.request("POST", "/v1/machines/%s/code/contexts/%s/restart"
                                  % (self.mid, ids[0]))
        self.assertEqual(st, 200, r)
        self.assertEqual(self.run_code("v", context=ids[0])["error"]["name"], "NameError")
        st, _, r = self.d.request("DELETE", "/v1/machines/%s/code/contexts/%s" % (self.mid, ids[0]))
        self.assertEqual(st, 200, r)
        r = self.run_code("1", context=ids[0], expect=404)
        self.assertEqual(error_code(r), "code_context_not_found")

    def test_runs_on_one_context_queue_in_order(self):
        ctx = self.context()
        self.run_code("seen = []", context=ctx["id"])
        threads = [threading.Thread(target=self.run_code, args=(
            "import time; time.sleep(0.3); seen.append(%d)" % i,), kwargs={"context": ctx["id"]})
            for i in range(3)]
        for i, t in enumerate(threads):
            t.start()
            time.sleep(0.1)  # they arrive in order
        for t in threads:
            t.join(60)
        self.assertEqual(self.main_text(self.run_code("seen", context=ctx["id"])), "[0, 1, 2]")

    def test_a_streamed_run_arrives_as_it_happens(self):
        c = self.d.conn()
        c.request("POST", "/v1/machines/%s/code/run" % self.mid,
                  body=json.dumps({"code": "import time\nprint('a', flush=True)\n"
                                           "time.sleep(1)\nprint('b')\n7", "stream": True}),
                  headers={"Authorization": "Bearer " + self.d.key,
                           "Content-Type": "application/json"})
        resp = c.getresponse()
        self.assertEqual(resp.getheader("Content-Type"), "application/x-ndjson")
        lines, first_at, t0 = [], None, time.monotonic()
        for raw in resp:
            if raw.strip():
                lines.append(json.loads(raw))
                if first_at is None:
                    first_at = time.monotonic() - t0
        c.close()
        kinds = [x["type"] for x in lines]
        self.assertEqual(kinds[0], "stdout")
        self.assertEqual(kinds[-1], "end_of_execution")
        self.assertIn("result", kinds)
        self.assertLess(first_at, time.monotonic() - t0 - 0.5, "the first line came before the end")

    def test_code_run_over_the_websocket(self):
        ws = Session(self.d)
        self.addCleanup(ws.close)

        def events(channel):
            out = []
            while True:
                msg = ws.next()
                if msg.get("channel") != channel:
                    continue
                self.assertIn(msg["type"], ("code", "exit"), msg)
                if msg["type"] == "exit":
                    return out
                out.append(msg["event"])

        ctx = self.context()
        r = ws.call("code.run", machine=self.mid, context=ctx["id"],
                    code="import time\nprint('a', flush=True)\ntime.sleep(1)\nprint('b')\n6*7")
        evs = events(r["channel"])
        kinds = [e["type"] for e in evs]
        self.assertEqual(kinds[0], "stdout")
        self.assertEqual(kinds[-1], "end_of_execution")
        self.assertEqual([e["text"] for e in evs if e["type"] == "result"], ["42"])
        # state is the context's, whichever way a run came
        self.assertEqual(self.main_text(self.run_code("time.time() > 0", context=ctx["id"])),
                         "True")
        # output faster than the client reads: paced, nothing lost
        r = ws.call("code.run", machine=self.mid, context=ctx["id"],
                    code="for i in range(40): print(str(i) * 100000, flush=True)")
        out = "".join(e["text"] for e in events(r["channel"]) if e["type"] == "stdout")
        self.assertEqual(out, "".join(str(i) * 100000 + "\n" for i in range(40)))
        # the interpreter's refusals answer the request with their codes
        for fields, code in (({"code": "1", "language": "cobol"}, "language_not_supported"),
                             ({"code": "1", "context": "nosuch"}, "code_context_not_found"),
                             ({"code": 1}, "invalid_field"),
                             ({}, "missing_field")):
            with self.assertRaises(WsError) as cm:
                ws.call("code.run", machine=self.mid, **fields)
            self.assertEqual(cm.exception.code, code, fields)
        with self.assertRaises(WsError) as cm:
            ws.call("code.run", machine="m_0000000000000000", code="1")
        self.assertEqual(cm.exception.code, "machine_not_found")
        st, _, m = self.d.request("POST", "/v1/machines", {})
        self.addCleanup(self.d.request, "DELETE", "/v1/machines/" + m["id"])
        with self.assertRaises(WsError) as cm:
            ws.call("code.run", machine=m["id"], code="1")
        self.assertEqual(cm.exception.code, "code_interpreter_not_available")
        # closing the channel interrupts its run; the context keeps its state
        self.run_code("kept = 1", context=ctx["id"])
        r = ws.call("code.run", machine=self.mid, context=ctx["id"],
                    code="import time\nwhile True: time.sleep(0.05)")
        # silent past the interpreter's keep-alive interval (5 s): no keep-alives come
        # through, the session has its own pings
        deadline = time.monotonic() + 5.5
        while time.monotonic() < deadline:
            msg = ws.poll(max(0.01, deadline - time.monotonic()))
            self.assertFalse(msg and msg.get("channel") == r["channel"], msg)
        ws.call("close", channel=r["channel"])
        c = self.d.conn(timeout=30)
        self.addCleanup(c.close)
        st, _, r = self.d.request("POST", "/v1/machines/%s/code/run" % self.mid,
                                  {"code": "kept + 1", "context": ctx["id"]}, conn=c)
        self.assertEqual((st, self.main_text(r)), (200, "2"))

    def test_the_e2b_code_interpreter_sdk(self):
        """@e2b/code-interpreter from npm (tests/e2b), unchanged, through E2B_SANDBOX_URL
        (the interpreter's port named by a header) on this daemon's built template."""
        e2b_sdk_test(self.d, "codeinterp.test.mjs", 3)

    def test_bad_requests_get_stable_errors(self):
        for body, code in (({"code": 1}, "invalid_field"), ({}, "missing_field"),
                           ({"code": "1", "language": "cobol"}, "language_not_supported"),
                           ({"code": "1", "bogus": 1}, "unknown_field"),
                           ({"code": "1", "env": {"A=B": "x"}}, "invalid_field"),
                           ({"code": "1", "timeout_s": -1}, "invalid_field")):
            st, _, r = self.d.request("POST", "/v1/machines/%s/code/run" % self.mid, body)
            self.assertEqual((st, error_code(r)), (400, code), body)
        st, _, r = self.d.request("POST", "/v1/machines/%s/code/run" % self.mid, "{nope",
                                  headers={"Content-Type": "application/json"})
        self.assertEqual(error_code(r), "invalid_json")
        st, _, r = self.d.request("POST", "/v1/machines/m_0000000000000000/code/run", {"code": "1"})
        self.assertEqual((st, error_code(r)), (404, "machine_not_found"))
        st, _, r = self.d.request("POST", "/v1/machines/%s/code/run" % self.mid, {"code": "1"},
                                  key="nsk_wrong")
        self.assertEqual(st, 401)
        st, _, m = self.d.request("POST", "/v1/machines", {})
        try:
            st, _, r = self.d.request("POST", "/v1/machines/%s/code/run" % m["id"], {"code": "1"})
            self.assertEqual((st, error_code(r)), (409, "code_interpreter_not_available"))
        finally:
            self.d.request("DELETE", "/v1/machines/" + m["id"])
        # the interpreter's port is never a preview
        st, _, r = self.d.request("POST", "/v1/machines/%s/previews" % self.mid, {"port": 49999})
        url = r.get("url", "")
        if st == 201:
            path = url[url.index("/preview/"):] if "/preview/" in url else None
            if path:
                st, _, r = self.d.request("GET", path, key=False)
                self.assertEqual(st, 403, r)

    def test_hibernate_resume_and_fork_keep_kernel_state(self):
        st, _, m = self.d.request("POST", "/v1/machines", {"template": "code-interpreter"})
        self.assertEqual(st, 201, m)
        mid = m["id"]
        try:
            self.run_code("x = 42", mid=mid)
            self.run_code("B=bash-state", mid=mid, language="bash")
            self.run_code("const js = 'js-state'", mid=mid, language="javascript")
            self.run_code("String j = \"java-state\";", mid=mid, language="java")
            # an ended asynchronous run and its artifact, kept by hibernate, copied by fork
            st, _, run = self.d.request(
                "POST", "/v1/machines/%s/code/runs" % mid,
                {"code": "printf kept > $NULLSPACE_ARTIFACTS_DIR/k", "language": "bash"})
            st, _, run = self.d.request("GET", "/v1/machines/%s/code/runs/%s?wait_s=30"
                                        % (mid, run["id"]))
            self.assertEqual(run["state"], "succeeded", run)
            st, _, r = self.d.request("POST", "/v1/machines/%s/hibernate" % mid)
            self.assertEqual(st, 200, r)
            # the next request resumes it
            self.assertEqual(self.main_text(self.run_code("x", mid=mid)), "42")
            st, _, r = self.d.request("POST", "/v1/machines/%s/fork" % mid, {"count": 1})
            self.assertEqual(st, 201, r)
            kid = r["machines"][0]["id"]
            try:
                self.run_code("x += 1", mid=kid)
                self.assertEqual(self.main_text(self.run_code("x", mid=kid)), "43")
                self.assertEqual(self.main_text(self.run_code("x", mid=mid)), "42")
                r = self.run_code("echo $B", mid=kid, language="bash")
                self.assertEqual("".join(r["logs"]["stdout"]), "bash-state\n")
                for lang, code, want in (("javascript", "js", "'js-state'"),
                                         ("java", "j", '"java-state"')):
                    self.assertEqual(self.main_text(self.run_code(code, mid=kid, language=lang)),
                                     want)
                st, _, art = self.d.request("GET", "/v1/machines/%s/code/runs/%s/artifacts/art_1"
                                            % (kid, run["id"]))
                self.assertEqual((st, art), (200, b"kept"))
            finally:
                self.d.request("DELETE", "/v1/machines/" + kid)
        finally:
            self.d.request("DELETE", "/v1/machines/" + mid)


if __name__ == "__main__":
    unittest.main()
