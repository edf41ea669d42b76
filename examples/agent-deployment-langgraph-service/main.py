"""Deploys ./app (a LangGraph agent behind HTTP) as a service on the built-in template
node, asks it a question at its URL, reads its log and deletes it. With OPENAI_API_KEY
set it talks to OpenAI (the key goes in as a secret); without, the stub model of
../model-stubs is added to the project and answers inside the service."""

import json
import os
import sys
import urllib.request

from nullspace import Deployment

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "model-stubs"))
from project import agent_project  # noqa: E402 — the app, with a key or a stub model

NAME = "example-langgraph-service"
KEY = os.environ.get("OPENAI_API_KEY")


def ask(d, question):
    base = os.environ.get("NULLSPACE_API_URL", "http://127.0.0.1:7700").rstrip("/")
    req = urllib.request.Request(base + "/deploy/%s/ask" % d.name,  # or d.url, by host
                                 data=json.dumps({"question": question}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


with agent_project(HERE, "openai_stub.mjs", "OPENAI_API_KEY") as (project, env, secrets):
    try:
        d = Deployment.deploy(NAME, project, kind="service", port=8080, health_path="/healthz",
                              base="node", command="node server.mjs", env=env,
                              steps=[{"op": "run", "cmd": "npm install --omit=dev --no-audit"}],
                              secrets=secrets, idle_s=300,
                              on_log=lambda l: print("  build |", l["text"]))
        print("live at", d.url, "revision", d.revision)
        a = ask(d, "Which kernel does this machine run?")
        print("answer:", a)
        assert a["commands"] and a["answer"], a
        if not KEY:
            assert a["answer"].startswith("The command printed: Linux"), a
        out, _ = d.logs()
        assert "asked: Which kernel" in out, out
    finally:
        try:
            Deployment.get(NAME).delete()
        except Exception as e:  # noqa: BLE001 — nothing to delete when the deploy failed
            print("cleanup:", e)
print("ok")
