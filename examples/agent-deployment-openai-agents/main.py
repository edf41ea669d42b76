"""Deploys ./app (an OpenAI Agents SDK agent with one tool) as a job on the built-in
template node, runs it once, reads its log and deletes it. With OPENAI_API_KEY set it
talks to OpenAI (the key goes in as a secret); without, the stub model of
../model-stubs is added to the project and answers inside the job."""

import os
import sys

from nullspace import Deployment

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "model-stubs"))
from project import agent_project  # noqa: E402 — the app, with a key or a stub model

NAME = "example-openai-agents-job"
KEY = os.environ.get("OPENAI_API_KEY")

with agent_project(HERE, "openai_stub.mjs", "OPENAI_API_KEY") as (project, extra_env, secrets):
    env = {"TASK": "Which kernel does this machine run?", **extra_env}
    try:
        d = Deployment.deploy(NAME, project, base="node", command="node agent.mjs",
                              steps=[{"op": "run", "cmd": "npm install --omit=dev --no-audit"}],
                              env=env, secrets=secrets,
                              on_log=lambda l: print("  build |", l["text"]))
        print("deployed", d.name, "revision", d.revision)
        run = d.run().wait(on_output=lambda t: print("  run |", t, end=""))
        print("run:", run.state, run.exit_code)
        assert run.state == "succeeded", run.info
        log = run.logs()
        assert "tool call: run_command" in log and "answer:" in log, log
        if not KEY:
            assert "answer: The command printed: Linux" in log, log
    finally:
        try:
            Deployment.get(NAME).delete()
        except Exception as e:  # noqa: BLE001 — nothing to delete when the deploy failed
            print("cleanup:", e)
print("ok")
