"""The blocks of docs/recipes.md and how to run one against a test daemon (test_recipes
runs them all but the desktop's, which test_desktop runs on its daemon: the template is
built there already)."""

import os
import re
import subprocess
import tempfile

from harness import BUILD, SOURCE

RECIPES = os.path.join(SOURCE, "docs", "recipes.md")
TS_SDK = os.path.join(SOURCE, "sdks", "typescript")


def blocks(path=RECIPES):
    """(name, language, body) of each block of the page at path (docs/recipes.md by
    default) whose first line says `recipe: NAME`."""
    with open(path) as f:
        text = f.read()
    for lang, body in re.findall(r"```(python|js|sh)\n(.*?)```", text, re.S):
        first = body.splitlines()[0]
        if "recipe:" in first:
            yield first.split("recipe:", 1)[1].strip(), lang, body


def run_block(d, lang, body, **extra_env):
    """Runs one block against daemon d (cwd its state dir; extra_env added to its
    environment); the CompletedProcess."""
    env = d.client_env(PYTHONPATH=os.path.join(SOURCE, "sdks", "python"),
                       PATH=os.path.abspath(BUILD) + os.pathsep + os.environ["PATH"],
                       **extra_env)
    if lang == "python":
        cmd, suffix, where = ["python3"], ".py", None
    elif lang == "js":  # inside the SDK's directory "@nullspace/sdk" names itself
        cmd, suffix, where = ["node"], ".mjs", TS_SDK
    else:
        cmd, suffix, where = ["bash", "-euo", "pipefail"], ".sh", None
    fd, path = tempfile.mkstemp(suffix=suffix, prefix=".recipe-", dir=where)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(body)
        return subprocess.run(cmd + [path], env=env, capture_output=True, text=True,
                              timeout=300, cwd=d.state_dir)
    finally:
        os.unlink(path)


def check(test, name, lang, r):
    test.assertEqual(r.returncode, 0, "%s (%s):\n%s\n%s" % (name, lang, r.stdout[-2000:],
                                                            r.stderr[-2000:]))
