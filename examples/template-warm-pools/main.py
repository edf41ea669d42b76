"""Keep machines of a template ready, and create with explicit checkout modes."""
import time

from nullspace import Machine, NullspaceError, Template

name = "example-pool:v1"
Template.build(name, steps=[{"op": "run", "cmd": "echo ready > /etc/pool-example"}])
machines = []
try:
    Template.set_pool(name, 2)
    deadline = time.time() + 120
    while Template.get(name).get("pool", {}).get("ready", 0) < 2 and time.time() < deadline:
        time.sleep(0.5)
    print("pool:", Template.get(name)["pool"])
    m = Machine.create(template=name, pool="require", timeout_s=600)
    machines.append(m)
    print("pool=require ->", m.info["checkout"])
    assert m.info["checkout"] == "pool"
    f = Machine.create(template=name, pool="skip", timeout_s=600)
    machines.append(f)
    print("pool=skip    ->", f.info["checkout"])
    assert f.info["checkout"] == "fresh"
    assert m.commands.run("cat /etc/pool-example").stdout == "ready\n"
    Template.set_pool(name, 0)
    try:
        Machine.create(template=name, pool="require")
        raise SystemExit("an empty pool should refuse pool=require")
    except NullspaceError as e:
        print("empty pool, pool=require ->", e.code)
        assert e.code == "pool_empty"
finally:
    for x in machines:
        x.kill()
    Template.set_pool(name, 0)
    Template.delete(name)
