"""Branch a running machine: the child starts with the parent's files and processes,
then the two diverge."""
from nullspace import Machine

parent = Machine.create(timeout_s=600)
machines = [parent]
try:
    parent.files.write("/root/story.txt", "once upon a time\n")
    counter = parent.commands.run("sh -c 'i=0; while true; do i=$((i+1)); echo $i > /root/n; sleep 0.1; done'",
                                  background=True)
    child, = parent.fork(count=1)
    machines.append(child)
    print("forked", parent.id, "->", child.id)
    # the child has the parent's file and its counter is still counting
    assert child.files.read("/root/story.txt") == "once upon a time\n"
    n1 = int(child.files.read("/root/n"))
    child.commands.run("sleep 0.5")
    assert int(child.files.read("/root/n")) > n1, "the copied process runs on in the child"
    # now they diverge
    parent.files.write("/root/story.txt", "the parent's ending\n")
    child.files.write("/root/story.txt", "the child's ending\n")
    print("parent:", parent.files.read("/root/story.txt").strip())
    print("child: ", child.files.read("/root/story.txt").strip())
    assert parent.files.read("/root/story.txt") != child.files.read("/root/story.txt")
finally:
    for m in machines:
        m.kill()
