"""Checks of what a client sends nsdesktop: every field bounded, every error a stable
code of the daemon's catalogue (docs/errors.md) with a message naming the field."""


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def invalid(field, what):
    return ApiError(400, "invalid_field", "field '%s': %s" % (field, what))


def known_fields(doc, allowed):
    unknown = set(doc) - set(allowed)
    if unknown:
        raise ApiError(400, "unknown_field", "unknown field '%s'" % sorted(unknown)[0][:64])


def integer(doc, field, lo, hi, default=None):
    """doc[field] as an int in [lo, hi]; default when absent (None: required)."""
    v = doc.get(field)
    if v is None:
        if default is None:
            raise ApiError(400, "missing_field", "field '%s' is required" % field)
        return default
    if isinstance(v, str) and doc.get("_query"):  # a query parameter
        try:
            v = int(v, 0)
        except ValueError:
            raise invalid(field, "an integer")
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise invalid(field, "an integer from %d to %d" % (lo, hi))
    return v


def number(doc, field, lo, hi, default):
    v = doc.get(field)
    if v is None:
        return default
    if isinstance(v, str) and doc.get("_query"):
        try:
            v = float(v)
        except ValueError:
            raise invalid(field, "a number")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise invalid(field, "a number from %g to %g" % (lo, hi))
    return float(v)


def boolean(doc, field, default):
    v = doc.get(field)
    if v is None:
        return default
    if doc.get("_query") and v in ("true", "1", "false", "0"):
        return v in ("true", "1")
    if not isinstance(v, bool):
        raise invalid(field, "true or false")
    return v


def choice(doc, field, options, default):
    v = doc.get(field, default)
    if v not in options:
        raise invalid(field, "one of %s" % ", ".join(options))
    return v


def text(doc, field, limit, required=True, default=""):
    v = doc.get(field)
    if v is None:
        if required:
            raise ApiError(400, "missing_field", "field '%s' is required" % field)
        return default
    if not isinstance(v, str) or "\0" in v:
        raise invalid(field, "a string without NUL")
    if len(v.encode()) > limit:
        raise invalid(field, "at most %d bytes" % limit)
    return v


def point(doc, screen, required):
    """(x, y) inside the screen, or None when both are absent and not required."""
    if not required and doc.get("x") is None and doc.get("y") is None:
        return None
    w, h = screen
    return integer(doc, "x", 0, w - 1), integer(doc, "y", 0, h - 1)
