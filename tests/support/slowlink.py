#!/usr/bin/env python3
"""A slow link on loopback (issue 15): a TCP proxy that shares one bandwidth among all its
connections and delays every byte by half a round trip each way.

    slowlink.py --listen PORT --upstream PORT --rate BYTES_PER_S --rtt-ms MS --stats FILE

Listens on 127.0.0.1:PORT and pumps bytes to and from 127.0.0.1:UPSTREAM (nginx). It works
below HTTP (keep-alive, pipelining and HTTP/2 pass as they are), unlike faultproxy.py, which
answers one HTTP request per connection to inject faults; the two share no code.

The link, per direction: every chunk read (at most 16 KiB) takes its turn on a serialiser
shared by all connections (`len / rate` seconds, first come first served: the connections
share the bandwidth), then arrives `rtt / 2` later at the other end. So a request and its
answer cost one round trip plus their bytes over the rate, as on a real link; a new connection
costs one more round trip (the client's first bytes wait `rtt / 2` each way).

The stats file holds one line `connections down_bytes up_bytes` (bytes from the server to
the client, and back), rewritten at most every 0.1 s and at exit (SIGTERM): what crossed the
link, HTTP heads included.
"""

import argparse
import asyncio
import os
import signal
import time

CHUNK = 16 * 1024


class Link:
    """One direction's serialiser and counter, shared by every connection."""

    def __init__(self, rate):
        self.rate = rate
        self.free_at = 0.0
        self.bytes = 0

    async def send_slot(self, n):
        """Waits until `n` bytes have been put on the wire after everything queued before."""
        now = time.monotonic()
        self.free_at = max(self.free_at, now) + n / self.rate
        self.bytes += n
        await asyncio.sleep(self.free_at - now)


class Proxy:
    def __init__(self, a):
        self.upstream = a.upstream
        self.delay = a.rtt_ms / 2000.0
        self.down = Link(a.rate)
        self.up = Link(a.rate)
        self.connections = 0
        self.stats = a.stats
        self.written = 0.0

    def write_stats(self, force=False):
        now = time.monotonic()
        if not force and now - self.written < 0.1:
            return
        self.written = now
        tmp = self.stats + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{self.connections} {self.down.bytes} {self.up.bytes}\n")
        os.replace(tmp, self.stats)

    async def pump(self, reader, writer, link):
        """Reads chunks, puts each on the link, delivers it `delay` later, in order."""
        queue = asyncio.Queue(maxsize=64)

        async def deliver():
            while True:
                item = await queue.get()
                if item is None:
                    break
                due, data = item
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

        task = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                await link.send_slot(len(data))
                self.write_stats()
                await queue.put((time.monotonic() + self.delay, data))
        except (ConnectionError, OSError):
            pass
        await queue.put(None)
        try:
            await task
        except (ConnectionError, OSError):
            pass

    async def handle(self, client_reader, client_writer):
        self.connections += 1
        # The client's connection itself takes half a round trip to reach the server.
        await asyncio.sleep(self.delay)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            self.pump(client_reader, up_writer, self.up),
            self.pump(up_reader, client_writer, self.down),
        )
        for w in (up_writer, client_writer):
            try:
                w.close()
            except OSError:
                pass
        self.write_stats(force=True)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--rate", type=float, required=True, help="bytes per second, each way")
    ap.add_argument("--rtt-ms", type=float, default=0.0)
    ap.add_argument("--stats", required=True)
    a = ap.parse_args()
    proxy = Proxy(a)
    proxy.write_stats(force=True)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", a.listen, backlog=256)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    proxy.write_stats(force=True)


if __name__ == "__main__":
    asyncio.run(main())
