"""Secrets: named values (API keys, tokens) the daemon keeps sealed and gives machines as
environment variables. Set one, then create machines that name it:

    Secret.set("OPENAI_API_KEY", os.environ["OPENAI_API_KEY"])
    m = Machine.create(secrets=["OPENAI_API_KEY"])   # $OPENAI_API_KEY in every command

Values go in and never come back out: reads answer names and times only."""

import urllib.parse

from .machine import _client, _pages


class Secret:
    """A secret's record: .name, .created_at, .updated_at (ms since the epoch)."""

    def __init__(self, client, info):
        self.client = client
        self.info = info
        self.name = info["name"]
        self.created_at = info["created_at"]
        self.updated_at = info["updated_at"]

    def __repr__(self):
        return "Secret(%s)" % self.name

    @staticmethod
    def _path(name):
        return "/v1/secrets/" + urllib.parse.quote(name, safe="")

    @classmethod
    def set(cls, name, value, api_url=None, api_key=None, client=None):
        """Creates or replaces secret `name` ([A-Za-z_][A-Za-z0-9_]*, also the variable's
        name) with `value` (a str of at most 64 KiB, without NUL)."""
        c = _client(client, api_url, api_key)
        return cls(c, c.request("PUT", cls._path(name), body={"value": value}))

    @classmethod
    def get(cls, name, api_url=None, api_key=None, client=None):
        """The record (SecretNotFoundError when there is none); never the value."""
        c = _client(client, api_url, api_key)
        return cls(c, c.request("GET", cls._path(name)))

    @classmethod
    def list(cls, api_url=None, api_key=None, client=None):
        """Every secret's record (all pages), oldest first."""
        c = _client(client, api_url, api_key)
        return [cls(c, s) for s in _pages(c, "/v1/secrets", "secrets")]

    def delete(self):
        """Deletes it: machines that have it keep it; new ones naming it are refused."""
        self.client.request("DELETE", self._path(self.name))
