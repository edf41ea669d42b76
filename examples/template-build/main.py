"""Build a reusable template from a Dockerfile and create a machine from it: its
service is already running when the machine is."""
import os
import tempfile

from nullspace import BuildFailedError, Machine, Template

DOCKERFILE = """FROM base
COPY app.py /app/app.py
ENV GREETING="hello from a template"
WORKDIR /app
"""
APP = """import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers()
        self.wfile.write(os.environ["GREETING"].encode())
http.server.HTTPServer(("127.0.0.1", 8000), H).serve_forever()
"""

ctx = tempfile.mkdtemp(prefix="template-example-")
with open(os.path.join(ctx, "app.py"), "w") as f:
    f.write(APP)
name = "example-web:v1"
try:
    t = Template.build(name, dockerfile=DOCKERFILE, context=ctx,
                       start_cmd="python3 /app/app.py", ready_cmd="curl -sf localhost:8000",
                       on_log=lambda line: print("  build:", line["text"][:100]))
except BuildFailedError as e:
    raise SystemExit("the build failed: %s" % e)
finally:
    os.unlink(os.path.join(ctx, "app.py"))
    os.rmdir(ctx)
m = Machine.create(template=name, timeout_s=600)
try:
    out = m.commands.run("curl -s localhost:8000").stdout
    print("its service answers:", out)
    assert out == "hello from a template"
finally:
    m.kill()
    Template.delete(name)
