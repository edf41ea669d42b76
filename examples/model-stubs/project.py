"""What the agent examples deploy: a copy of their app/ directory, with the model's key
as a secret when it is in the environment, or else with this directory's stub model
added (as model_stub.mjs or model_stub.py) and MODEL_STUB=1 set, so the agent starts it
in its own process."""

import contextlib
import os
import shutil
import tempfile

from nullspace import Secret

HERE = os.path.dirname(os.path.abspath(__file__))


@contextlib.contextmanager
def agent_project(example_dir, stub, key_name):
    """Yields (project directory, env to add, secrets to name) for example_dir/app;
    stub is the file of this directory the agent imports without a key."""
    with tempfile.TemporaryDirectory() as tmp:
        project = shutil.copytree(os.path.join(example_dir, "app"), os.path.join(tmp, "app"))
        key = os.environ.get(key_name)
        if key:
            Secret.set(key_name, key)
            yield project, {}, [key_name]
            return
        shutil.copy(os.path.join(HERE, stub),
                    os.path.join(project, "model_stub" + os.path.splitext(stub)[1]))
        yield project, {"MODEL_STUB": "1"}, None
