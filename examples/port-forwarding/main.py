"""A web server in a machine, fetched from outside through a signed preview URL."""
import time
import urllib.request

from nullspace import Machine

m = Machine.create(timeout_s=600)
try:
    m.files.write("/srv/index.html", "<h1>hello from the machine</h1>\n")
    m.commands.run("cd /srv && python3 -m http.server 8000", background=True)
    m.commands.run("for i in $(seq 50); do curl -sf localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1")
    p = m.preview(8000, expires_in_s=600)
    print("preview URL:", p["url"])
    print("path form:  ", p["path_url"])
    # the host-routed URL needs DNS for the preview domain; the path form works anywhere
    with urllib.request.urlopen(p["path_url"], timeout=30) as r:
        body = r.read().decode()
    print("fetched:", body.strip())
    assert "hello from the machine" in body
finally:
    m.kill()
