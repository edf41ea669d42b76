"""An interrupt that reaches an interpreter before it has begun the run is lost: while
idle it ignores SIGINT (ipykernel, our workers). InterruptGate holds such an interrupt
until the interpreter says the run has begun, then delivers it; one that comes while no
run is handed over is dropped, so it never reaches the next run.

  idle --start()--> handed --begin()--> begun --end()--> idle
"""

import threading


class InterruptGate:
    def __init__(self):
        self.lock = threading.Lock()
        self.state = "idle"
        self.pending = False

    @property
    def busy(self):
        """A run is handed over or under way (an interrupt now reaches it)."""
        return self.state != "idle"

    def start(self):
        """A run is being handed over (again: no change)."""
        with self.lock:
            if self.state == "idle":
                self.state, self.pending = "handed", False

    def request(self, deliver):
        """Interrupts now (deliver()) when the run has begun, once it begins when it is
        being handed over; nothing when idle."""
        with self.lock:
            if self.state == "handed":
                self.pending = True
            if self.state != "begun":
                return
        deliver()

    def begin(self, deliver):
        """The interpreter has begun the run: delivers an interrupt that waited."""
        with self.lock:
            self.state = "begun"
            pending, self.pending = self.pending, False
        if pending:
            deliver()

    def end(self):
        with self.lock:
            self.state, self.pending = "idle", False
