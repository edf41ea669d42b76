"""Where the daemon is and which key to use, with the CLI's precedence: explicit
arguments > NULLSPACE_API_URL / NULLSPACE_API_KEY > the config file (NULLSPACE_CONFIG,
else $XDG_CONFIG_HOME/nullspace/config or ~/.config/nullspace/config, `key = value`
lines) > defaults (http://127.0.0.1:7700, and the local daemon's key file
$NULLSPACE_STATE_DIR/api-key or /var/lib/nullspace/api-key when readable)."""

import os

DEFAULT_URL = "http://127.0.0.1:7700"


def parse_config(text, path="config"):
    """The config file's grammar, the CLI's and the TypeScript SDK's too
    (docs/configuration.md): `key = value` lines, blanks around both trimmed; a line whose
    first non-blank character is '#' is a comment ('#' anywhere else belongs to the
    value); a value in matching quotes loses them; a later line wins; unknown keys are
    kept but unused; any other line raises ValueError naming PATH:LINE."""
    out = {}
    for n, line in enumerate(text.split("\n"), 1):
        line = line.strip(" \t\r\n")
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ValueError("%s:%d: expected key = value" % (path, n))
        k, v = (x.strip(" \t") for x in line.split("=", 1))
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        out[k] = v
    return out


def _config_file():
    path = os.environ.get("NULLSPACE_CONFIG")
    if not path:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"),
                                                                 ".config")
        path = os.path.join(base, "nullspace", "config")
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return {}
    return parse_config(text, path)


def _state_key():
    d = os.environ.get("NULLSPACE_STATE_DIR") or "/var/lib/nullspace"
    try:
        with open(os.path.join(d, "api-key")) as f:
            return f.readline().strip() or None
    except OSError:
        return None


def resolve(api_url=None, api_key=None):
    """(api_url without a trailing slash, api_key or None)."""
    cfg = None
    if not api_url:
        api_url = os.environ.get("NULLSPACE_API_URL")
    if not api_key:
        api_key = os.environ.get("NULLSPACE_API_KEY")
    if not api_url or not api_key:
        cfg = _config_file()
        api_url = api_url or cfg.get("api_url")
        api_key = api_key or cfg.get("api_key")
    return (api_url or DEFAULT_URL).rstrip("/"), api_key or _state_key()
