"""Helpers of the networking tests: a web app started inside a machine, and an
"outside" host (a network namespace of the test's own, reached through the host's
routing like any address beyond it) serving one page."""

import os
import random
import socket
import subprocess
import tempfile
import time

WEB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "machine_web.py")


def machine_address(d, mid):
    st, _, m = d.request("GET", "/v1/machines/" + mid)
    assert st == 200, m
    return m["network"]["address"]


def wait_port(addr, port, timeout=30):
    """Waits until addr:port accepts (the host connects and closes first: the machine
    keeps no TIME_WAIT connection that would hold a checkpoint back)."""
    deadline = time.time() + timeout
    while True:
        try:
            socket.create_connection((addr, port), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def start_web(d, mid, port=8000):
    """Uploads machine_web.py into the machine and runs it on port; returns the
    machine's address."""
    with open(WEB, "rb") as f:
        st, _, b = d.request("PUT", "/v1/machines/%s/files?path=/srv/web.py" % mid, body=f.read())
    assert st in (200, 201), b
    st, _, b = d.request("POST", "/v1/machines/%s/processes" % mid,
                         {"cmd": "python3 /srv/web.py %d" % port, "tag": "web%d" % port})
    assert st == 201, b
    addr = machine_address(d, mid)
    wait_port(addr, port)
    return addr


def curl_code(d, mid, url, timeout=3):
    """The HTTP status curl inside the machine gets from url ("000": no connection)."""
    st, _, r = d.request("POST", "/v1/machines/%s/exec" % mid, {
        "cmd": "curl -s -m %d -o /dev/null -w '%%{http_code}' %s" % (timeout, url)})
    assert st == 200, r
    return r["stdout"]


class OutsideHost:
    """A namespace with a veth pair to the host and an HTTP server on ADDR:8080 and
    ADDR2:8080 (two addresses, to tell destinations apart)."""

    def __init__(self):
        n = random.randrange(1, 250)
        self.ns = "nst-%d-%d" % (os.getpid(), n)
        self.ifname = "nstv%x" % random.randrange(1 << 32)
        self.host_ip, self.addr = "10.251.%d.1" % n, "10.251.%d.2" % n
        self.addr2 = "10.251.%d.3" % n
        self.dir = tempfile.mkdtemp(prefix="ns-outside-")
        with open(os.path.join(self.dir, "hello.txt"), "w") as f:
            f.write("outside\n")
        for cmd in (["ip", "netns", "add", self.ns],
                    ["ip", "link", "add", self.ifname, "type", "veth", "peer", "name", "eth0",
                     "netns", self.ns],
                    ["ip", "addr", "add", self.host_ip + "/29", "dev", self.ifname],
                    ["ip", "link", "set", self.ifname, "up"],
                    ["ip", "-n", self.ns, "addr", "add", self.addr + "/29", "dev", "eth0"],
                    ["ip", "-n", self.ns, "addr", "add", self.addr2 + "/29", "dev", "eth0"],
                    ["ip", "-n", self.ns, "link", "set", "eth0", "up"],
                    ["ip", "-n", self.ns, "link", "set", "lo", "up"],
                    ["ip", "-n", self.ns, "route", "add", "default", "via", self.host_ip]):
            subprocess.run(cmd, check=True)
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "python3", "-m", "http.server", "8080", "--bind",
             "0.0.0.0", "--directory", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.addr, 8080)
        self.url = "http://%s:8080/hello.txt" % self.addr
        self.tls = None

    def start_tls(self):
        """An HTTPS server (self-signed) on port 443 of both addresses."""
        key, cert = os.path.join(self.dir, "k.pem"), os.path.join(self.dir, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-subj", "/CN=nstest", "-days", "1"],
                       check=True, capture_output=True)
        code = ("import http.server, ssl, functools\n"
                "h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=%r)\n"
                "s = http.server.ThreadingHTTPServer(('0.0.0.0', 443), h)\n"
                "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
                "c.load_cert_chain(%r, %r)\n"
                "s.socket = c.wrap_socket(s.socket, server_side=True)\n"
                "s.serve_forever()\n" % (self.dir, cert, key))
        self.tls = subprocess.Popen(["ip", "netns", "exec", self.ns, "python3", "-c", code],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.addr, 443)

    def close(self):
        for p in (self.server, self.tls):
            if p:
                p.kill()
                p.wait()
        subprocess.run(["ip", "netns", "delete", self.ns])
        subprocess.run(["rm", "-rf", self.dir])


class DnsServer:
    """A UDP DNS server on 127.0.0.1 answering A queries for the names of `table`
    (name -> IPv4) and NXDOMAIN for the rest; runs in a thread until close()."""

    def __init__(self, table):
        import threading
        self.table = table
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def qname(msg):
        labels, i = [], 12
        while msg[i]:
            labels.append(msg[i + 1:i + 1 + msg[i]].decode().lower())
            i += 1 + msg[i]
        return ".".join(labels), i + 5

    def serve(self):
        while True:
            try:
                msg, peer = self.sock.recvfrom(2048)
            except OSError:
                return
            name, end = self.qname(msg)
            addr = self.table.get(name)
            flags = b"\x81\x80" if addr else b"\x81\x83"
            head = msg[:2] + flags + b"\x00\x01" + (b"\x00\x01" if addr else b"\x00\x00") + \
                b"\x00\x00\x00\x00"
            out = head + msg[12:end]
            if addr:
                out += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + \
                    socket.inet_aton(addr)
            self.sock.sendto(out, peer)

    def close(self):
        self.sock.close()
