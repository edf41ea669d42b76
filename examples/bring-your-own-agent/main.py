"""A custom agent loop with Nullspace as its workspace: a chat model (any OpenAI-compatible
Chat Completions endpoint: OPENAI_BASE_URL, OPENAI_API_KEY, MODEL) decides which machine
tools to call; the loop runs them in a machine and feeds the results back until the
model answers. Usage: python3 main.py ["a task"]"""
import json
import os
import sys
import urllib.request

from nullspace import Machine
from nullspace.integrations import nullspace_tools

BASE = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
KEY = os.environ.get("OPENAI_API_KEY", "")
MODEL = os.environ.get("MODEL", "gpt-4.1-mini")
TASK = sys.argv[1] if len(sys.argv) > 1 else "How many CPUs and how much memory does the machine have?"


def chat(messages, tools):
    body = json.dumps({"model": MODEL, "messages": messages, "tools": [
        {"type": "function", "function": {"name": t.name, "description": t.description,
                                          "parameters": t.parameters}} for t in tools]})
    req = urllib.request.Request(BASE + "/chat/completions", data=body.encode(), headers={
        "Content-Type": "application/json", "Authorization": "Bearer " + KEY})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)["choices"][0]["message"]


def run(task, machine, max_turns=10):
    tools = nullspace_tools(machine, include=["run_command", "read_file", "write_file"])
    by_name = {t.name: t for t in tools}
    messages = [{"role": "system", "content": "You work in an isolated Linux machine through "
                 "your tools. Be brief."}, {"role": "user", "content": task}]
    for _ in range(max_turns):
        msg = chat(messages, tools)
        messages.append(msg)
        calls = msg.get("tool_calls") or []
        if not calls:
            return msg.get("content")
        for call in calls:
            fn = call["function"]
            try:
                out = by_name[fn["name"]].run(json.loads(fn["arguments"] or "{}"))
            except Exception as e:  # the model sees the error and can try again
                out = "error: %s" % e
            print("  tool %s(%s) -> %s" % (fn["name"], fn["arguments"], str(out)[:120]))
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": out})
    return "(no answer after %d turns)" % max_turns


if __name__ == "__main__":
    m = Machine.create(timeout_s=900)
    try:
        print("task:", TASK)
        print("answer:", run(TASK, m))
    finally:
        m.kill()
