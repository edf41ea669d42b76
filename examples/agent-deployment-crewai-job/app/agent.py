"""A CrewAI crew of one run as a Nullspace job: a machine inspector answers TASK with
one tool, run_command, which runs a shell command in the job's own machine. The model
is OpenAI's (OPENAI_API_KEY, a secret) or any OpenAI-compatible endpoint
(OPENAI_BASE_URL); without a key, main.py adds the stub model (model_stub.py)."""

import os
import subprocess

if os.environ.get("MODEL_STUB"):
    import model_stub  # noqa: F401 — added by main.py when there is no key

    model_stub.start()

from crewai import LLM, Agent, Crew, Task  # noqa: E402
from crewai.tools import BaseTool  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402


class CommandInput(BaseModel):
    command: str = Field(description="the shell command to run")


class RunCommand(BaseTool):
    name: str = "run_command"
    description: str = "Run a shell command in this machine and return what it printed."
    args_schema: type[BaseModel] = CommandInput

    def _run(self, command: str) -> str:
        print("tool call: run_command", command, flush=True)
        r = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60)
        return (r.stdout + r.stderr).strip()


llm = LLM(model="openai/" + os.environ.get("MODEL", "gpt-4o-mini"),
          base_url=os.environ.get("OPENAI_BASE_URL"))
inspector = Agent(role="Machine inspector",
                  goal="Answer questions about this machine with facts read from it",
                  backstory="You look before you answer: every fact comes from run_command.",
                  tools=[RunCommand()], llm=llm, allow_delegation=False, max_iter=3)
task = Task(description=os.environ.get("TASK", "Which kernel does this machine run?"),
            expected_output="One sentence with the fact and the command it came from.",
            agent=inspector)
print("task:", task.description, flush=True)
result = Crew(agents=[inspector], tasks=[task]).kickoff()
print("answer:", result.raw, flush=True)
