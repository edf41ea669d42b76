"""JavaScript and TypeScript contexts: js_worker.js in Node.js (Debian's nodejs, with
node-acorn to parse and node-typescript to transpile). A run and its environment go
to the worker as one JSON line on its request pipe: the values never become code."""

import os

from worker_kernel import WorkerKernel

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js_worker.js")


class JsKernel(WorkerKernel):
    noun = "Node.js process"

    def argv(self):
        # a heap limit above the machine's memory: a run that allocates without end is
        # stopped by the memory guard (OutOfMemory, the context restarts), not by V8
        # aborting the worker halfway
        return ["node", "--max-old-space-size=4096", WORKER, self.language]

    def send(self, code, env):
        self.write_request({"code": code, "env": env})
