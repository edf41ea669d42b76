"""Deploys ./app (an OpenAI Agents SDK agent with one tool) as a job on the built-in
template node, runs it once, reads its log and deletes it. With OPENAI_API_KEY set it
talks to OpenAI (the key goes in as a secret); without, the stub model of
../model-stubs is added to the project and answers inside the job."""

import os
import shutil
import tempfile

from nullspace import Deployment, Secret

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "example-openai-agents-job"
KEY = os.environ.get("OPENAI_API_KEY")

with tempfile.TemporaryDirectory() as tmp:
    project = shutil.copytree(os.path.join(HERE, "app"), os.path.join(tmp, "app"))
    env = {"TASK": "Which kernel does this machine run?"}
    if KEY:
        Secret.set("OPENAI_API_KEY", KEY)
    else:
        shutil.copy(os.path.join(HERE, "..", "model-stubs", "openai_stub.mjs"),
                    os.path.join(project, "model_stub.mjs"))
        env["MODEL_STUB"] = "1"
    try:
        d = Deployment.deploy(NAME, project, base="node", command="node agent.mjs",
                              steps=[{"op": "run", "cmd": "npm install --omit=dev --no-audit"}],
                              env=env, secrets=["OPENAI_API_KEY"] if KEY else None,
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
