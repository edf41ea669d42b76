"""Runs proxy.py in front of a machine's preview and fetches through it."""
import os
import socket
import subprocess
import sys
import time
import urllib.request

from nullspace import Machine

m = Machine.create(timeout_s=600)
proxy = None
try:
    m.files.write("/srv/hello.txt", "served by the machine, through your proxy\n")
    m.commands.run("cd /srv && python3 -m http.server 8000", background=True)
    m.commands.run("for i in $(seq 50); do curl -sf localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1")
    target = m.preview(8000, expires_in_s=600)["path_url"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    here = os.path.dirname(os.path.abspath(__file__))
    proxy = subprocess.Popen([sys.executable, os.path.join(here, "proxy.py"), target, str(port)])
    url = "http://127.0.0.1:%d/hello.txt" % port
    for _ in range(100):
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                body = r.read().decode()
            break
        except OSError:
            time.sleep(0.1)
    print("through the proxy:", body.strip())
    assert body == "served by the machine, through your proxy\n"
finally:
    if proxy:
        proxy.terminate()
        proxy.wait()
    m.kill()
