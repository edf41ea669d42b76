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


    def test_sdk_error_classes_are_generated_from_the_catalogue(self):
        """Both SDKs' error classes come from `nullspaced --print-errors`: a code added to
        the daemon fails here until scripts/gen-sdk-errors.py is run again."""
        r = subprocess.run([os.path.join(SOURCE, "scripts", "gen-sdk-errors.py"), "--check",
                            DAEMON], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


def schema_props(doc, schema):
    """Property names of a schema (following $ref, allOf and a oneOf with null)."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", []) + schema.get("oneOf", []):
        names |= schema_props(doc, part)
    return names


def ts_interface(name):
    """Property names of `export interface NAME` in the TypeScript SDK's index.d.ts."""
    with open(os.path.join(SOURCE, "sdks/typescript/src/index.d.ts")) as f:
        text = f.read()
    body = re.search(r"^export interface %s\b[^{]*\{(.*?)^\}" % name, text, re.M | re.S)
    assert body, name
    return set(re.findall(r"^  (\w+)\??:", body.group(1), re.M))


# TypeScript SDK types and the spec schemas they mirror. Keys only the SDK has (client
# options, callbacks, values it derives) are listed; everything else must match.
CLIENT_OPTIONS = {"apiUrl", "apiKey", "timeoutMs", "waitTimeoutMs", "client"}
TS_TYPES = [
    ("CreateOptions", ("/v1/machines", "post", "request"), CLIENT_OPTIONS, set()),
    ("MachineInfo", ("Machine",), set(), set()),
    ("NetworkPolicy", ("NetworkPolicy",), set(), set()),
    ("VolumeMount", ("VolumeMount",), set(), set()),
    ("VolumeInfo", ("Volume",), set(), set()),
    ("Preview", ("/v1/machines/{id}/previews", "post", "201"), set(), set()),
    ("Event", ("Event",), set(), set()),
    ("UsagePoint", ("UsagePoint",), set(), set()),
    ("WebhookInfo", ("Webhook",), set(), set()),
    ("Delivery", ("Delivery",), set(), set()),
    ("CodeContext", ("CodeContext",), set(), set()),
    ("ExecutionError", ("CodeError",), set(), set()),
    ("CodeArtifact", ("CodeArtifact",), {"mimeType"}, {"mime_type"}),
    # callbacks shape the call; context is a context or its ID; stream is set by them
    ("RunCodeOptions", ("/v1/machines/{id}/code/run", "post", "request"),
     {"onStdout", "onStderr", "onResult", "onError", "timeoutS"}, {"code", "stream", "timeout_s"}),
    # name is build()'s first argument; context (a directory or tar bytes) is uploaded
    # and sent as context_id; onLog and wait shape the call
    ("BuildOptions", ("/v1/templates/builds", "post", "request"),
     CLIENT_OPTIONS | {"context", "onLog", "wait"}, {"name", "context_id"}),
]


class TypeScriptTypes(unittest.TestCase):
    def schema(self, doc, where):
        if len(where) == 1:
            return doc["components"]["schemas"][where[0]]
        path, method, part = where
        op = doc["paths"][path][method]
        if part == "request":
            return op["requestBody"]["content"]["application/json"]["schema"]
        return op["responses"][part]["content"]["application/json"]["schema"]

    def test_sdk_types_match_the_spec(self):
        doc = spec()
        for ts, where, sdk_only, spec_only in TS_TYPES:
            want = schema_props(doc, self.schema(doc, where)) - spec_only
            have = ts_interface(ts) - sdk_only
            self.assertEqual(sorted(have), sorted(want), "%s vs %s" % (ts, "/".join(where)))

    def test_declarations_type_check(self):
        """tsc --strict (tests/spec, pinned) compiles a file written against the SDK's
        declarations: they are valid and export what users import."""
        lint = os.path.join(SOURCE, "tests", "spec")
        r = subprocess.run(["npx", "--no-install", "tsc", "--noEmit", "--strict", "--module",
                            "esnext", "--moduleResolution", "bundler", "--target", "es2022",
                            "sdk-types.ts"], cwd=lint, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_build_log_lines_match_the_spec(self):
        doc = spec()
        logs = self.schema(doc, ("/v1/templates/builds/{id}/logs", "get", "200"))
        self.assertEqual(sorted(ts_interface("BuildLogLine")),
                         sorted(logs["properties"]["logs"]["items"]["properties"]))


if __name__ == "__main__":
    unittest.main()
