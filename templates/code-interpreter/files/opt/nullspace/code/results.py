"""The shapes a run's output takes on the wire (one JSON object per line):
stdout/stderr chunks, results (a MIME bundle under short names), the error, the
execution count, keep-alives and the end."""

import datetime

# MIME type -> the result's field; anything else goes under "extra"
FIELDS = {
    "text/plain": "text",
    "text/html": "html",
    "text/markdown": "markdown",
    "image/svg+xml": "svg",
    "image/png": "png",
    "image/jpeg": "jpeg",
    "application/pdf": "pdf",
    "text/latex": "latex",
    "application/json": "json",
    "application/javascript": "javascript",
    "application/vnd.nullspace.chart+json": "chart",
    "application/vnd.nullspace.data+json": "data",
}
BINARY = ("png", "jpeg", "pdf")  # base64, sent as one line (IPython's ends in a newline)


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def result(bundle, main):
    out = {"type": "result", "is_main_result": bool(main)}
    extra = {}
    for mime, value in bundle.items():
        field = FIELDS.get(mime)
        if field in BINARY and isinstance(value, str):
            out[field] = "".join(value.split())
        elif field:
            out[field] = value
        else:
            extra[mime] = value
    if extra:
        out["extra"] = extra
    return out


def error(name, value, traceback):
    return {"name": name, "value": value, "traceback": traceback}


def timeout_error(timeout_s):
    return error("TimeoutError", "the run took longer than its timeout of %gs and was interrupted"
                 % timeout_s, "")


class Execution:
    """A whole execution gathered from a run's output lines (emit = this object)."""

    def __init__(self, context_id):
        self.doc = {"context": context_id, "results": [], "logs": {"stdout": [], "stderr": []},
                    "error": None, "execution_count": None}

    def __call__(self, obj):
        kind, doc = obj["type"], self.doc
        if kind in ("stdout", "stderr"):
            doc["logs"][kind].append(obj["text"])
        elif kind == "result":
            doc["results"].append({k: v for k, v in obj.items() if k != "type"})
        elif kind == "error":
            doc["error"] = {k: v for k, v in obj.items() if k != "type"}
        elif kind == "number_of_executions":
            doc["execution_count"] = obj["execution_count"]
