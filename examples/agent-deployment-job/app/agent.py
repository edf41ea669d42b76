"""A minimal agent run as a job: it gathers facts about its machine, asks a chat model
(any OpenAI-compatible endpoint) to summarise them when one is configured, and prints
the report. Without MODEL_URL it stops before the model call and says so."""

import json
import os
import platform
import urllib.request

facts = {
    "run": os.environ["NULLSPACE_RUN_ID"],
    "revision": os.environ["NULLSPACE_REVISION"],
    "python": platform.python_version(),
    "cpus": os.cpu_count(),
    "files": sorted(os.listdir(".")),
}
print("facts:", json.dumps(facts, sort_keys=True))
print("using key:", os.environ.get("AGENT_API_KEY", "(none)"))  # redacted in the stored log

url = os.environ.get("MODEL_URL")
if not url:
    print("no MODEL_URL: stopping before the model call")
else:
    body = json.dumps({"model": os.environ.get("MODEL", "gpt-4o-mini"), "messages": [
        {"role": "user", "content": "Summarise in one line: " + json.dumps(facts)}]}).encode()
    req = urllib.request.Request(url.rstrip("/") + "/chat/completions", data=body, headers={
        "Content-Type": "application/json",
        "Authorization": "Bearer " + os.environ.get("AGENT_API_KEY", "")})
    with urllib.request.urlopen(req, timeout=60) as r:
        print("summary:", json.load(r)["choices"][0]["message"]["content"])
