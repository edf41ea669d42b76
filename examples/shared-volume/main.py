"""One persistent volume in two machines: one writes, one reads (read-only)."""
from nullspace import Machine, Volume

vol = Volume.create("example-shared", size_mb=128)
machines = []
try:
    writer = Machine.create(volumes=[vol.mount("/data")], timeout_s=600)
    machines.append(writer)
    reader = Machine.create(volumes=[vol.mount("/data", read_only=True)], timeout_s=600)
    machines.append(reader)
    writer.commands.run("seq 1 100 > /data/numbers.txt")
    total = reader.commands.run("awk '{s+=$1} END {print s}' /data/numbers.txt").stdout.strip()
    print("the reader sums what the writer wrote:", total)
    assert total == "5050"
    denied = reader.commands.run("touch /data/nope")
    print("the reader cannot write:", denied.stderr.strip())
    assert denied.exit_code != 0
    for m in machines:
        m.kill()
    machines = []
    print("after both are gone the file is still there:",
          vol.files.read("/numbers.txt").count("\n"), "lines")
finally:
    for m in machines:
        m.kill()
    vol.delete()
