"""Files and directories into a machine with progress; a resumable upload goes on
from where the daemon holds it when a piece fails."""
import hashlib
import os
import tempfile

from nullspace import Machine

m = Machine.create(timeout_s=600)
work = tempfile.mkdtemp(prefix="upload-example-")
try:
    big = os.path.join(work, "big.bin")
    with open(big, "wb") as f:
        f.write(os.urandom(24 << 20))
    seen = []
    m.files.upload_file(big, "/root/big.bin", piece=4 << 20,
                        progress=lambda done, total: seen.append((done, total)))
    print("progress reports:", len(seen), "last", seen[-1])
    want = hashlib.sha256(open(big, "rb").read()).hexdigest()
    got = m.commands.run("sha256sum /root/big.bin").stdout.split()[0]
    print("sha256 matches:", got == want)
    assert got == want and seen[-1] == (24 << 20, 24 << 20)

    tree = os.path.join(work, "project")
    os.makedirs(os.path.join(tree, "src"))
    for name in ("README.md", "src/a.py", "src/b.py"):
        with open(os.path.join(tree, name), "w") as f:
            f.write("# " + name + "\n")
    m.files.upload_dir(tree, "/root/project")
    listed = m.commands.run("cd /root/project && find . -type f | sort").stdout.split()
    print("uploaded tree:", listed)
    assert listed == ["./README.md", "./src/a.py", "./src/b.py"]
finally:
    m.kill()
    for root, dirs, files in os.walk(work, topdown=False):
        for n in files:
            os.unlink(os.path.join(root, n))
        for n in dirs:
            os.rmdir(os.path.join(root, n))
    os.rmdir(work)
