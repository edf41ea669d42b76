"""Volumes on real gVisor machines: created and deleted through the API, mounted at
create (whole, by subpath, read-only), shared by machines at once, kept through
hibernate, fork, snapshots and a daemon killed with SIGKILL, their size enforced, and
their files reachable without a machine through an agent that nothing planted in the
volume leads out of."""

import hashlib
import io
import os
import signal
import socket
import tarfile
import time
import unittest

from harness import Daemon, DaemonTest, assert_clean_exit, error_code
from wsclient import Session, WsError

def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


HOST_PASSWD = read_bytes("/etc/passwd").decode()


class VolumeHelpers:
    def req(self, method, path, body=None, d=None, **kw):
        return (d or self.d).request(method, path, body=body, **kw)

    def volume(self, name, size_mb=64, d=None):
        st, _, v = self.req("POST", "/v1/volumes", {"name": name, "size_mb": size_mb}, d)
        self.assertEqual(st, 201, v)
        return v

    def create(self, d=None, **body):
        st, _, m = self.req("POST", "/v1/machines", body, d)
        self.assertEqual(st, 201, m)
        return m

    def sh(self, mid, cmd, d=None, code=0):
        st, _, r = self.req("POST", "/v1/machines/%s/exec" % mid, {"cmd": cmd}, d)
        self.assertEqual((st, r.get("exit_code")), (200, code), (cmd, r))
        return r

    def vput(self, vol, path, data, d=None):
        return self.req("PUT", "/v1/volumes/%s/files?path=%s" % (vol, path), data, d,
                        headers={"Content-Type": "application/octet-stream"})

    def vget(self, vol, path, d=None):
        return self.req("GET", "/v1/volumes/%s/files?path=%s" % (vol, path), None, d)

    def destroy(self, mid, d=None):
        st, _, _ = self.req("DELETE", "/v1/machines/" + mid, None, d)
        self.assertEqual(st, 200)


class Api(VolumeHelpers, DaemonTest):
    def test_create_get_list_delete(self):
        v = self.volume("api-a", 32)
        self.assertTrue(v["id"].startswith("v_"))
        self.assertEqual((v["name"], v["state"], v["size_mb"], v["machines"]),
                         ("api-a", "ready", 32, []))
        self.assertGreater(v["capacity_bytes"], 16 << 20)
        self.assertLessEqual(v["capacity_bytes"], 32 << 20)
        st, _, again = self.req("POST", "/v1/volumes", {"name": "api-a", "size_mb": 32})
        self.assertEqual((st, error_code(again)), (409, "volume_exists"))
        for bad in ({"name": "a b", "size_mb": 32}, {"name": "v_x", "size_mb": 32},
                    {"name": "ok", "size_mb": 1}, {"name": "", "size_mb": 32}, {"name": "ok"}):
            st, _, r = self.req("POST", "/v1/volumes", bad)
            self.assertEqual(st, 400, (bad, r))
        self.volume("api-b", 16)
        for ref in ("api-a", v["id"]):
            st, _, got = self.req("GET", "/v1/volumes/" + ref)
            self.assertEqual((st, got["id"]), (200, v["id"]))
        st, _, page = self.req("GET", "/v1/volumes?limit=1")
        self.assertEqual((st, [x["name"] for x in page["volumes"]]), (200, ["api-a"]))
        st, _, page = self.req("GET", "/v1/volumes?limit=1&cursor=" + page["next_cursor"])
        self.assertEqual([x["name"] for x in page["volumes"]], ["api-b"])
        for ref in ("api-a", "api-b"):
            st, _, _ = self.req("DELETE", "/v1/volumes/" + ref)
            self.assertEqual(st, 204)
        st, _, r = self.req("GET", "/v1/volumes/api-a")
        self.assertEqual((st, error_code(r)), (404, "volume_not_found"))
        st, _, r = self.req("DELETE", "/v1/volumes/api-a")
        self.assertEqual((st, error_code(r)), (404, "volume_not_found"))
        self.assertEqual(os.listdir(os.path.join(self.d.state_dir, "volumes")), [])

    def test_mounts_are_checked_at_create(self):
        self.volume("chk")
        self.sh(self.create(volumes=[{"volume": "chk", "path": "/x"}])["id"],
                "ln -s /etc /x/link && mkdir -p /x/d && touch /x/file")
        bad = [[{"volume": "chk", "path": "/"}], [{"volume": "chk", "path": "data"}],
               [{"volume": "chk", "path": "/a/../b"}], [{"volume": "chk", "path": "/proc/x"}],
               [{"volume": "chk", "path": "/a"}, {"volume": "chk", "path": "/a/b"}],
               [{"volume": "chk", "path": "/a", "subpath": "../x"}],
               [{"volume": "chk", "path": "/a", "subpath": "/abs"}],
               [{"volume": "chk", "path": "/a", "subpath": "link"}],
               [{"volume": "chk", "path": "/a", "subpath": "link/sub"}],
               [{"volume": "chk", "path": "/a", "subpath": "file"}],
               [{"volume": "chk", "path": "/a", "extra": 1}], {"volume": "chk"}]
        for vols in bad:
            st, _, r = self.req("POST", "/v1/machines", {"volumes": vols})
            self.assertEqual(st, 400, (vols, r))
        st, _, r = self.req("POST", "/v1/machines",
                            {"volumes": [{"volume": "nope", "path": "/a"}]})
        self.assertEqual((st, error_code(r)), (404, "volume_not_found"))


class Sharing(VolumeHelpers, DaemonTest):
    def test_writer_and_readonly_reader_at_once(self):
        self.volume("shared")
        w = self.create(volumes=[{"volume": "shared", "path": "/data"}])["id"]
        r = self.create(volumes=[{"volume": "shared", "path": "/data", "read_only": True}])["id"]
        self.sh(w, "head -c 1048576 /dev/urandom > /data/blob && sha256sum /data/blob "
                   "> /data/sum")
        out = self.sh(r, "cd /data && sha256sum -c sum && stat -c '%s %U' blob")["stdout"]
        self.assertIn("blob: OK", out)
        self.assertIn("1048576 root", out)
        res = self.sh(r, "echo no > /data/new", code=2)
        self.assertIn("Read-only file system", res["stderr"])
        self.sh(w, "echo more >> /data/sum")
        self.assertIn("more", self.sh(r, "cat /data/sum")["stdout"])
        st, _, v = self.req("GET", "/v1/volumes/shared")
        self.assertEqual(sorted(v["machines"]), sorted([w, r]))
        self.assertGreater(v["used_bytes"], 1 << 20)
        st, _, e = self.req("DELETE", "/v1/volumes/shared")
        self.assertEqual((st, error_code(e)), (409, "volume_in_use"))
        self.destroy(w)
        self.destroy(r)
        st, _, _ = self.req("DELETE", "/v1/volumes/shared")
        self.assertEqual(st, 204)

    def test_posix_semantics_inside(self):
        self.volume("posix")
        mid = self.create(volumes=[{"volume": "posix", "path": "/v"}])["id"]
        script = (
            "import fcntl, os\n"
            "os.chdir('/v')\n"
            "open('a', 'w').write('0123456789')\n"
            "f = open('a', 'r+b'); f.seek(4); f.write(b'XY'); f.close()\n"
            "assert open('a').read() == '0123XY6789'\n"
            "os.rename('a', 'b'); os.link('b', 'c')\n"
            "assert os.stat('c').st_nlink == 2\n"
            "os.chmod('c', 0o600); assert os.stat('b').st_mode & 0o777 == 0o600\n"
            "os.chown('b', 1000, 1000); assert os.stat('c').st_uid == 1000\n"
            "fd = os.open('lock', os.O_CREAT | os.O_RDWR)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "os.symlink('b', 'ln'); assert os.readlink('ln') == 'b'\n"
            "os.makedirs('d/e'); os.rename('d', 'f'); assert os.path.isdir('f/e')\n"
            "print('posix ok')\n")
        self.req("PUT", "/v1/machines/%s/files?path=/root/p.py" % mid, script.encode(),
                 headers={"Content-Type": "application/octet-stream"})
        self.assertIn("posix ok", self.sh(mid, "python3 /root/p.py")["stdout"])
        self.assertIn("0123XY6789", self.sh(mid, "ls -l /v && cat /v/b")["stdout"])

    def test_subpath_is_all_a_machine_sees(self):
        self.volume("subs")
        self.assertEqual(self.vput("subs", "/top-secret", b"root only")[0], 200)
        mid = self.create(volumes=[{"volume": "subs", "path": "/work",
                                    "subpath": "teams/a"}])["id"]
        self.sh(mid, "echo from-a > /work/note")
        out = self.sh(mid, "ls -a /work; cat /work/../top-secret 2>&1; true")["stdout"]
        self.assertNotIn("root only", out)
        st, _, data = self.vget("subs", "/teams/a/note")
        self.assertEqual((st, data), (200, b"from-a\n"))
        # a symlink the machine plants in its subpath leads nowhere else for the next one
        self.sh(mid, "ln -s / /work/escape && ln -s /etc/passwd /work/pw")
        other = self.create(volumes=[{"volume": "subs", "path": "/w", "subpath": "teams/a"}])
        out = self.sh(other["id"], "ls /w/escape/ | head -50")["stdout"]
        self.assertNotIn("top-secret", out.split())


class DirectFiles(VolumeHelpers, DaemonTest):
    def test_files_without_a_machine(self):
        self.volume("direct")
        self.assertEqual(self.vput("direct", "/a/b/c.txt", b"hello")[0], 200)
        st, _, data = self.vget("direct", "/a/b/c.txt")
        self.assertEqual((st, data), (200, b"hello"))
        st, _, r = self.req("GET", "/v1/volumes/direct/files/stat?path=/a/b/c.txt")
        self.assertEqual((st, r["size"], r["type"]), (200, 5, "file"))
        st, _, r = self.req("GET", "/v1/volumes/direct/files/list?path=/&depth=3")
        self.assertEqual(sorted(e["path"] for e in r["entries"]),
                         ["/a", "/a/b", "/a/b/c.txt"])
        st, _, r = self.req("POST", "/v1/volumes/direct/files/rename",
                            {"path": "/a/b/c.txt", "to": "/a/d.txt"})
        self.assertEqual(st, 200, r)
        st, _, r = self.req("GET", "/v1/volumes/direct/files/search?path=/&content=hell")
        self.assertEqual([m["path"] for m in r["matches"]], ["/a/d.txt"])
        st, _, r = self.req("POST", "/v1/volumes/direct/files/mkdir", {"path": "/m/n"})
        self.assertEqual(st, 200, r)
        st, _, r = self.req("GET", "/v1/volumes/direct/files/exists?path=/m/n")
        self.assertTrue(r["exists"])
        st, _, r = self.req("DELETE", "/v1/volumes/direct/files?path=/m")
        self.assertEqual(st, 200, r)
        st, _, r = self.vget("direct", "/missing")
        self.assertEqual((st, error_code(r)), (404, "file_not_found"))
        st, _, r = self.vget("nope", "/x")
        self.assertEqual((st, error_code(r)), (404, "volume_not_found"))
        # what a machine wrote, the API reads, and the other way round
        mid = self.create(volumes=[{"volume": "direct", "path": "/data"}])["id"]
        self.assertEqual(self.sh(mid, "cat /data/a/d.txt")["stdout"], "hello")
        self.sh(mid, "printf made-inside > /data/in")
        self.assertEqual(self.vget("direct", "/in")[2], b"made-inside")

    def test_symlinks_planted_by_a_machine_stay_inside(self):
        self.volume("trap")
        mid = self.create(volumes=[{"volume": "trap", "path": "/data"}])["id"]
        self.sh(mid, "ln -s / /data/root && ln -s /etc/passwd /data/pw && "
                     "ln -s ../../../../../etc /data/up && mkdir /data/d && "
                     "ln -s /etc /data/d/etc")
        for path in ("/root/etc/passwd", "/pw", "/up/passwd", "/d/etc/passwd",
                     "/../../../../etc/passwd"):
            st, _, data = self.vget("trap", path)
            self.assertNotEqual(data, HOST_PASSWD.encode(), path)
            self.assertEqual(st, 404, (path, data))
        st, _, r = self.vput("trap", "/root/etc/escaped", b"x")
        self.assertFalse(os.path.exists("/etc/escaped"))
        st, _, r = self.req("GET", "/v1/volumes/trap/files/list?path=/root/&depth=2")
        names = [e["path"] for e in r.get("entries", [])]
        self.assertNotIn("/root/etc/passwd", names)

    def test_directories_as_tar_both_ways(self):
        self.volume("tars")
        buf = io.BytesIO()
        files = {"a.txt": b"alpha", "d/e/f.bin": os.urandom(70000),
                 "long/" + "n" * 150 + "/x.txt": b"long name"}
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for name, data in files.items():
                ti = tarfile.TarInfo(name)
                ti.size, ti.mode = len(data), 0o640
                t.addfile(ti, io.BytesIO(data))
            ti = tarfile.TarInfo("ln")
            ti.type, ti.linkname = tarfile.SYMTYPE, "a.txt"
            t.addfile(ti)
        st, _, r = self.req("PUT", "/v1/volumes/tars/files?path=/up&format=tar", buf.getvalue(),
                            headers={"Content-Type": "application/x-tar"})
        self.assertEqual((st, r.get("entries")), (200, 4), r)
        st, h, data = self.req("GET", "/v1/volumes/tars/files?path=/up&format=tar")
        self.assertEqual((st, h["content-type"]), (200, "application/x-tar"))
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            got = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
            modes = {m.name: m.mode for m in t.getmembers() if m.isfile()}
            links = {m.name: m.linkname for m in t.getmembers() if m.issym()}
        self.assertEqual(got, files)
        self.assertEqual(set(modes.values()), {0o640})
        self.assertEqual(links, {"ln": "a.txt"})
        # the same into a machine, and a machine's directory out
        mid = self.create()["id"]
        st, _, r = self.req("PUT", "/v1/machines/%s/files?path=/root/in&format=tar" % mid,
                            buf.getvalue(), headers={"Content-Type": "application/x-tar"})
        self.assertEqual(st, 200, r)
        self.assertEqual(self.sh(mid, "cat /root/in/ln")["stdout"], "alpha")
        st, _, data = self.req("GET", "/v1/machines/%s/files?path=/root/in&format=tar" % mid)
        self.assertEqual(len(tarfile.open(fileobj=io.BytesIO(data)).getnames()), 8)
        st, _, r = self.req("PUT", "/v1/volumes/tars/files?path=/up&format=tar", b"not a tar" * 99,
                            headers={"Content-Type": "application/x-tar"})
        self.assertEqual((st, error_code(r)), (400, "invalid_request"))
        st, _, r = self.req("GET", "/v1/volumes/tars/files?path=/up&format=zip")
        self.assertEqual(st, 400)

    def test_tar_uploads_cannot_leave_the_target(self):
        self.volume("tartrap")
        mid = self.create(volumes=[{"volume": "tartrap", "path": "/data"}])["id"]
        self.sh(mid, "mkdir -p /data/t && ln -s / /data/t/root && ln -s /etc /data/t/etc")

        def archive(*members):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as t:
                for name, kind, target in members:
                    ti = tarfile.TarInfo(name)
                    if kind == "sym":
                        ti.type, ti.linkname = tarfile.SYMTYPE, target
                        t.addfile(ti)
                    else:
                        ti.size = len(b"pwned")
                        t.addfile(ti, io.BytesIO(b"pwned"))
            return buf.getvalue()

        cases = [
            archive(("../escaped", "file", None)),
            archive(("a/../../escaped", "file", None)),
            archive(("root/tmp/escaped", "file", None)),  # through a planted symlink
            archive(("etc/escaped", "file", None)),
            archive(("x", "sym", "/tmp"), ("x/escaped", "file", None)),  # one of its own
        ]
        for body in cases:
            st, _, r = self.req("PUT", "/v1/volumes/tartrap/files?path=/t&format=tar", body,
                                headers={"Content-Type": "application/x-tar"})
            self.assertEqual((st, error_code(r)), (400, "invalid_path"), r)
        self.assertFalse(os.path.exists("/tmp/escaped"))
        self.assertFalse(os.path.exists("/etc/escaped"))
        out = self.sh(mid, "find / -xdev -name escaped 2>/dev/null; "
                           "find /data -name escaped")["stdout"]
        self.assertEqual(out, "")
        # a member that replaces a planted symlink replaces it, never writes through it
        st, _, r = self.req("PUT", "/v1/volumes/tartrap/files?path=/t&format=tar",
                            archive(("etc", "file", None)),
                            headers={"Content-Type": "application/x-tar"})
        self.assertEqual(st, 200, r)
        self.assertEqual(self.sh(mid, "cat /data/t/etc")["stdout"], "pwned")

    def test_chmod_batch_and_watch(self):
        import base64
        self.volume("ops")
        st, _, r = self.req("POST", "/v1/volumes/ops/files/batch", {"files": [
            {"path": "/b/%03d.txt" % i, "content": "n%d" % i} for i in range(300)] + [
            {"path": "/b/bin", "content": base64.b64encode(b"\x00\xff").decode(),
             "encoding": "base64", "mode": "600"}]})
        self.assertEqual((st, r["written"]), (200, 301), r)
        self.assertEqual(self.vget("ops", "/b/123.txt")[2], b"n123")
        st, _, r = self.req("GET", "/v1/volumes/ops/files/stat?path=/b/bin")
        self.assertEqual((r["size"], r["mode"]), (2, 0o600))
        st, _, r = self.req("POST", "/v1/volumes/ops/files/chmod", {"path": "/b/bin",
                                                                    "mode": "640"})
        self.assertEqual(st, 200, r)
        self.assertEqual(self.req("GET", "/v1/volumes/ops/files/stat?path=/b/bin")[2]["mode"],
                         0o640)
        for bad in ({"files": [{"path": "/x"}]}, {"files": "no"},
                    {"files": [{"path": "/x", "content": "a", "encoding": "hex"}]}):
            self.assertEqual(self.req("POST", "/v1/volumes/ops/files/batch", bad)[0], 400, bad)
        mid = self.create(volumes=[{"volume": "ops", "path": "/data"}])["id"]
        st, _, r = self.req("POST", "/v1/machines/%s/files/batch" % mid,
                            {"files": [{"path": "/root/m.txt", "content": "in a machine"}]})
        self.assertEqual(st, 200, r)
        self.assertEqual(self.sh(mid, "cat /root/m.txt; stat -c %a /data/b/bin")["stdout"],
                         "in a machine640\n")
        # a volume watched without a machine sees what a machine does in it
        s = Session(self.d)
        try:
            r = s.call("watch", volume="ops", path="/b")
            self.sh(mid, "echo new > /data/b/new.txt")
            seen = set()
            while "/b/new.txt" not in seen:
                msg = s.poll(30)
                self.assertIsNotNone(msg, "no watch event")
                if msg.get("channel") == r["channel"] and msg["type"] == "watch":
                    seen.add(msg["event"]["path"])
            with self.assertRaises(WsError) as e:
                s.call("watch", volume="nope", path="/")
            self.assertEqual(e.exception.code, "volume_not_found")
        finally:
            s.close()

    def test_signed_url(self):
        v = self.volume("signed")
        self.vput("signed", "/f", b"signed bytes")
        st, _, s = self.req("POST", "/v1/volumes/signed/signed-urls", {"path": "/f"})
        self.assertEqual(st, 200, s)
        self.assertIn("/v1/volumes/%s/files?" % v["id"], s["url"])
        path = s["url"].split(self.d.addr, 1)[1]
        st, _, data = self.req("GET", path, key=False)
        self.assertEqual((st, data), (200, b"signed bytes"))
        st, _, r = self.req("GET", path.replace(v["id"], "m_" + v["id"][2:]), key=False)
        self.assertEqual(st, 403)

    def test_size_limit(self):
        self.volume("small", 16)
        mid = self.create(volumes=[{"volume": "small", "path": "/s"}])["id"]
        r = self.sh(mid, "dd if=/dev/zero of=/s/fill bs=1M count=32 2>&1; echo rc=$?")
        self.assertIn("No space left on device", r["stdout"])
        st, _, r = self.vput("small", "/more", b"\0" * (20 << 20))
        self.assertEqual((st, error_code(r)), (507, "no_space"))
        st, _, v = self.req("GET", "/v1/volumes/small")
        self.assertGreaterEqual(v["used_bytes"], v["capacity_bytes"] - (2 << 20))


class Cli(VolumeHelpers, DaemonTest):
    def test_volumes_commands_and_mounts(self):
        import json
        r = self.d.cli("--json", "volumes", "create", "clivol", "--size-mb", "32",
                       "--metadata", "team=a")
        self.assertEqual(r.returncode, 0, r.stderr)
        v = json.loads(r.stdout)
        self.assertEqual((v["name"], v["size_mb"], v["metadata"]), ("clivol", 32, {"team": "a"}))
        r = self.d.cli("volumes", "create", "clivol")
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertIn("volume_exists", r.stderr)
        r = self.d.cli("files", "write", "volume:clivol", "/in.txt", input="from the cli\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.d.cli("--json", "machines", "create", "--volume", "clivol:/v:ro",
                       "--volume", "clivol:/w:subpath=sub/dir")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = json.loads(r.stdout)
        self.assertEqual([(x["path"], x["read_only"], x["subpath"]) for x in m["volumes"]],
                         [("/v", True, ""), ("/w", False, "sub/dir")])
        self.sh(m["id"], "cat /v/in.txt > /w/copy")
        r = self.d.cli("files", "read", v["id"], "/sub/dir/copy")
        self.assertEqual((r.returncode, r.stdout), (0, "from the cli\n"), r.stderr)
        r = self.d.cli("files", "ls", "volume:clivol", "/sub")
        self.assertIn("/sub/dir", r.stdout)
        r = self.d.cli("volumes", "get", "clivol")
        self.assertIn("mounted by " + m["id"], r.stdout)
        r = self.d.cli("volumes", "delete", "clivol")
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertIn("volume_in_use", r.stderr)
        r = self.d.cli("machines", "create", "--volume", "clivol")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.destroy(m["id"])
        r = self.d.cli("volumes", "delete", "clivol")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.d.cli("volumes", "list")
        self.assertNotIn("clivol", r.stdout)

    def test_upload_and_download_files_and_directories(self):
        import tempfile
        self.volume("xfer")
        with tempfile.TemporaryDirectory(prefix="ns-cli-xfer-") as tmp:
            src = os.path.join(tmp, "src")
            os.makedirs(os.path.join(src, "sub"))
            big = os.urandom((9 << 20) + 123)  # more than one upload piece
            write_bytes(os.path.join(src, "big.bin"), big)
            write_bytes(os.path.join(src, "sub", "note.txt"), b"note")
            os.symlink("note.txt", os.path.join(src, "sub", "ln"))
            r = self.d.cli("volumes", "upload", "xfer", os.path.join(src, "big.bin"), "/f/big.bin")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(hashlib.sha256(self.vget("xfer", "/f/big.bin")[2]).hexdigest(),
                             hashlib.sha256(big).hexdigest())
            r = self.d.cli("volumes", "upload", "xfer", src, "/tree")
            self.assertEqual(r.returncode, 0, r.stderr)
            mid = self.create(volumes=[{"volume": "xfer", "path": "/v"}])["id"]
            self.assertEqual(self.sh(mid, "cat /v/tree/sub/ln")["stdout"], "note")
            r = self.d.cli("files", "download", mid, "/v/tree", os.path.join(tmp, "back"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(read_bytes(os.path.join(tmp, "back", "big.bin")), big)
            self.assertEqual(os.readlink(os.path.join(tmp, "back", "sub", "ln")), "note.txt")
            r = self.d.cli("volumes", "download", "xfer", "/f/big.bin", os.path.join(tmp, "b2"))
            self.assertEqual((r.returncode, read_bytes(os.path.join(tmp, "b2")) == big),
                             (0, True), r.stderr)
            r = self.d.cli("files", "upload", mid, os.path.join(tmp, "missing"), "/x")
            self.assertEqual(r.returncode, 2)
            r = self.d.cli("files", "download", mid, "/nope", os.path.join(tmp, "n"))
            self.assertEqual(r.returncode, 6, r.stderr)


class Lifecycle(VolumeHelpers, DaemonTest):
    def test_hibernate_fork_and_snapshots_keep_the_mounts(self):
        self.volume("life")
        mid = self.create(volumes=[{"volume": "life", "path": "/v"}])["id"]
        self.sh(mid, "echo before > /v/f; sleep 1000 > /dev/null 2>&1 &")
        st, _, m = self.req("POST", "/v1/machines/%s/hibernate" % mid)
        self.assertEqual((st, m["state"]), (200, "hibernated"), m)
        self.vput("life", "/while-asleep", b"zz")
        self.assertEqual(self.sh(mid, "cat /v/f /v/while-asleep")["stdout"], "before\nzz")
        st, _, r = self.req("POST", "/v1/machines/%s/fork" % mid, {"count": 2})
        self.assertEqual(st, 201, r)
        kids = [k["id"] for k in r["machines"]]
        for k in kids:
            self.sh(k, "echo %s > /v/%s" % (k, k))
        for k in kids + [mid]:
            out = self.sh(k, "cat /v/" + " /v/".join(kids))["stdout"].split()
            self.assertEqual(out, kids)
        st, _, snap = self.req("POST", "/v1/machines/%s/snapshots" % mid, {"name": "withvol"})
        self.assertEqual(st, 201, snap)
        spawned = self.create(snapshot=snap["id"])
        self.assertEqual([x["volume"] for x in spawned["volumes"]],
                         [x["volume"] for x in self.req("GET", "/v1/machines/" + mid)[2]
                          ["volumes"]])
        self.assertIn("before", self.sh(spawned["id"], "cat /v/f")["stdout"])
        st, _, r = self.req("POST", "/v1/machines",
                            {"snapshot": snap["id"],
                             "volumes": [{"volume": "life", "path": "/other"}]})
        self.assertEqual(st, 400, r)
        for m in kids + [mid, spawned["id"]]:
            self.destroy(m)
        st, _, _ = self.req("DELETE", "/v1/volumes/life")
        self.assertEqual(st, 204)
        st, _, r = self.req("POST", "/v1/machines", {"snapshot": snap["id"]})
        self.assertEqual((st, error_code(r)), (404, "volume_not_found"))
        self.req("DELETE", "/v1/snapshots/" + snap["id"])

    def test_volume_added_to_a_snapshot_spawn(self):
        self.volume("late")
        self.vput("late", "/seed", b"seeded")
        base = self.create()["id"]
        self.sh(base, "echo mine > /root/own")
        st, _, snap = self.req("POST", "/v1/machines/%s/snapshots" % base, {"name": "plain"})
        self.assertEqual(st, 201, snap)
        m = self.create(snapshot=snap["id"], volumes=[{"volume": "late", "path": "/late"}])
        self.assertEqual(self.sh(m["id"], "cat /root/own /late/seed")["stdout"],
                         "mine\nseeded")
        self.destroy(m["id"])
        self.destroy(base)
        self.req("DELETE", "/v1/snapshots/" + snap["id"])


def cut_upload(d, path, data, upto):
    """Sends a PUT of all of data but stops after `upto` bytes and drops the connection."""
    s = socket.create_connection((d.host, d.port))
    head = ("PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" %
            (path, d.key, len(data)))
    s.sendall(head.encode() + data[:upto])
    s.close()


class Resumable(VolumeHelpers, unittest.TestCase):
    def test_cut_at_half_resumed_after_a_restart(self):
        d = Daemon().start()
        try:
            self.volume("res", 128, d=d)
            mid = self.create(d=d)["id"]
            data = os.urandom(24 << 20)
            sha = hashlib.sha256(data).hexdigest()
            for owner in ("/v1/volumes/res", "/v1/machines/" + mid):
                st, _, u = self.req("POST", owner + "/uploads",
                                    {"path": "/up/big.bin", "size": len(data), "sha256": sha},
                                    d=d)
                self.assertEqual((st, u["offset"]), (201, 0), u)
                piece = "%s/uploads/%s?offset=" % (owner, u["id"])
                cut_upload(d, piece + "0", data, len(data) // 2)
                deadline = time.time() + 10  # the daemon writes what reached it, then stops
                off, last = 0, -1
                while time.time() < deadline and off != last:
                    last = off
                    time.sleep(0.3)
                    off = self.req("GET", "%s/uploads/%s" % (owner, u["id"]), d=d)[2]["offset"]
                self.assertGreater(off, 0)
                self.assertLessEqual(off, len(data) // 2)
                d.stop()
                d.start()
                st, _, g = self.req("GET", "%s/uploads/%s" % (owner, u["id"]), d=d)
                self.assertEqual((st, g["offset"]), (200, off), "kept across a restart")
                st, _, r = self.req("POST", "%s/uploads/%s/complete" % (owner, u["id"]), d=d)
                self.assertEqual((st, error_code(r)), (409, "conflict"), "bytes are missing")
                st, _, r = self.req("PUT", piece + str(off + 1), data[off + 1:], d=d,
                                    headers={"Content-Type": "application/octet-stream"})
                self.assertEqual((st, error_code(r)), (409, "conflict"), "past the offset")
                st, _, r = self.req("PUT", piece + str(off), data[off:], d=d,
                                    headers={"Content-Type": "application/octet-stream"})
                self.assertEqual((st, r["offset"]), (200, len(data)), r)
                st, _, r = self.req("POST", "%s/uploads/%s/complete" % (owner, u["id"]), d=d)
                self.assertEqual((st, r["sha256"], r["size"]), (200, sha, len(data)), r)
                st, _, got = self.req("GET", owner + "/files?path=/up/big.bin", d=d)
                self.assertEqual(hashlib.sha256(got).hexdigest(), sha)
                st, _, ls = self.req("GET", owner + "/files/list?path=/up", d=d)
                self.assertEqual([e["name"] for e in ls["entries"]], ["big.bin"], "no leftovers")
                st, _, r = self.req("GET", "%s/uploads/%s" % (owner, u["id"]), d=d)
                self.assertEqual((st, error_code(r)), (404, "upload_not_found"))
            # a wrong checksum drops the upload
            st, _, u = self.req("POST", "/v1/volumes/res/uploads",
                                {"path": "/bad", "size": 3, "sha256": "0" * 64}, d=d)
            self.req("PUT", "/v1/volumes/res/uploads/%s?offset=0" % u["id"], b"abc", d=d,
                     headers={"Content-Type": "application/octet-stream"})
            st, _, r = self.req("POST", "/v1/volumes/res/uploads/%s/complete" % u["id"], d=d)
            self.assertEqual((st, error_code(r)), (409, "checksum_mismatch"))
            self.assertEqual(self.req("GET", "/v1/volumes/res/files/exists?path=/bad", d=d)[2],
                             {"exists": False})
            st, _, u = self.req("POST", "/v1/volumes/res/uploads", {"path": "/c", "size": 1}, d=d)
            self.assertEqual(self.req("DELETE", "/v1/volumes/res/uploads/" + u["id"], d=d)[0],
                             204)
            for bad in ({"path": "rel", "size": 1}, {"path": "/d/", "size": 1},
                        {"path": "/x", "size": -1}, {"path": "/x", "size": 1, "sha256": "xy"},
                        {"path": "/x", "size": 1, "mode": "999"}):
                self.assertEqual(self.req("POST", "/v1/volumes/res/uploads", bad, d=d)[0], 400,
                                 bad)
        finally:
            assert_clean_exit(d)


class VmSharing(VolumeHelpers, DaemonTest):
    def test_a_gvisor_and_a_vm_machine_share_a_volume(self):
        self.volume("both", 64)
        vm = self.create(runtime="vm", volumes=[{"volume": "both", "path": "/data"},
                                                {"volume": "both", "path": "/ro",
                                                 "read_only": True}])["id"]
        gv = self.create(volumes=[{"volume": "both", "path": "/data"}])["id"]
        self.sh(vm, "echo from-vm > /data/vm.txt && mount | grep -q 'on /data type virtiofs'")
        self.assertEqual(self.sh(gv, "cat /data/vm.txt; echo from-gvisor > /data/g.txt")
                         ["stdout"], "from-vm\n")
        self.assertEqual(self.sh(vm, "cat /data/g.txt /ro/vm.txt")["stdout"],
                         "from-gvisor\nfrom-vm\n")
        r = self.sh(vm, "echo no > /ro/x", code=2)
        self.assertIn("Read-only file system", r["stderr"])
        # blocking locks work within the machine (they do not reach other machines)
        self.sh(vm, "flock /data/lock true && python3 -c 'import fcntl, os; "
                    "fd = os.open(\"/data/l\", os.O_CREAT | os.O_RDWR); fcntl.lockf(fd, "
                    "fcntl.LOCK_EX)'")
        self.assertEqual(self.vget("both", "/g.txt")[2], b"from-gvisor\n")
        # its virtio-fs devices cannot migrate: no checkpoint, said plainly
        for op in ("hibernate", "fork", "snapshots"):
            st, _, r = self.req("POST", "/v1/machines/%s/%s" % (vm, op), {} if op != "hibernate"
                                else None)
            self.assertEqual((st, error_code(r)), (409, "runtime_unsupported"), (op, r))
        self.sh(vm, "cat /data/vm.txt")  # still running
        st, _, r = self.req("POST", "/v1/machines",
                            {"runtime": "vm", "timeout_action": "hibernate",
                             "volumes": [{"volume": "both", "path": "/d"}]})
        self.assertEqual(st, 400, r)


class Restart(VolumeHelpers, unittest.TestCase):
    def test_sigkill_keeps_volume_data_and_mounts(self):
        d = Daemon().start()
        try:
            self.volume("keep", d=d)
            mid = self.create(d=d, volumes=[{"volume": "keep", "path": "/k"},
                                            {"volume": "keep", "path": "/r",
                                             "subpath": "sub", "read_only": True}])["id"]
            self.sh(mid, "echo one > /k/a; mkdir -p /k/sub; echo two > /k/sub/b", d=d)
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait()
            d.log.close()
            d.start()
            self.assertEqual(self.sh(mid, "cat /k/a /r/b", d=d)["stdout"], "one\ntwo\n")
            self.assertEqual(self.vget("keep", "/sub/b", d=d)[2], b"two\n")
            self.vput("keep", "/after", b"restart", d=d)
            self.assertEqual(self.sh(mid, "cat /k/after", d=d)["stdout"], "restart")
        finally:
            assert_clean_exit(d)


if __name__ == "__main__":
    unittest.main()
