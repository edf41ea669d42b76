"""The upgrade contract (docs/operations.md): today's daemon opens a state directory an
earlier schema wrote (a fixture: tests/fixtures/state-schema-v2.sql), migrating it in
place and keeping its keys, machines and events; it refuses a database a newer build
wrote, saying so, and touches nothing. (Machines running across an upgrade are adopted
like across any restart: test_machines.Restart.)"""

import os
import shutil
import sqlite3
import tempfile
import time
import unittest

from harness import SOURCE, Daemon

FIXTURE = os.path.join(SOURCE, "tests", "fixtures", "state-schema-v2.sql")
KEY = "fixture-key-schema-v2-0123456789"


def state_from_fixture():
    d = tempfile.mkdtemp(prefix="ns-it-upgrade-")
    with open(FIXTURE) as f:
        db = sqlite3.connect(os.path.join(d, "nullspace.db"))
        db.executescript(f.read())
        db.close()
    return d


class Upgrade(unittest.TestCase):
    def test_a_state_dir_of_schema_2_is_migrated_and_kept(self):
        state = state_from_fixture()
        # the fixture's events are older than the default retention: kept for this check
        d = Daemon(["--events-retention-days", "0"], state_dir=state,
                   env={"NULLSPACE_API_KEY": KEY})
        try:
            d.start()
            st, _, info = d.request("GET", "/v1/info", key=KEY)
            self.assertEqual(st, 200, info)  # the old key still works
            self.assertEqual(info["schema_version"], 7)
            st, _, m = d.request("GET", "/v1/machines/m_00000000fixture1", key=KEY)
            self.assertEqual((st, m["state"], m["metadata"], m["checkout"]),
                             (200, "destroyed", {"owner": "v2"}, "fresh"), m)
            st, _, ev = d.request("GET", "/v1/machines/m_00000000fixture1/events", key=KEY)
            # migration 5 typed the old machine.state events and gave them IDs
            self.assertEqual([(e["type"], e["data"]["state"], e["reason"]) for e in ev["events"]],
                             [("machine.creating", "creating", "system"),
                              ("machine.running", "running", "system"),
                              ("machine.destroyed", "destroyed", "system")])
            self.assertEqual(len({e["id"] for e in ev["events"]}), 3)
            st, _, t = d.request("GET", "/v1/templates", key=KEY)  # migration 3's tables
            self.assertEqual(st, 200, t)
            st, _, v = d.request("POST", "/v1/volumes", {"name": "after", "size_mb": 16},
                                 key=KEY)  # migration 4's columns
            self.assertEqual((st, v.get("state")), (201, "ready"), v)
            self.assertEqual(d.request("DELETE", "/v1/volumes/after", key=KEY)[0], 204)
            st, _, s = d.request("PUT", "/v1/secrets/AFTER", {"value": "v"},
                                 key=KEY)  # migration 6's table
            self.assertEqual((st, s.get("name")), (201, "AFTER"), s)
            st, _, dl = d.request("GET", "/v1/deployments", key=KEY)  # migration 7's tables
            self.assertEqual((st, dl.get("deployments")), (200, []), dl)
            st, _, new = d.request("POST", "/v1/machines", key=KEY)
            self.assertEqual((st, new["state"]), (201, "running"), new)
            self.assertEqual(d.request("DELETE", "/v1/machines/" + new["id"], key=KEY)[0], 200)
            self.assertEqual(d.stop(), 0)
            d.args = []  # the default retention (30 days) prunes them at start-up
            d.start()
            st, _, ev = d.request("GET", "/v1/machines/m_00000000fixture1/events", key=KEY)
            self.assertEqual((st, ev["events"]), (200, []))
            st, _, ev = d.request("GET", "/v1/machines/%s/events" % new["id"], key=KEY)
            self.assertEqual(len(ev["events"]), 4, "recent events stay")
            self.assertEqual(d.stop(), 0)
        finally:
            d.kill()
            d.sweep_machines()
            shutil.rmtree(state, ignore_errors=True)

    def test_a_database_from_a_newer_build_is_refused_untouched(self):
        state = state_from_fixture()
        db = os.path.join(state, "nullspace.db")
        c = sqlite3.connect(db)
        c.execute("PRAGMA user_version = 99")
        c.commit()
        c.close()
        with open(db, "rb") as f:
            before = f.read()
        d = Daemon(state_dir=state)
        try:
            with self.assertRaises(RuntimeError) as e:
                d.start()
            self.assertIn("database schema version 99 is newer than this build knows (7)",
                          str(e.exception))
            deadline = time.time() + 5
            while d.proc.poll() is None and time.time() < deadline:
                time.sleep(0.05)
            self.assertNotEqual(d.proc.returncode, 0)
            with open(db, "rb") as f:
                self.assertEqual(f.read(), before)
        finally:
            d.kill()
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
