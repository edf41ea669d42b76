"""Volumes: filesystems that outlive machines and are shared between them. Mount one at
create (Machine.create(volumes=[{"volume": NAME, "path": "/data"}])); reach its files
without a machine through v.files (the same calls as a machine's)."""

import urllib.parse

from .machine import Files, _client, _pages


class Volume:
    """A volume: .id, .name, .info (the API's view: size_mb, used_bytes, capacity_bytes,
    metadata, machines) and .files."""

    def __init__(self, client, info):
        self.client = client
        self.info = info
        self.id = info["id"]
        self.name = info["name"]
        self.files = Files(self)

    def __repr__(self):
        return "Volume(%s, %s)" % (self.id, self.name)

    def _path(self, suffix=""):
        return "/v1/volumes/" + urllib.parse.quote(self.id, safe="") + suffix

    def _owner(self):
        return {"volume": self.id}

    @classmethod
    def create(cls, name, size_mb=1024, metadata=None, api_url=None, api_key=None,
               client=None):
        """Creates a volume of size_mb (its limit: writes past it fail with ENOSPC)."""
        c = _client(client, api_url, api_key)
        body = {"name": name, "size_mb": size_mb}
        if metadata is not None:
            body["metadata"] = metadata
        return cls(c, c.request("POST", "/v1/volumes", body=body, wait=True))

    @classmethod
    def get(cls, ref, api_url=None, api_key=None, client=None):
        """A volume by ID or name."""
        c = _client(client, api_url, api_key)
        return cls(c, c.request("GET", "/v1/volumes/" + urllib.parse.quote(ref, safe="")))

    @classmethod
    def list(cls, api_url=None, api_key=None, client=None):
        c = _client(client, api_url, api_key)
        return [cls(c, v) for v in _pages(c, "/v1/volumes", "volumes")]

    def refresh(self):
        self.info = self.client.request("GET", self._path())
        return self

    def delete(self):
        """Deletes the volume and its files (409 volume_in_use while a machine mounts it)."""
        self.client.request("DELETE", self._path(), wait=True)

    def mount(self, path, subpath=None, read_only=False):
        """The mount entry Machine.create(volumes=[...]) takes."""
        m = {"volume": self.id, "path": path, "read_only": read_only}
        if subpath:
            m["subpath"] = subpath
        return m
