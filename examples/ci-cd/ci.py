"""Runs a repository's checks in a fresh Nullspace machine (what the workflow in
.github/workflows/nullspace-ci.yml calls): the checkout goes in as a git bundle, CHECK_CMD
runs in it (default: python3 -m unittest -v), its output is printed and, when
GITHUB_STEP_SUMMARY is set, summarised for the run's page; the exit code is the checks'.
The machine is destroyed however it ends."""
import os
import subprocess
import sys
import tempfile

from nullspace import Machine

repo = os.environ.get("GITHUB_WORKSPACE") or (sys.argv[1] if len(sys.argv) > 1 else ".")
check = os.environ.get("CHECK_CMD", "python3 -m unittest -v")
work = tempfile.mkdtemp(prefix="nullspace-ci-")
bundle = os.path.join(work, "repo.bundle")
subprocess.run(["git", "-C", repo, "bundle", "create", bundle, "--all"], check=True,
               capture_output=True)
m = Machine.create(timeout_s=1800, metadata={"ci": os.environ.get("GITHUB_RUN_ID", "local")})
try:
    m.files.upload_file(bundle, "/workspace/repo.bundle")
    m.commands.run("git clone -q /workspace/repo.bundle /workspace/repo")
    r = m.commands.run(check, cwd="/workspace/repo", timeout=1500,
                       on_stdout=lambda s: print(s, end=""),
                       on_stderr=lambda s: print(s, end="", file=sys.stderr))
    verdict = "passed" if r.exit_code == 0 else "failed (exit %d)" % r.exit_code
    print("\nchecks %s in machine %s" % (verdict, m.id))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a") as f:
            f.write("### Nullspace checks %s\n\n`%s` in machine `%s`\n" % (verdict, check, m.id))
    code = r.exit_code
finally:
    m.kill()
    subprocess.run(["rm", "-rf", work])
sys.exit(code)
