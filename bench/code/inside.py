"""Run inside a code-interpreter machine by bench/code/run.py (through exec): the raw
primitives the API wraps, timed where they run. Prints one JSON line.

    python3 inside.py ROUNDS CODE_FILE
- kernel: the execute sent straight to the default Python context's kernel (ZeroMQ, its
  connection file), waited for until the kernel is idle again;
- server: the same code POSTed to nscode on 127.0.0.1:49999 (what the daemon forwards to)."""

import http.client
import json
import sys
import time

from jupyter_client import BlockingKernelClient


def connection_file():
    return "/run/nscode/contexts/default-python/connection.json"


def kernel_round(kc, code):
    t0 = time.monotonic()
    msg_id = kc.execute(code, store_history=False)
    got = 0
    while True:
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] in ("execute_result", "display_data"):
            got += 1
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    assert got, "no result"
    return (time.monotonic() - t0) * 1000


def server_round(code):
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", 49999, timeout=60)
    c.request("POST", "/run", body=json.dumps({"code": code}),
              headers={"Content-Type": "application/json", "Connection": "close"})
    r = c.getresponse()
    doc = json.loads(r.read())
    c.close()
    assert r.status == 200 and doc["results"], doc
    return (time.monotonic() - t0) * 1000


def main():
    rounds, code = int(sys.argv[1]), open(sys.argv[2]).read()
    kc = BlockingKernelClient(connection_file=connection_file())
    kc.load_connection_file()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    kernel_round(kc, code)
    server_round(code)
    out = {"kernel": [], "server": []}
    for _ in range(rounds):
        out["kernel"].append(kernel_round(kc, code))
        out["server"].append(server_round(code))
    kc.stop_channels()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
