"""Deploys ./app as a job with a secret and a schedule, runs it once by hand, waits for
a scheduled run, reads both logs (the secret redacted), and deletes it all."""

import os
import sys
import time

from nullspace import Deployment, Secret

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "example-agent-job"

Secret.set("AGENT_API_KEY", "sk-example-" + os.urandom(6).hex())
try:
    d = Deployment.deploy(NAME, os.path.join(HERE, "app"), command="python3 agent.py",
                          secrets=["AGENT_API_KEY"], env={"MODEL": "gpt-4o-mini"},
                          schedule="@every 10s", concurrency="forbid",
                          on_log=lambda l: print("  build |", l["text"]))
    print("deployed", d.name, "revision", d.revision)
    run = d.run().wait(on_output=lambda t: print("  run |", t, end=""))
    print("manual run:", run.state, run.exit_code)
    assert run.state == "succeeded", run.info
    log = run.logs()
    assert "using key: [redacted:AGENT_API_KEY]" in log and "sk-example" not in log, log
    end = time.time() + 60
    while time.time() < end:
        scheduled = [r for r in d.runs() if r.trigger == "schedule" and not r.active]
        if scheduled:
            break
        time.sleep(1)
    else:
        sys.exit("no scheduled run within 60 s")
    print("scheduled run:", scheduled[0].id, scheduled[0].state)
    assert scheduled[0].state == "succeeded"
finally:
    try:
        Deployment.get(NAME).delete()
    except Exception as e:  # noqa: BLE001 — nothing to delete when the deploy failed
        print("cleanup:", e)
    Secret.get("AGENT_API_KEY").delete()
print("ok")
