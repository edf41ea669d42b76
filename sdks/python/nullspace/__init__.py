"""The Nullspace Python SDK: standard library only.

    from nullspace import Machine
    m = Machine.create()                      # NULLSPACE_API_URL / NULLSPACE_API_KEY
    r = m.commands.run("echo hi")             # r.stdout == "hi\\n", r.exit_code == 0
    m.files.write("/root/a.txt", "data")
    # machines from the code-interpreter template also run code in stateful contexts:
    # Machine.create(template="code-interpreter").code.run("1 + 1").text == "2"
    # and machines from the desktop template have a screen, mouse and keyboard:
    # Machine.create(template="desktop").desktop.screenshot() -> PNG bytes
    m.kill()

Errors raise subclasses of NullspaceError named after the stable codes
(MachineNotFoundError for machine_not_found, ...)."""

from .client import Client
from .code import Artifact, CodeRun, Context, Execution, ExecutionError, Result
from .deployment import Deployment, Run
from .desktop import Desktop
from .errors import NullspaceError, error_for
from .machine import CommandHandle, CommandResult, Machine, PtyHandle, Snapshot, WatchHandle
from .observe import (Webhook, WebhookVerificationError, follow_events, list_events, monitor,
                      verify_webhook)
from .secret import Secret
from .template import BuildFailedError, Template
from .volume import Volume
from .websocket import Streams

__version__ = "0.1.0"

__all__ = ["Artifact", "BuildFailedError", "Client", "CodeRun", "CommandHandle", "CommandResult", "Context",
           "Deployment", "Desktop", "Execution", "ExecutionError", "Machine", "Result",
           "NullspaceError", "PtyHandle", "Run", "Secret", "Snapshot", "Streams", "Template", "Volume",
           "WatchHandle", "Webhook", "WebhookVerificationError", "error_for", "follow_events",
           "list_events", "monitor", "verify_webhook"]
