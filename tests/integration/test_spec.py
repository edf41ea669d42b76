"""The contract stays true: the OpenAPI spec lists exactly the routes the router serves,
and the error catalogue, the spec and the docs agree."""

import json
import os
import re
import subprocess
import unittest

import yaml

from harness import DAEMON, SOURCE

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def spec():
    with open(os.path.join(SOURCE, "specs/openapi.yaml")) as f:
        return yaml.safe_load(f)


def catalogue():
    return json.loads(subprocess.check_output([DAEMON, "--print-errors"]))


class Contract(unittest.TestCase):
    def test_spec_is_openapi_3_1(self):
        self.assertEqual(spec()["openapi"], "3.1.0")

    def test_redocly_recommended_rules_pass(self):
        """Redocly CLI (tests/spec, pinned; installed by scripts/test.sh) with its
        recommended rules: no error and no warning but the reasoned ignores."""
        lint = os.path.join(SOURCE, "tests", "spec")
        self.assertTrue(os.path.isdir(os.path.join(lint, "node_modules")),
                        "run scripts/test.sh (it installs tests/spec with npm ci)")
        r = subprocess.run(["npx", "--no-install", "redocly", "lint", "--format=stylish",
                            "../../specs/openapi.yaml"], cwd=lint, capture_output=True,
                           text=True, timeout=120)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out)
        self.assertIn("Your API description is valid", out)
        self.assertNotIn("warning", out.split("validating")[-1], out)

    def test_router_and_spec_list_the_same_routes(self):
        served = set(tuple(l.split(" ", 1)) for l in
                     subprocess.check_output([DAEMON, "--print-routes"], text=True).splitlines())
        documented = {(m.upper(), p) for p, item in spec()["paths"].items()
                      for m in item if m in METHODS}
        self.assertEqual(served - documented, set(), "routes missing from specs/openapi.yaml")
        self.assertEqual(documented - served, set(), "spec routes the daemon does not serve")

    def test_every_operation_has_an_id_and_responses(self):
        ids = []
        for p, item in spec()["paths"].items():
            for m, op in item.items():
                if m in METHODS:
                    self.assertIn("operationId", op, (m, p))
                    self.assertTrue(op.get("responses"), (m, p))
                    ids.append(op["operationId"])
        self.assertEqual(len(ids), len(set(ids)))

    def test_error_code_enum_matches_the_catalogue(self):
        daemon_codes = [e["code"] for e in catalogue() if e["http_status"]]
        enum = spec()["components"]["schemas"]["ErrorCode"]["enum"]
        self.assertEqual(sorted(enum), sorted(daemon_codes))

    def test_errors_doc_lists_every_code_with_status_and_exit(self):
        with open(os.path.join(SOURCE, "docs/errors.md")) as f:
            doc = f.read()
        for e in catalogue():
            row = re.search(r"^\| `%s` \| (\S+) \| (\d+) \|" % e["code"], doc, re.M)
            self.assertIsNotNone(row, e["code"])
            self.assertEqual(row.group(1), str(e["http_status"]) if e["http_status"] else "—")
            self.assertEqual(int(row.group(2)), e["exit_code"])

    def test_cli_exit_code_doc_matches_the_catalogue(self):
        doc = open(os.path.join(SOURCE, "docs/cli-exit-codes.md")).read()
        rows = {}
        for line in doc.splitlines():
            m = re.match(r"^\| (\d+) \|[^|]*\|(.*)\|$", line)
            if m:
                for code in re.findall(r"`(\w+)`", m.group(2)):
                    rows[code] = int(m.group(1))
        for e in catalogue():
            self.assertEqual(rows.get(e["code"]), e["exit_code"], e["code"])


if __name__ == "__main__":
    unittest.main()
