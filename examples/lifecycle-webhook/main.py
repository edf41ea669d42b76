"""Register a lifecycle webhook, receive signed deliveries on a server of our own, and
inspect the delivery attempts the daemon logged. The daemon must be allowed to deliver
to this host (nullspaced --webhook-allow-private when the receiver is on loopback)."""
import http.server
import json
import threading
import time

from nullspace import Machine, Webhook, verify_webhook

got = []


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        got.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d/hooks" % server.server_port
hook = Webhook.create(url, events=["machine.running", "machine.destroyed"])
try:
    m = Machine.create(timeout_s=300)
    m.kill()
    deadline = time.time() + 30
    while len(got) < 2 and time.time() < deadline:
        time.sleep(0.1)
    for headers, body in got:
        verify_webhook(hook.info["secret"], headers, body)  # raises when forged or replayed
        event = json.loads(body)
        print("received", event["type"], "for", event["subject"]["id"])
    assert [json.loads(b)["type"] for _, b in got] == ["machine.running", "machine.destroyed"]
    for d in hook.deliveries():
        print("delivery", d["id"], d["state"], "attempts:", [a["status"] for a in d["attempt_log"]])
finally:
    hook.delete()
    server.shutdown()
