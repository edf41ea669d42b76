#!/usr/bin/env python3
"""Regenerates docs/errors.md from the daemon's catalogue (nullspaced --print-errors).
Usage: scripts/gen-errors-md.py [BUILD_DIR]"""
import json
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build")
errs = json.loads(subprocess.check_output([os.path.join(build, "nullspaced"), "--print-errors"]))
out = [
    "# Error codes", "",
    "Every error the API returns has the body", "", "```json",
    '{"error":{"code":"key_not_found","message":"no API key with ID \'key_x\'",'
    '"request_id":"req_ae7dc54f000000000002"}}', "```", "",
    "`code` is stable: it is never renamed or reused, and clients branch on it (the SDKs "
    "raise one exception type per code; the CLI exits with the code's exit status). "
    "`message` is for people and may change. `request_id` finds the request in the daemon's "
    "log (`request_id=...`).", "",
    "The catalogue lives in `src/common/errcodes.c`; `nullspaced --print-errors` prints it as "
    "JSON, `scripts/gen-errors-md.py` regenerates this page, and a test keeps the two in step.",
    "", "| code | HTTP | CLI exit | meaning |", "|---|---|---|---|"]
for e in errs:
    out.append("| `%s` | %s | %d | %s |" % (e["code"], e["http_status"] or "—", e["exit_code"],
                                          e["meaning"]))
out += ["", "Codes with HTTP `—` come from the clients only (the CLI and SDKs), never from "
        "the daemon.", ""]
open(os.path.join(root, "docs/errors.md"), "w").write("\n".join(out))
