"""Deploys ./app (a Node HTTP service, no npm dependencies) with the CLI as a service,
asks it a question at its URL, and deletes it. Needs the nullspace CLI on PATH."""

import json
import os
import subprocess
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "example-ts-agent-service"

try:
    r = subprocess.run(["nullspace", "--json", "deploy", os.path.join(HERE, "app")],
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise SystemExit("deploy failed:\n" + r.stderr[-3000:])
    dep = json.loads(r.stdout)
    print("live at", dep["url"], "revision", dep["revision"])
    req = urllib.request.Request(dep["path_url"] + "ask", data=b'{"question": "which node?"}',
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        answer = json.load(resp)
    print("answer:", answer)
    assert answer["answer"].startswith("v22.") and answer["revision"] == 1, answer
    logs = subprocess.run(["nullspace", "deployments", "logs", NAME], capture_output=True,
                          text=True, timeout=60).stdout
    assert "asked: which node?" in logs, logs
finally:
    subprocess.run(["nullspace", "deployments", "delete", NAME], capture_output=True, timeout=120)
print("ok")
