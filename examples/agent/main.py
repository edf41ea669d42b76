"""Clone a repository into a machine and run its checks, the way a coding agent would:
the repository comes in as a git bundle (set REPO to a directory of your own; by
default a small project made here), its tests run in the machine, and the agent's
change comes back as a diff."""
import os
import subprocess
import tempfile

from nullspace import Machine


def demo_repo(where):
    files = {"calc.py": "def add(a, b):\n    return a - b\n",
             "test_calc.py": "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
                             "\nif __name__ == '__main__':\n    test_add(); print('ok')\n"}
    subprocess.run(["git", "init", "-q", where], check=True)
    for name, text in files.items():
        with open(os.path.join(where, name), "w") as f:
            f.write(text)
    g = ["git", "-C", where, "-c", "user.name=example", "-c", "user.email=e@example.com"]
    subprocess.run(g + ["add", "."], check=True)
    subprocess.run(g + ["commit", "-qm", "a calculator with a bug"], check=True)


work = tempfile.mkdtemp(prefix="agent-example-")
repo = os.environ.get("REPO") or os.path.join(work, "repo")
if not os.environ.get("REPO"):
    demo_repo(repo)
bundle = os.path.join(work, "repo.bundle")
subprocess.run(["git", "-C", repo, "bundle", "create", bundle, "--all"], check=True,
               capture_output=True)
m = Machine.create(timeout_s=900)
try:
    m.files.upload_file(bundle, "/workspace/repo.bundle")
    m.commands.run("git clone -q /workspace/repo.bundle /workspace/repo")
    before = m.commands.run("python3 -B test_calc.py", cwd="/workspace/repo")
    print("checks before:", "pass" if before.exit_code == 0 else "fail")
    # the "agent" fixes the bug (a model would decide this edit); -B above: no bytecode
    # cache, which would keep the old calc.py (same size, same second) in force
    src = m.files.read("/workspace/repo/calc.py").replace("a - b", "a + b")
    m.files.write("/workspace/repo/calc.py", src)
    after = m.commands.run("python3 -B test_calc.py", cwd="/workspace/repo")
    print("checks after: ", "pass" if after.exit_code == 0 else "fail")
    diff = m.commands.run("git diff", cwd="/workspace/repo").stdout
    print(diff)
    assert before.exit_code != 0 and after.exit_code == 0 and "+    return a + b" in diff
finally:
    m.kill()
    subprocess.run(["rm", "-rf", work])
