"""Starts ipykernel with its one TCP socket moved to a Unix socket.

ipykernel collects the output of forked subprocesses over a ZeroMQ pipe bound to
127.0.0.1; a listening TCP socket watched by epoll keeps gVisor from checkpointing
the machine (hibernate, fork, snapshots), so the pipe binds to a Unix socket beside
the kernel's own (the connection file's ipc prefix) instead.
"""

import os
import sys

import zmq
from ipykernel import iostream
from zmq.eventloop.zmqstream import ZMQStream


def _pipe_address():
    base = os.environ.get("NSCODE_KERNEL_IPC") or "/tmp/nscode-kernel-%d" % os.getpid()
    return "ipc://%s-iopub-pipe" % base


def _setup_pipe_in(self):
    pipe_in = self.socket.context.socket(zmq.PULL)
    pipe_in.linger = 0
    self._pipe_uuid = os.urandom(16)
    self._pipe_addr = _pipe_address()
    try:
        pipe_in.bind(self._pipe_addr)
    except zmq.ZMQError as e:
        print("the IOPub pipe could not bind (%s): subprocess output is lost" % e, file=sys.__stderr__)
        self._pipe_flag = False
        pipe_in.close()
        return
    self._pipe_in = ZMQStream(pipe_in, self.io_loop)
    self._pipe_in.on_recv(self._handle_pipe_msg)


def _setup_pipe_out(self):
    ctx = zmq.Context()
    pipe_out = ctx.socket(zmq.PUSH)
    pipe_out.linger = 3000
    pipe_out.connect(self._pipe_addr)
    return ctx, pipe_out


iostream.IOPubThread._setup_pipe_in = _setup_pipe_in
iostream.IOPubThread._setup_pipe_out = _setup_pipe_out

if __name__ == "__main__":
    sys.path.pop(0)  # this file's directory: the user's imports never see our modules
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
