"""The error nscode answers: {"error": {"code", "message"}} with an HTTP status; the
codes are the daemon's catalogue (docs/errors.md)."""


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
