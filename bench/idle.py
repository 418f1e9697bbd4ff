#!/usr/bin/env python3
"""Resident memory of `irsa-webhook serve` holding idle TLS keep-alive connections.

Opens N TLS connections to a running server (handshake complete, one /healthz request each,
kept alive), then prints the server's RSS idle before, with the connections open and idle, and
a few seconds after they closed; and how many of the N the server still held when RSS was read
(a server closes idle keep-alive connections after its timeout, 10 s for serve, so opening them
must take less than that minus IDLE_SECONDS). A benchmark, not a test: nothing is asserted.

Usage: bench/idle.py PID PORT [N]      (N defaults to 2000; loopback only)
"""
import select
import socket
import ssl
import sys
import time

# Seconds the connections stay idle before RSS is read (the server releases buffers at once).
IDLE_SECONDS = 3
# Seconds after closing before the last reading (each loop trims its heap within a second).
AFTER_CLOSE_SECONDS = 3


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def still_open(conn):
    """False once the server closed the connection (readable with nothing, or an error)."""
    try:
        poller = select.poll()
        poller.register(conn, select.POLLIN)
        if not poller.poll(0):
            return True
        conn.setblocking(False)
        return conn.recv(1) != b""
    except ssl.SSLWantReadError:
        return True
    except (ssl.SSLError, OSError):
        return False


def main():
    pid, port = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    before = rss_mb(pid)
    connections = []
    started = time.monotonic()
    request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
    for _ in range(count):
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        conn = context.wrap_socket(raw)
        conn.sendall(request)
        answer = conn.recv(4096)
        if not answer.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("unexpected answer: %r" % answer[:40])
        connections.append(conn)
    opened_seconds = time.monotonic() - started
    time.sleep(IDLE_SECONDS)
    held = rss_mb(pid)
    open_count = sum(1 for conn in connections if still_open(conn))
    for conn in connections:
        conn.close()
    time.sleep(AFTER_CLOSE_SECONDS)
    after = rss_mb(pid)
    print(f"idle {before:.1f} MB; {count} idle TLS keep-alive connections {held:.1f} MB "
          f"({(held - before) * 1024 / count:.1f} KB each); after they closed {after:.1f} MB; "
          f"{open_count} of {count} still open at the reading, opened in {opened_seconds:.1f} s")


if __name__ == "__main__":
    main()
