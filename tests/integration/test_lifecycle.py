"""Daemon lifecycle: SIGTERM drains in-flight requests and then exits; SIGKILL during
writes loses no committed write and leaves a database that opens cleanly."""

import http.client
import json
import os
import signal
import socket
import sqlite3
import threading
import time
import unittest

from harness import Daemon, recv_until_closed


class Drain(unittest.TestCase):
    def test_sigterm_finishes_in_flight_requests_then_exits(self):
        d = Daemon().start()
        try:
            idle = d.conn()
            st, _, _ = d.request("GET", "/healthz", key=False, conn=idle)
            self.assertEqual(st, 200)
            body = json.dumps({"name": "in-flight"}).encode()
            busy = socket.create_connection((d.host, d.port), timeout=5)
            busy.sendall(b"POST /v1/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                         d.key.encode() + b"\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body[:5])
            time.sleep(0.2)
            d.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            idle.sock.settimeout(3)
            self.assertEqual(idle.sock.recv(10), b"", "idle connections are closed at once")
            with self.assertRaises(OSError):
                socket.create_connection((d.host, d.port), timeout=2).recv(1)
            self.assertTrue(d.alive(), "the daemon waits for the in-flight request")
            busy.sendall(body[5:])
            resp = recv_until_closed(busy)
            self.assertTrue(resp.startswith(b"HTTP/1.1 201"), resp[:100])
            self.assertIn(b"Connection: close", resp)
            key_id = json.loads(resp.partition(b"\r\n\r\n")[2])["id"]
            self.assertEqual(d.stop(), 0)
            self.assertNotIn("Sanitizer", d.read_log())
            d.start()
            st, _, got = d.request("GET", "/v1/keys/" + key_id)
            self.assertEqual((st, got["name"]), (200, "in-flight"))
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


class CrashSafety(unittest.TestCase):
    def writer(self, d, acked, stop):
        while not stop.is_set():
            try:
                c = http.client.HTTPConnection(d.host, d.port, timeout=5)
                while not stop.is_set():
                    c.request("POST", "/v1/keys", body=b'{"name":"crash"}',
                              headers={"Authorization": "Bearer " + d.key,
                                       "Content-Type": "application/json"})
                    r = c.getresponse()
                    data = r.read()
                    if r.status == 201:
                        acked.append(json.loads(data)["id"])
            except (OSError, http.client.HTTPException):
                return

    def test_sigkill_during_writes_loses_no_acknowledged_write(self):
        d = Daemon().start()
        try:
            total = 0
            for round_ in range(3):
                acked, stop = [], threading.Event()
                threads = [threading.Thread(target=self.writer, args=(d, acked, stop))
                           for _ in range(4)]
                for t in threads:
                    t.start()
                time.sleep(0.8 + 0.3 * round_)
                d.proc.send_signal(signal.SIGKILL)
                d.stop()
                stop.set()
                for t in threads:
                    t.join()
                self.assertGreater(len(acked), 10, "the writers made progress")
                total += len(acked)
                db = sqlite3.connect(os.path.join(d.state_dir, "nullspace.db"))
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                db.close()
                d.start()
                ids = set()
                cursor = None
                while True:
                    q = "/v1/keys?limit=1000" + ("&cursor=" + cursor if cursor else "")
                    st, _, page = d.request("GET", q)
                    self.assertEqual(st, 200)
                    ids |= {k["id"] for k in page["keys"]}
                    cursor = page["next_cursor"]
                    if not cursor:
                        break
                missing = [k for k in acked if k not in ids]
                self.assertEqual(missing, [], "acknowledged keys lost after SIGKILL")
            self.assertGreater(total, 30)
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
