"""HTTP/1.1 behaviour of the daemon: keep-alive, pipelining, chunked bodies both ways,
request IDs, limits and every kind of bad input, against the real server."""

import json
import os
import random
import socket
import time
import unittest

from harness import Daemon, DaemonTest, assert_clean_exit, error_code, recv_until_closed


def parse_responses(raw):
    """Splits a byte stream into (status, headers, body) for Content-Length responses."""
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        n = int(hdrs.get("content-length", "0"))
        out.append((status, hdrs, rest[:n]))
        raw = rest[n:]
    return out


class HttpBasics(DaemonTest):
    def test_health_and_ready_need_no_key(self):
        st, h, body = self.d.request("GET", "/healthz", key=False)
        self.assertEqual((st, body), (200, {"status": "ok"}))
        st, _, body = self.d.request("GET", "/readyz", key=False)
        self.assertEqual((st, body), (200, {"status": "ready"}))

    def test_every_response_has_a_request_id(self):
        for path, key in (("/healthz", False), ("/v1/info", True), ("/v1/info", False),
                          ("/nope", True)):
            _, h, body = self.d.request("GET", path, key=key)
            self.assertRegex(h["x-request-id"], r"^req_[0-9a-f]+$")
            if isinstance(body, dict) and "error" in body:
                self.assertEqual(body["error"]["request_id"], h["x-request-id"])

    def test_client_request_id_is_kept_when_safe(self):
        _, h, _ = self.d.request("GET", "/healthz", key=False, headers={"X-Request-Id": "trace-42"})
        self.assertEqual(h["x-request-id"], "trace-42")
        _, h, _ = self.d.request("GET", "/healthz", key=False, headers={"X-Request-Id": "bad id!"})
        self.assertNotEqual(h["x-request-id"], "bad id!")

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        c = self.d.conn()
        c.connect()
        sock = c.sock
        for _ in range(20):
            st, _, _ = self.d.request("GET", "/v1/info", conn=c)
            self.assertEqual(st, 200)
            self.assertIs(c.sock, sock)
        c.close()

    def test_pipelined_requests_are_answered_in_order(self):
        req = ("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: a1\r\n\r\n"
               "GET /nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: a2\r\n\r\n"
               "GET /readyz HTTP/1.1\r\nHost: x\r\nX-Request-Id: a3\r\nConnection: close\r\n\r\n")
        rs = parse_responses(self.d.raw(req.encode(), shut=False))
        self.assertEqual([(r[0], r[1]["x-request-id"]) for r in rs],
                         [(200, "a1"), (404, "a2"), (200, "a3")])

    def test_chunked_request_body(self):
        body = json.dumps({"name": "chunky"}).encode()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 3]), body[i:i + 3])
                          for i in range(0, len(body), 3))
        req = (b"POST /v1/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + self.d.key.encode() +
               b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
        (st, _, resp), = parse_responses(self.d.raw(req, shut=False))
        self.assertEqual(st, 201)
        self.assertEqual(json.loads(resp)["name"], "chunky")

    def test_chunked_response_body(self):
        raw = self.d.raw(b"GET /openapi.yaml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                         shut=False)
        head, _, rest = raw.partition(b"\r\n\r\n")
        self.assertIn(b"Transfer-Encoding: chunked", head)
        body = b""
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            n = int(size_line, 16)
            if n == 0:
                break
            body += rest[:n]
            rest = rest[n + 2:]
        spec = open(os.path.join(os.environ.get("NULLSPACE_SOURCE_DIR", "../.."),
                                 "specs/openapi.yaml"), "rb").read()
        self.assertEqual(body, spec)

    def test_expect_100_continue(self):
        s = socket.create_connection((self.d.host, self.d.port), timeout=5)
        body = b'{"name":"exp"}'
        s.sendall(b"POST /v1/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                  self.d.key.encode() + b"\r\nContent-Type: application/json\r\n"
                  b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 100 Continue"))
        s.sendall(body)
        self.assertIn(b"201 Created", s.recv(4096))
        s.close()


class BadInput(DaemonTest):
    def expect(self, method, path, status, code, **kw):
        st, h, body = self.d.request(method, path, **kw)
        self.assertEqual(st, status, body)
        self.assertEqual(error_code(body), code)
        return h, body

    def test_missing_or_invalid_key_is_401(self):
        self.expect("GET", "/v1/info", 401, "unauthorized", key=False)
        self.expect("GET", "/v1/info", 401, "unauthorized", key="ns_not_a_real_key_at_all")
        self.expect("GET", "/v1/info", 401, "unauthorized", key=False,
                    headers={"Authorization": "Basic Zm9vOmJhcg=="})
        self.expect("GET", "/v1/info", 401, "unauthorized", key=False,
                    headers={"X-API-Key": "x" * 5000})

    def test_x_api_key_header_works(self):
        st, _, _ = self.d.request("GET", "/v1/info", key=False, headers={"X-API-Key": self.d.key})
        self.assertEqual(st, 200)

    def test_unknown_route_is_404_and_wrong_method_405(self):
        self.expect("GET", "/v1/nothing", 404, "not_found")
        h, _ = self.expect("PATCH", "/v1/keys", 405, "method_not_allowed")
        self.assertEqual(h["allow"], "POST, GET")

    def test_bad_json_names_the_problem(self):
        _, body = self.expect("POST", "/v1/keys", 400, "invalid_json", body="{nope",
                              headers={"Content-Type": "application/json"})
        self.assertIn("line 1", body["error"]["message"])
        _, body = self.expect("POST", "/v1/keys", 400, "unknown_field", body={"nmae": "x"})
        self.assertIn("nmae", body["error"]["message"])
        _, body = self.expect("POST", "/v1/keys", 400, "invalid_field", body={"name": 3})
        self.assertIn("'name'", body["error"]["message"])
        self.expect("POST", "/v1/keys", 400, "invalid_field", body={"name": "x" * 200})
        self.expect("POST", "/v1/keys", 400, "invalid_json", body=[1, 2])

    def test_wrong_content_type_is_415(self):
        self.expect("POST", "/v1/keys", 415, "unsupported_media_type", body="name=x",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})

    def test_oversize_body_is_413(self):
        self.expect("POST", "/v1/keys", 413, "payload_too_large",
                    body=json.dumps({"name": "x" * (70 << 10)}),
                    headers={"Content-Type": "application/json"})

    def test_oversize_chunked_body_is_413(self):
        chunk = b"x" * 8192
        req = (b"POST /v1/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + self.d.key.encode() +
               b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
               (b"2000\r\n" + chunk + b"\r\n") * 10 + b"0\r\n\r\n")
        out = self.d.raw(req, shut=False)
        self.assertTrue(out.startswith(b"HTTP/1.1 413"), out[:100])

    def test_oversize_headers_are_431(self):
        out = self.d.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 431"), out[:100])
        self.assertIn(b'"headers_too_large"', out)

    def test_bad_query_parameters_are_400(self):
        self.expect("GET", "/v1/keys?limit=0", 400, "invalid_request")
        self.expect("GET", "/v1/keys?limit=abc", 400, "invalid_request")
        self.expect("GET", "/v1/keys?colour=red", 400, "invalid_request")

    def test_malformed_requests_are_400_and_close(self):
        for req in (b"HELLO\r\n\r\n", b"GET / HTTP/7.0\r\n\r\n", b"GET  HTTP/1.1\r\n\r\n",
                    b"GET /healthz HTTP/1.1\r\nNo-Colon\r\n\r\n",
                    b"GET http://example/healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"POST /v1/keys HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                    b"GET /\x00 HTTP/1.1\r\n\r\n"):
            out = self.d.raw(req)
            self.assertTrue(out.startswith(b"HTTP/1.1 400"), (req, out[:80]))
            self.assertIn(b"Connection: close", out)

    def test_random_garbage_never_hurts_the_daemon(self):
        rnd = random.Random(1234)
        for i in range(300):
            n = rnd.randint(1, 600)
            junk = bytes(rnd.randrange(256) for _ in range(n))
            if i % 3 == 0:
                junk = b"GET /v1/keys HTTP/1.1\r\n" + junk
            try:
                self.d.raw(junk, timeout=2)
            except OSError:
                pass
        st, _, _ = self.d.request("GET", "/healthz", key=False)
        self.assertEqual(st, 200)


class Limits(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(["--max-connections", "3", "--request-timeout-ms", "800",
                         "--idle-timeout-ms", "1500"]).start()

    def tearDown(self):
        assert_clean_exit(self.d)

    def test_connection_limit_answers_503(self):
        held = [socket.create_connection((self.d.host, self.d.port)) for _ in range(3)]
        time.sleep(0.2)
        out = self.d.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 503"), out[:80])
        self.assertIn(b"too_many_connections", out)
        for s in held:
            s.close()
        time.sleep(0.2)
        st, _, _ = self.d.request("GET", "/healthz", key=False)
        self.assertEqual(st, 200)

    def test_slow_request_times_out_with_408(self):
        s = socket.create_connection((self.d.host, self.d.port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finishes
        out = recv_until_closed(s)
        self.assertTrue(out.startswith(b"HTTP/1.1 408"), out[:80])
        s.close()

    def test_idle_keep_alive_connection_is_closed(self):
        c = self.d.conn()
        self.d.request("GET", "/healthz", key=False, conn=c)
        c.sock.settimeout(5)
        t0 = time.time()
        self.assertEqual(c.sock.recv(10), b"")  # the daemon closed it
        self.assertLess(time.time() - t0, 4.5)
        c.close()

    def test_a_quiet_streamed_answer_is_not_an_idle_connection(self):
        st, _, m = self.d.request("POST", "/v1/machines", {})
        self.assertEqual(st, 201, m)
        try:
            c = self.d.conn()
            c.request("POST", "/v1/machines/%s/exec" % m["id"],
                      body=json.dumps({"cmd": "echo start; sleep 4; echo done", "stream": True}),
                      headers={"Authorization": "Bearer " + self.d.key,
                               "Content-Type": "application/json"})
            lines = [json.loads(x) for x in c.getresponse().read().splitlines()]
            c.close()
        finally:  # before tearDown stops the daemon
            self.d.request("DELETE", "/v1/machines/" + m["id"])
        self.assertEqual([x.get("data") for x in lines if x["type"] == "stdout"],
                         ["start\n", "done\n"], "silent for longer than --idle-timeout-ms")
        self.assertEqual((lines[-1]["type"], lines[-1]["exit_code"]), ("exit", 0))


if __name__ == "__main__":
    unittest.main()
