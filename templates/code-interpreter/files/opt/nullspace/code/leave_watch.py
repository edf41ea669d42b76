"""Notices a client that leaves while its unstreamed run waits for its turn or runs: a
streamed run finds out when its next line cannot be sent, an unstreamed one has nothing
to send until it ends. The client's socket is polled; once it reads as closed, the run
is dropped if it has not started, or interrupted if it runs (only this run: another
run of the context is never touched)."""

import select
import socket
import threading

POLL_S = 0.5


class LeaveWatch:
    def __init__(self, sock, ctx):
        self.sock, self.ctx = sock, ctx
        self.lock = threading.Lock()
        self.active = False  # our run is the context's run now
        self.gone = False
        self.done = threading.Event()

    def run(self, code, env, timeout_s, emit):
        """ctx.run(), watching the client meanwhile."""
        threading.Thread(target=self._watch, daemon=True, name="leave-watch").start()

        def body():
            with self.lock:
                if self.gone:
                    return {"execution_count": None, "error": None, "client_gone": True}
                self.active = True
            try:
                return self.ctx.run_turn(code, env, timeout_s, emit)
            finally:
                with self.lock:
                    self.active = False

        try:
            summary = self.ctx.turn(body)
        finally:
            self.done.set()
        return dict(summary, client_gone=True) if self.gone else summary

    def _watch(self):
        while not self.done.wait(POLL_S):
            if self._left():
                with self.lock:
                    self.gone = True
                    if self.active:
                        self.ctx.kernel.interrupt()
                return

    def _left(self):
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
            if not readable:
                return False
            return self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True
