"""Java contexts: JShell in a JVM of their own (java/nullspace/Worker.java, compiled
when the template is built; Debian's openjdk-17-jdk-headless). A run and its
environment go to the worker as one JSON line on its request pipe."""

import os

from worker_kernel import WorkerKernel

CLASSES = os.environ.get("NSCODE_JAVA_CLASSES") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "java", "classes")


class JavaKernel(WorkerKernel):
    noun = "JVM"

    def argv(self):
        # C1 only and the serial collector: a context starts and answers sooner, and a
        # JVM per context stays small
        # (--add-opens: the worker puts a run's environment into the JVM's own table)
        return ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "--add-opens", "java.base/java.util=ALL-UNNAMED", "-cp", CLASSES, "nullspace.Worker"]

    def send(self, code, env):
        self.write_request({"code": code, "env": env})
