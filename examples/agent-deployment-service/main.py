"""Deploys ./app as a service, asks it a question at its URL, redeploys a change (live
only once healthy), rolls back to the first revision (instant: its machine was kept),
and deletes it."""

import json
import os
import urllib.request

from nullspace import Deployment

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "example-agent-service"
APP = os.path.join(HERE, "app")


def ask(d, question):
    base = os.environ.get("NULLSPACE_API_URL", "http://127.0.0.1:7700").rstrip("/")
    req = urllib.request.Request(base + "/deploy/%s/ask" % d.name,  # or d.url, by host
                                 data=json.dumps({"question": question}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


try:
    d = Deployment.deploy(NAME, APP, kind="service", port=8080, health_path="/healthz",
                          command="python3 server.py")
    print("live at", d.url, "revision", d.revision)
    a = ask(d, "How many CPUs?")
    print("answer:", a)
    assert a["revision"] == 1 and a["answer"].isdigit(), a
    d = Deployment.deploy(NAME, APP, kind="service", port=8080, health_path="/healthz",
                          command="python3 server.py", env={"STYLE": "terse"})
    a = ask(d, "which revision?")
    print("after the redeploy:", a)
    assert (a["revision"], a["answer"], a["style"]) == (2, "2", "terse"), a
    d.rollback(1)
    a = ask(d, "which revision?")
    print("after the rollback:", a)
    assert (a["revision"], a["style"]) == (1, "plain"), a
    out, _ = d.logs()
    assert "POST /ask" in out, out
finally:
    try:
        Deployment.get(NAME).delete()
    except Exception as e:  # noqa: BLE001
        print("cleanup:", e)
print("ok")
