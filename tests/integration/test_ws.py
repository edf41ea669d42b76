"""The WebSocket endpoint /v1/ws: upgrade, authentication, JSON control messages."""

import json
import unittest

from harness import DaemonTest
from wsclient import WebSocket


class WebSocketEndpoint(DaemonTest):
    def ws(self, key=True, **kw):
        h = {"Authorization": "Bearer " + self.d.key} if key else {}
        return WebSocket(self.d.host, self.d.port, "/v1/ws", h, **kw)

    def test_ping_pong(self):
        w = self.ws()
        self.assertTrue(w.accepted, w.head)
        for i in range(3):
            w.send(json.dumps({"type": "ping", "id": i}))
            op, data = w.recv()
            msg = json.loads(data)
            self.assertEqual((op, msg["type"], msg["id"]), (1, "pong", i))
        w.close()

    def test_bad_messages_get_error_frames_and_the_session_stays(self):
        w = self.ws()
        w.send("not json")
        _, data = w.recv()
        self.assertEqual(json.loads(data)["error"]["code"], "invalid_json")
        w.send(json.dumps({"type": "teleport", "id": "x"}))
        msg = json.loads(w.recv()[1])
        self.assertEqual((msg["error"]["code"], msg["id"]), ("invalid_field", "x"))
        w.send(json.dumps({"type": "ping", "id": 9}))
        self.assertEqual(json.loads(w.recv()[1])["type"], "pong")
        w.close()

    def test_large_message_in_fragments_of_a_big_frame(self):
        w = self.ws()
        w.send(json.dumps({"type": "ping", "id": "y" * 100000}))
        self.assertEqual(json.loads(w.recv()[1])["id"], "y" * 100000)
        w.close()

    def test_oversize_message_closes_with_1009(self):
        w = self.ws()
        # just past the 1 MiB limit: the daemon reads the frame up to the limit, answers
        # 1009 and drains (up to 1 MiB) while we finish sending; 2 MiB could outrun the
        # drain and end in a reset before we read the close frame
        w.send("x" * ((1 << 20) + 4096))
        op, data = w.recv()
        self.assertEqual(op, 8)
        self.assertEqual(int.from_bytes(data[:2], "big"), 1009)
        w.sock.close()

    def test_upgrade_needs_a_key(self):
        w = self.ws(key=False)
        self.assertEqual(w.status, 401)
        w.sock.close()

    def test_plain_get_is_400(self):
        st, _, body = self.d.request("GET", "/v1/ws")
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_request"))

    def test_upgrade_on_other_routes_is_refused(self):
        w = WebSocket(self.d.host, self.d.port, "/healthz")
        self.assertEqual(w.status, 400)
        w.sock.close()


if __name__ == "__main__":
    unittest.main()
