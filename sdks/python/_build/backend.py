"""A PEP 517 build backend with no requirements: builds the `nullspace` wheel (pure
Python, the package directory as it is) and an sdist with the standard library, so the
SDK installs without a network."""

import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME, VERSION = "nullspace", "0.1.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST = "%s-%s" % (NAME, VERSION)
METADATA = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
            "Summary: Python SDK for Nullspace machines (standard library only)\n"
            "Requires-Python: >=3.9\n" % (NAME, VERSION))
WHEEL = "Wheel-Version: 1.0\nGenerator: nullspace-backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _files():
    pkg = os.path.join(ROOT, NAME)
    for base, dirs, names in os.walk(pkg):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for n in sorted(names):
            if n.endswith(".py"):
                full = os.path.join(base, n)
                yield full, os.path.relpath(full, ROOT).replace(os.sep, "/")


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "%s-py3-none-any.whl" % DIST
    info = "%s.dist-info" % DIST
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        entries = [(arc, open(full, "rb").read()) for full, arc in _files()]
        entries += [(info + "/METADATA", METADATA.encode()), (info + "/WHEEL", WHEEL.encode())]
        for arc, data in entries:
            z.writestr(arc, data)
            record.append(_record_line(arc, data))
        record.append(info + "/RECORD,,")
        z.writestr(info + "/RECORD", "\n".join(record) + "\n")
    return name


def build_sdist(sdist_directory, config_settings=None):
    name = DIST + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        extra = ["pyproject.toml", "README.md", "_build/backend.py"]
        for full, arc in list(_files()) + [(os.path.join(ROOT, e), e) for e in extra]:
            t.add(full, arcname=DIST + "/" + arc)
        data = METADATA.encode()
        ti = tarfile.TarInfo(DIST + "/PKG-INFO")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return name
