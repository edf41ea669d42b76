"""E2B compatibility: the official `e2b` npm SDK (tests/e2b, pinned) runs unchanged
against a real daemon's /e2b API and real machines (docs/e2b.md)."""

import os
import unittest

from harness import DaemonTest, SOURCE, npm_test

TESTS = os.path.join(SOURCE, "tests", "e2b")


class E2bSdk(DaemonTest):
    def test_the_e2b_sdk_passes_against_a_real_daemon(self):
        self.assertTrue(os.path.isdir(os.path.join(TESTS, "node_modules")),
                        "run scripts/test.sh (it installs tests/e2b with npm ci)")
        st, _, k = self.d.request("POST", "/v1/keys", {"name": "e2b", "format": "e2b"})
        self.assertEqual(st, 201, k)
        self.assertRegex(k["key"], r"^e2b_[0-9a-f]{40}$")  # what the SDK's check accepts
        env = dict(os.environ, E2B_API_URL=self.d.url + "/e2b",
                   E2B_SANDBOX_URL=self.d.url + "/e2b/envd", E2B_API_KEY=k["key"])
        npm_test(self.d, TESTS, env, 300)

    def test_unknown_e2b_routes_and_bad_input_get_e2b_errors(self):
        st, _, body = self.d.request("POST", "/e2b/v2/sandboxes", {"timeout": "soon"})
        self.assertEqual((st, body["code"]), (400, 400), body)
        self.assertIn("timeout", body["message"])
        st, _, body = self.d.request("GET", "/e2b/sandboxes/m_nope")
        self.assertEqual((st, body["code"]), (404, 404), body)
        st, _, body = self.d.request("GET", "/e2b/v2/sandboxes?state=sleeping")
        self.assertEqual(st, 400, body)
        st, _, body = self.d.request("GET", "/e2b/envd/health")
        self.assertEqual((st, body["code"]), (400, 400), body)
        # what E2B has and we do not yet, unknown paths, wrong methods, no key: E2B's shape
        for method, path, status in (("GET", "/e2b/sandboxes/x/logs", 404),
                                     ("GET", "/e2b/no/such/route", 404),
                                     ("PATCH", "/e2b/v2/sandboxes", 405)):
            st, _, body = self.d.request(method, path)
            self.assertEqual((st, body.get("code")), (status, status), body)
            self.assertTrue(body["message"], body)
        st, _, body = self.d.request("GET", "/e2b/v2/sandboxes", key=False)
        self.assertEqual((st, body.get("code")), (401, 401), body)
        st, _, body = self.d.request("GET", "/v1/no/such/route")  # ours stay ours
        self.assertEqual(body["error"]["code"], "not_found", body)


if __name__ == "__main__":
    unittest.main()
