"""Secrets on a real daemon: set, listed by name, replaced and deleted through the API,
the CLI and both SDKs; given to gVisor machines (a cold start, a spawn from a snapshot)
as environment variables; refused when unknown or malformed; kept across a restart; and
never in an answer, the store, the daemon's log or any file of the state directory."""

import json
import os
import stat
import sys
import unittest

from harness import CLI, DaemonTest, SOURCE, error_code, run_bounded

sys.path.insert(0, os.path.join(SOURCE, "sdks", "python"))
import nullspace  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def fresh_value(tag):
    return "%s-%s" % (tag, os.urandom(12).hex())


class Secrets(DaemonTest):
    def req(self, method, path, body=None):
        st, _, doc = self.d.request(method, path, body)
        return st, doc

    def put(self, name, value):
        return self.req("PUT", "/v1/secrets/" + name, {"value": value})

    def create(self, **body):
        st, m = self.req("POST", "/v1/machines", body)
        self.assertEqual(st, 201, m)
        self.addCleanup(self.req, "DELETE", "/v1/machines/" + m["id"])
        return m

    def printenv(self, mid, name):
        st, r = self.req("POST", "/v1/machines/%s/exec" % mid, {"cmd": "printenv " + name})
        self.assertEqual(st, 200, r)
        return r["stdout"]

    def assert_nowhere(self, value):
        """value is in no file of the state directory (the store and its WAL, the log,
        machines' bundles and layers); mounted rootfs views are skipped (they show the
        shared base, not files of ours)."""
        needle = value.encode()
        for root, dirs, files in os.walk(self.d.state_dir):
            dirs[:] = [x for x in dirs if not os.path.ismount(os.path.join(root, x))]
            for f in files:
                p = os.path.join(root, f)
                try:
                    if not stat.S_ISREG(os.lstat(p).st_mode):
                        continue
                    with open(p, "rb") as fh:
                        data = fh.read()
                except OSError:
                    continue
                self.assertNotIn(needle, data, "the value is in " + p)

    def test_api_set_list_replace_delete(self):
        v1, v2 = fresh_value("one"), fresh_value("two")
        st, s = self.put("API_TOKEN", v1)
        self.assertEqual((st, s["name"], s["created_at"] == s["updated_at"]),
                         (201, "API_TOKEN", True))
        self.assertEqual(set(s), {"name", "created_at", "updated_at"})
        st, s2 = self.put("API_TOKEN", v2)
        self.assertEqual((st, s2["created_at"]), (200, s["created_at"]))
        self.assertEqual(self.put("OTHER_ONE", "x")[0], 201)
        st, everything = self.req("GET", "/v1/secrets")
        names = [x["name"] for x in everything["secrets"]]
        self.assertEqual(names[-2:], ["API_TOKEN", "OTHER_ONE"], "in the order first set")
        st, page = self.req("GET", "/v1/secrets?limit=%d" % (len(names) - 1))
        self.assertEqual([x["name"] for x in page["secrets"]], names[:-1])
        st, page2 = self.req("GET", "/v1/secrets?cursor=%s" % page["next_cursor"])
        self.assertEqual(([x["name"] for x in page2["secrets"]], page2["next_cursor"]),
                         (["OTHER_ONE"], None))
        st, one = self.req("GET", "/v1/secrets/API_TOKEN")
        self.assertEqual((st, one["name"]), (200, "API_TOKEN"))
        for doc in (s, s2, page, page2, one):
            self.assertNotIn(v1, json.dumps(doc))
            self.assertNotIn(v2, json.dumps(doc))
        # events say which secret changed, never its value
        st, ev = self.req("GET", "/v1/events?type=secret.*")
        kinds = [(e["type"], e["subject"]["id"]) for e in ev["events"]]
        self.assertIn(("secret.created", "API_TOKEN"), kinds)
        self.assertIn(("secret.updated", "API_TOKEN"), kinds)
        self.assertEqual(self.req("DELETE", "/v1/secrets/OTHER_ONE")[0], 204)
        st, gone = self.req("DELETE", "/v1/secrets/OTHER_ONE")
        self.assertEqual((st, error_code(gone)), (404, "secret_not_found"))
        st, gone = self.req("GET", "/v1/secrets/OTHER_ONE")
        self.assertEqual((st, error_code(gone)), (404, "secret_not_found"))
        key = os.path.join(self.d.state_dir, "secrets.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assert_nowhere(v1)
        self.assert_nowhere(v2)

    def test_bad_input_is_refused(self):
        cases = [
            ("bad-name", {"value": "x"}, "invalid_field"),
            ("9LIVES", {"value": "x"}, "invalid_field"),
            ("OK_NAME", {}, "missing_field"),
            ("OK_NAME", {"value": 3}, "invalid_field"),
            ("OK_NAME", {"value": "x", "extra": 1}, "unknown_field"),
            ("OK_NAME", {"value": "x" * (64 * 1024 + 1)}, "invalid_field"),
            ("OK_NAME", {"value": "a\u0000b"}, "invalid_json"),
        ]
        for name, body, code in cases:
            st, doc = self.req("PUT", "/v1/secrets/" + name, body)
            self.assertEqual((st, error_code(doc)), (400, code), (name, str(body)[:40]))
        st, doc = self.req("PUT", "/v1/secrets/" + "N" * 129, {"value": "x"})
        self.assertEqual(st, 404, "a name longer than 128 bytes names no route")
        self.assertEqual(self.put("OK_NAME", "x" * (64 * 1024))[0], 201, "64 KiB is allowed")
        st, doc = self.req("GET", "/v1/secrets/no-such")
        self.assertEqual((st, error_code(doc)), (404, "secret_not_found"))
        self.assertEqual(self.req("DELETE", "/v1/secrets/OK_NAME")[0], 204)

    def test_machines_get_them_as_environment(self):
        value = fresh_value("env") + " with 'quotes' and $dollars\n2nd line"
        self.assertIn(self.put("MACHINE_TOKEN", value)[0], (200, 201))
        self.assertIn(self.put("SECOND", "two")[0], (200, 201))
        m = self.create(secrets=["MACHINE_TOKEN", "SECOND"], env={"PLAIN": "p"})
        self.assertEqual(m["secrets"], ["MACHINE_TOKEN", "SECOND"])
        self.assertEqual(self.printenv(m["id"], "MACHINE_TOKEN"), value + "\n")
        self.assertEqual(self.printenv(m["id"], "SECOND"), "two\n")
        self.assertEqual(self.printenv(m["id"], "PLAIN"), "p\n")
        st, view = self.req("GET", "/v1/machines/" + m["id"])
        self.assertEqual(view["secrets"], ["MACHINE_TOKEN", "SECOND"])
        self.assertNotIn(value.split()[0], json.dumps(view))
        # a machine spawned from a snapshot gets them through its new identity
        plain = self.create()
        st, snap = self.req("POST", "/v1/machines/%s/snapshots" % plain["id"], {})
        self.assertEqual(st, 201, snap)
        self.addCleanup(self.req, "DELETE", "/v1/snapshots/" + snap["id"])
        k = self.create(snapshot=snap["id"], secrets=["MACHINE_TOKEN"])
        self.assertEqual(self.printenv(k["id"], "MACHINE_TOKEN"), value + "\n")
        # a secret deleted later stays with the machines that have it
        self.assertEqual(self.req("DELETE", "/v1/secrets/SECOND")[0], 204)
        self.assertEqual(self.printenv(m["id"], "SECOND"), "two\n")
        self.assert_nowhere(value.split()[0])

    def test_a_create_naming_a_bad_secret_is_refused(self):
        self.assertIn(self.put("EXISTS", "e")[0], (200, 201))
        cases = [
            ({"secrets": ["MISSING"]}, 404, "secret_not_found"),
            ({"secrets": "EXISTS"}, 400, "invalid_field"),
            ({"secrets": [3]}, 400, "invalid_field"),
            ({"secrets": ["bad-name"]}, 400, "invalid_field"),
            ({"secrets": ["EXISTS"] * 65}, 400, "invalid_field"),
            ({"secrets": ["EXISTS"], "env": {"EXISTS": "x"}}, 400, "invalid_field"),
        ]
        for body, status, code in cases:
            st, doc = self.req("POST", "/v1/machines", body)
            self.assertEqual((st, error_code(doc)), (status, code), body)
        st, ms = self.req("GET", "/v1/machines")
        self.assertEqual(ms["machines"], [], "nothing was made")

    def test_cli(self):
        value = fresh_value("cli")
        r = self.d.cli("secrets", "set", "CLI_TOKEN", input=value + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(value, r.stdout + r.stderr)
        r = self.d.cli("--json", "secrets", "list")
        self.assertIn("CLI_TOKEN", [s["name"] for s in json.loads(r.stdout)["secrets"]])
        r = self.d.cli("--json", "machines", "create", "--secret", "CLI_TOKEN")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = json.loads(r.stdout)
        self.addCleanup(self.req, "DELETE", "/v1/machines/" + m["id"])
        self.assertEqual(m["secrets"], ["CLI_TOKEN"])
        r = self.d.cli("machines", "exec", m["id"], "--", "printenv", "CLI_TOKEN")
        self.assertEqual(r.stdout, value + "\n", "one trailing newline of stdin is dropped")
        r = self.d.cli("secrets", "set", "bad-name", "--value", "x")
        self.assertEqual(r.returncode, 2, "a bad name is a usage error")
        r = self.d.cli("secrets", "get", "CLI_TOKEN")
        self.assertEqual((r.returncode, r.stdout.split()[0]), (0, "CLI_TOKEN"))
        r = self.d.cli("secrets", "delete", "CLI_TOKEN")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "deleted CLI_TOKEN"))
        r = self.d.cli("secrets", "get", "CLI_TOKEN")
        self.assertEqual(r.returncode, 6, "secret_not_found's exit status")
        r = self.d.cli("machines", "create", "--secret", "CLI_TOKEN")
        self.assertEqual(r.returncode, 6, r.stderr)
        self.assertIn("secret_not_found", r.stderr)

    def test_python_sdk(self):
        value = fresh_value("py")
        c = nullspace.Client(api_url=self.d.url, api_key=self.d.key)
        s = nullspace.Secret.set("PY_TOKEN", value, client=c)
        self.assertEqual(s.name, "PY_TOKEN")
        self.assertNotIn(value, json.dumps(s.info))
        self.assertIn("PY_TOKEN", [x.name for x in nullspace.Secret.list(client=c)])
        m = nullspace.Machine.create(client=c, secrets=["PY_TOKEN"])
        try:
            self.assertEqual(m.commands.run("printenv PY_TOKEN").stdout, value + "\n")
        finally:
            m.kill()
        nullspace.Secret.get("PY_TOKEN", client=c).delete()
        with self.assertRaises(nullspace.errors.SecretNotFoundError):
            nullspace.Secret.get("PY_TOKEN", client=c)

    def test_typescript_sdk(self):
        value = fresh_value("ts")
        r = run_bounded(["node", os.path.join(HERE, "secrets_sdk.mjs"), value], 120,
                        env=self.d.client_env())
        self.assertEqual(r.returncode, 0, r.stderr + self.d.read_log()[-3000:])
        out = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual(out, {"set": ["TS_TOKEN", "number", False], "listed": True,
                               "got": "TS_TOKEN", "secrets": ["TS_TOKEN"],
                               "env": value + "\n", "deleted": True,
                               "refused": "secret_not_found"})

    def test_z_kept_across_a_restart(self):
        value = fresh_value("restart")
        self.assertIn(self.put("KEPT", value)[0], (200, 201))
        self.d.stop()
        self.d.start()
        m = self.create(secrets=["KEPT"])
        self.assertEqual(self.printenv(m["id"], "KEPT"), value + "\n")
        self.assert_nowhere(value)


if __name__ == "__main__":
    unittest.main()
