"""API keys over the API: create, list with pagination, get, revoke, and what a revoked
key or the last-key rule does."""

import os
import stat
import unittest

from harness import Daemon, DaemonTest, error_code


class Keys(DaemonTest):
    def create(self, name="k"):
        st, h, body = self.d.request("POST", "/v1/keys", body={"name": name})
        self.assertEqual(st, 201, body)
        self.assertEqual(h["location"], "/v1/keys/" + body["id"])
        return body

    def test_created_key_authenticates_and_is_shown_once(self):
        k = self.create("agent")
        self.assertTrue(k["key"].startswith("ns_"))
        self.assertEqual(k["prefix"], k["key"][:10])
        st, _, info = self.d.request("GET", "/v1/info", key=k["key"])
        self.assertEqual(st, 200)
        st, _, got = self.d.request("GET", "/v1/keys/" + k["id"])
        self.assertEqual(st, 200)
        self.assertNotIn("key", got)
        self.assertEqual(got["name"], "agent")
        self.assertIsNone(got["revoked_at"])

    def test_empty_body_creates_an_unnamed_key(self):
        st, _, body = self.d.request("POST", "/v1/keys")
        self.assertEqual(st, 201)
        self.assertEqual(body["name"], "unnamed")

    def test_list_paginates_with_a_cursor(self):
        for i in range(5):
            self.create("page-%d" % i)
        seen, cursor = [], None
        while True:
            path = "/v1/keys?limit=2" + ("&cursor=" + cursor if cursor else "")
            st, _, page = self.d.request("GET", path)
            self.assertEqual(st, 200)
            self.assertLessEqual(len(page["keys"]), 2)
            seen += [k["id"] for k in page["keys"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(len(seen), len(set(seen)))
        st, _, whole = self.d.request("GET", "/v1/keys?limit=1000")
        self.assertEqual(seen, [k["id"] for k in whole["keys"]])
        for k in whole["keys"]:
            self.assertNotIn("key", k)

    def test_revoked_key_is_refused(self):
        k = self.create("temp")
        st, _, _ = self.d.request("GET", "/v1/info", key=k["key"])
        self.assertEqual(st, 200, "used once, so the daemon has it cached")
        st, _, _ = self.d.request("DELETE", "/v1/keys/" + k["id"])
        self.assertEqual(st, 204)
        st, _, body = self.d.request("GET", "/v1/info", key=k["key"])
        self.assertEqual((st, error_code(body)), (401, "unauthorized"))
        st, _, got = self.d.request("GET", "/v1/keys/" + k["id"])
        self.assertIsInstance(got["revoked_at"], int)
        st, _, _ = self.d.request("DELETE", "/v1/keys/" + k["id"])
        self.assertEqual(st, 204, "revoking twice is idempotent")

    def test_unknown_key_id_is_404(self):
        for m in ("GET", "DELETE"):
            st, _, body = self.d.request(m, "/v1/keys/key_0000000000000000")
            self.assertEqual((st, error_code(body)), (404, "key_not_found"))


class FirstKey(unittest.TestCase):
    def test_generated_key_file_is_private(self):
        d = Daemon().start()
        try:
            path = os.path.join(d.state_dir, "api-key")
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            self.assertEqual(stat.S_IMODE(os.stat(d.state_dir).st_mode), 0o700)
            st, _, _ = d.request("GET", "/v1/info")
            self.assertEqual(st, 200)
        finally:
            self.assertEqual(d.stop(), 0)
            d.cleanup()

    def test_env_key_becomes_the_first_admin_key_and_the_last_cannot_go(self):
        secret = "my-own-secret-key-123456"
        d = Daemon(env={"NULLSPACE_API_KEY": secret}).start()
        try:
            self.assertFalse(os.path.exists(os.path.join(d.state_dir, "api-key")))
            st, _, page = d.request("GET", "/v1/keys", key=secret)
            self.assertEqual(st, 200)
            (only,) = page["keys"]
            st, _, body = d.request("DELETE", "/v1/keys/" + only["id"], key=secret)
            self.assertEqual((st, error_code(body)), (409, "last_key"))
        finally:
            self.assertEqual(d.stop(), 0)
        # a restart with another env key keeps the original: it only seeds a new state dir
        d2 = Daemon(env={"NULLSPACE_API_KEY": "another-secret-key-99999"},
                    state_dir=d.state_dir).start()
        try:
            st, _, _ = d2.request("GET", "/v1/info", key=secret)
            self.assertEqual(st, 200)
            st, _, _ = d2.request("GET", "/v1/info", key="another-secret-key-99999")
            self.assertEqual(st, 401)
        finally:
            self.assertEqual(d2.stop(), 0)
            d.cleanup()

    def test_too_short_env_key_is_refused_at_start(self):
        d = Daemon(env={"NULLSPACE_API_KEY": "short"})
        with self.assertRaises(RuntimeError) as cm:
            d.start()
        self.assertIn("16 to 256", str(cm.exception))
        d.cleanup()

    def test_second_daemon_on_the_same_state_dir_is_refused(self):
        d = Daemon().start()
        try:
            d2 = Daemon(state_dir=d.state_dir)
            with self.assertRaises(RuntimeError) as cm:
                d2.start()
            self.assertIn("another nullspaced", str(cm.exception))
        finally:
            self.assertEqual(d.stop(), 0)
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
