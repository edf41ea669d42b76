"""Notices a client that leaves while its unstreamed run waits for its turn or runs: a
streamed run finds out when its next line cannot be sent, an unstreamed one has nothing
to send until it ends. So the output of an unstreamed run passes through LeaveWatch,
which looks at the client's socket at most every POLL_S as output (or a keep-alive, every
few seconds of silence) comes, and when the run's turn comes: once the socket reads as
closed, emit raises OSError as a stream's would, and the kernel interrupts the run; a
run whose client left while it waited never starts. No thread of its own: a poller
thread per run slowed large answers (the machine's scheduler)."""

import select
import socket
import time

POLL_S = 0.5


def client_left(sock):
    """Whether the peer of sock has closed (it reads as end of file)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


class LeaveWatch:
    def __init__(self, sock, ctx, emit):
        self.sock, self.ctx, self.emit = sock, ctx, emit
        self.next = time.monotonic() + POLL_S
        self.gone = False

    def __call__(self, obj):
        now = time.monotonic()
        if not self.gone and now >= self.next:
            self.next = now + POLL_S
            self.gone = client_left(self.sock)
        if self.gone:
            raise OSError("the client left")
        self.emit(obj)

    def run(self, code, env, timeout_s):
        """ctx.run() with output through this watch; the summary says client_gone."""

        def body():
            if client_left(self.sock):
                self.gone = True
                return {"execution_count": None, "error": None, "client_gone": True}
            return self.ctx.run_turn(code, env, timeout_s, self)

        summary = self.ctx.turn(body)
        return dict(summary, client_gone=True) if self.gone else summary
