#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for the store tests (issue 16), loopback only.

    faultproxy.py --listen PORT --upstream PORT --mode MODE [--only SUBSTRING] [--method M]
                  [--log FILE] [--gate FILE]

Listens on 127.0.0.1:PORT and forwards each request to the server at 127.0.0.1:UPSTREAM
(nginx), one request per connection (`Connection: close` both ways), then answers with the
fault of MODE applied to requests whose path contains SUBSTRING and whose method is M
(default: every request):

    pass      the upstream's answer as is
    blackhole accept the connection, read the request, never answer
    500       `500 Internal Server Error` without asking the upstream
    reset     the answer's head and half its body, then a TCP reset
    truncate  the answer's head (full Content-Length) and half its body, then a clean close
    wrong     the answer with every body byte flipped (same length)
    trickle   the whole answer at 10 KB/s (1 kB every 0.1 s)
    hold      the upstream's answer as is, asked for only once the file --gate names exists

Each accepted connection appends one line to the log file (`<n> <method> <path>`, the path
`-` when no request was read), so tests can count what reached the store.
"""

import argparse
import os
import socket
import socketserver
import struct
import threading
import time

LOG_LOCK = threading.Lock()


def read_head(sock):
    """Bytes up to and including the blank line ending an HTTP head, and what followed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def closing(head):
    """`head` with its Connection header replaced by `Connection: close`."""
    lines = [l for l in head.split(b"\r\n") if l and not l.lower().startswith(b"connection:")]
    return b"\r\n".join(lines + [b"Connection: close", b"", b""])


class Handler(socketserver.BaseRequestHandler):
    def log(self, method, path):
        with LOG_LOCK:
            self.server.count += 1
            if self.server.log:
                with open(self.server.log, "a") as f:
                    f.write(f"{self.server.count} {method} {path}\n")

    def handle(self):
        try:
            self.serve_one()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout, the slow-rate check, the build ended)

    def serve_one(self):
        client = self.request
        head, rest = read_head(client)
        if head is None:
            self.log("-", "-")
            return
        first = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        method, path = first[0], first[1] if len(first) > 1 else "-"
        self.log(method, path)
        body = rest
        need = content_length(head)
        while len(body) < need:
            chunk = client.recv(65536)
            if not chunk:
                break
            body += chunk
        faulted = self.server.only in path and self.server.method in ("", method)
        mode = self.server.mode if faulted else "pass"
        if mode == "blackhole":
            while client.recv(65536):
                pass
            return
        if mode == "hold":
            while not os.path.exists(self.server.gate):
                time.sleep(0.02)
        if mode == "500":
            client.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        answer = self.forward(closing(head) + body)
        ahead, _, abody = answer.partition(b"\r\n\r\n")
        ahead = closing(ahead + b"\r\n\r\n")
        if method == "HEAD" or not abody:
            # No body to break: faults of the body leave a head-only answer alone.
            if mode == "trickle":
                self.trickle(client, ahead + abody)
            else:
                client.sendall(ahead + abody)
            return
        if mode == "reset":
            client.sendall(ahead + abody[: len(abody) // 2])
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
        elif mode == "truncate":
            client.sendall(ahead + abody[: len(abody) // 2])
            client.shutdown(socket.SHUT_WR)
        elif mode == "wrong":
            client.sendall(ahead + bytes(b ^ 0xFF for b in abody))
        elif mode == "trickle":
            self.trickle(client, ahead + abody)
        else:
            client.sendall(ahead + abody)

    def forward(self, request):
        up = socket.create_connection(("127.0.0.1", self.server.upstream))
        up.sendall(request)
        answer = b""
        while True:
            chunk = up.recv(65536)
            if not chunk:
                break
            answer += chunk
        up.close()
        return answer

    @staticmethod
    def trickle(client, data):
        for i in range(0, len(data), 1000):
            client.sendall(data[i : i + 1000])
            time.sleep(0.1)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--mode", required=True,
                    choices=["pass", "blackhole", "500", "reset", "truncate", "wrong", "trickle",
                             "hold"])
    ap.add_argument("--only", default="")
    ap.add_argument("--method", default="")
    ap.add_argument("--log", default="")
    ap.add_argument("--gate", default="")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.listen), Handler)
    srv.mode, srv.only, srv.log, srv.upstream, srv.count = a.mode, a.only, a.log, a.upstream, 0
    srv.gate, srv.method = a.gate, a.method
    srv.serve_forever()


if __name__ == "__main__":
    main()
