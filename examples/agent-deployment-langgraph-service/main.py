"""Deploys ./app (a LangGraph agent behind HTTP) as a service on the built-in template
node, asks it a question at its URL, reads its log and deletes it. With OPENAI_API_KEY
set it talks to OpenAI (the key goes in as a secret); without, the stub model of
../model-stubs is added to the project and answers inside the service."""

import json
import os
import shutil
import tempfile
import urllib.request

from nullspace import Deployment, Secret

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "example-langgraph-service"
KEY = os.environ.get("OPENAI_API_KEY")


def ask(d, question):
    base = os.environ.get("NULLSPACE_API_URL", "http://127.0.0.1:7700").rstrip("/")
    req = urllib.request.Request(base + "/deploy/%s/ask" % d.name,  # or d.url, by host
                                 data=json.dumps({"question": question}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


with tempfile.TemporaryDirectory() as tmp:
    project = shutil.copytree(os.path.join(HERE, "app"), os.path.join(tmp, "app"))
    env = {}
    if KEY:
        Secret.set("OPENAI_API_KEY", KEY)
    else:
        shutil.copy(os.path.join(HERE, "..", "model-stubs", "openai_stub.mjs"),
                    os.path.join(project, "model_stub.mjs"))
        env["MODEL_STUB"] = "1"
    try:
        d = Deployment.deploy(NAME, project, kind="service", port=8080, health_path="/healthz",
                              base="node", command="node server.mjs", env=env,
                              steps=[{"op": "run", "cmd": "npm install --omit=dev --no-audit"}],
                              secrets=["OPENAI_API_KEY"] if KEY else None, idle_s=300,
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
