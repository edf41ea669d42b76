"""A desktop machine and a managed viewer URL a person can open in a browser."""
import urllib.request

from nullspace import Machine

m = Machine.create(template="desktop", timeout_s=900)
try:
    v = m.desktop.viewer(view_only=True, expires_in_s=600)
    print("open this in a browser (watch only, 10 minutes):", v["url"])
    with urllib.request.urlopen(v["url"], timeout=30) as r:
        page = r.read().decode()
    assert r.status == 200 and "<html" in page.lower()
    png = m.desktop.screenshot()
    print("the screen now:", m.desktop.screen(), len(png), "bytes of PNG")
finally:
    m.kill()
