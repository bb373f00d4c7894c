#!/usr/bin/env python3
"""Interop tests on loopback against real peers.

  - the Python `websockets` client and the Node `ws` client against
    examples/echo_server, examples/tokio_echo (the async glue) and
    examples/hyper_upgrade (hyper's upgrade handed to it): text, binary, empty,
    1 MiB, ping, close code;
  - examples/client against a `websockets` echo server and a `ws` echo server,
    including reconnecting when the server starts only after the client, and
    examples/tokio_client (the async glue's client) against the websockets server;
  - wss:// (a test CA made for the run): the websockets client against echo_server
    and tokio_echo with --tls-cert/--tls-key, and tokio_client against a websockets
    TLS server;
  - permessage-deflate (RFC 7692), negotiated and checked, not merely offered:
    both clients against echo_server --deflate (also with --deflate-no-context and
    with --deflate-window 9), and examples/client --deflate against both servers.
    Each compressed check reads the extension the handshake settled, echoes
    compressible megabytes exactly, and counts the bytes on the wire through a
    relay (CountingProxy) to prove that both directions were compressed, and that
    the context and window parameters in force are the ones negotiated.

Usage: run.py --bin DIR --python PY --node-path DIR
  PY is a Python with `websockets`; DIR holds node_modules with `ws`.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from loopback import free_port, wait_for_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

PY_CLIENT = r'''
import asyncio, ssl, sys
from websockets.asyncio.client import connect

async def main(url, ca=None):
    # For wss://, a CA file to trust (the test CA) instead of the system's roots.
    context = ssl.create_default_context(cafile=ca) if ca else None
    async with connect(url, max_size=None, ssl=context) as ws:
        for payload in ["héllo wörld €", b"\x00\x01\x02\xff", "", b"", bytes((i * 31) % 251 for i in range(1 << 20))]:
            await ws.send(payload)
            reply = await ws.recv()
            assert reply == payload and type(reply) is type(payload), (type(reply), len(reply))
        latency = await (await ws.ping(b"heartbeat"))
        await ws.close(code=4000, reason="bye")
        assert ws.close_code == 4000, ws.close_code
    print("python websockets client: text, binary, empty, 1 MiB, ping, close code: ok")

asyncio.run(main(*sys.argv[1:3]))
'''

# The compressed counterpart of PY_CLIENT, on three connections, each with one
# purpose; the relay in run.py counts each one's bytes on the wire separately:
#   "text": a highly compressible 1 MiB text (a sentence repeated), which must cross
#       the wire compressed both ways;
#   "messages": PY_CLIENT's messages and a few small ones, a ping and a close code;
#   "repeats": one random (incompressible) 2 KiB block echoed 16 times, whose cost
#       on the wire shows whether each copy referred back to the one before, which
#       only a kept context with a window past 2 KiB allows.
# It asserts the echoes only. What each handshake settled, and the payload sizes, go
# out as one JSON line for run.py to judge, so that a run without compression fails
# there on every count it misses rather than on the first.
PY_DEFLATE_CLIENT = r'''
import asyncio, json, os, sys
from websockets.asyncio.client import connect

SENTENCE = "permessage-deflate interop: the same sentence, again and again. "
TEXT = (SENTENCE * ((1 << 20) // len(SENTENCE) + 1))[: 1 << 20]
MESSAGES = [
    "héllo wörld €", b"\x00\x01\x02\xff", "", b"", bytes((i * 31) % 251 for i in range(1 << 20)),
    "a", "a small text message", b"\x07\x07\x07",
]
BLOCK = os.urandom(2048)

def size(message):
    return len(message.encode()) if isinstance(message, str) else len(message)

async def echo(ws, payload):
    await ws.send(payload)
    reply = await ws.recv()
    assert reply == payload and type(reply) is type(payload), (type(reply), len(reply))

async def connection(url, name, messages, finish=None):
    async with connect(url, max_size=None, compression="deflate") as ws:
        settled = {
            "name": name,
            "header": ws.response.headers.get("Sec-WebSocket-Extensions", ""),
            "extensions": [e.name for e in ws.protocol.extensions],
            "payload": sum(size(m) for m in messages),
        }
        for message in messages:
            await echo(ws, message)
        if finish:
            await finish(ws)
    return settled

async def ping_and_close(ws):
    await (await ws.ping(b"heartbeat"))
    await ws.close(code=4000, reason="bye")
    assert ws.close_code == 4000, ws.close_code

async def main(url):
    report = [
        await connection(url, "text", [TEXT]),
        await connection(url, "messages", MESSAGES, ping_and_close),
        await connection(url, "repeats", [BLOCK] * 16),
    ]
    print(json.dumps(report))

asyncio.run(main(sys.argv[1]))
'''

# An echo server. websockets compresses by default (compression="deflate"): it takes
# a permessage-deflate offer, answering with 12-bit windows both ways, and serves a
# client that makes none uncompressed, so one server serves both kinds of run.
PY_SERVER = r'''
import asyncio, os, ssl, sys
from websockets.asyncio.server import serve

async def echo(ws):
    async for message in ws:
        await ws.send(message)

async def main(port):
    # wss:// when TLS_CERT and TLS_KEY name a certificate chain and its key.
    context = None
    if os.environ.get("TLS_CERT"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.environ["TLS_CERT"], os.environ["TLS_KEY"])
    async with serve(echo, "127.0.0.1", port, max_size=None, ssl=context):
        print("python websockets echo server on", port, flush=True)
        await asyncio.Future()

asyncio.run(main(int(sys.argv[1])))
'''


def check(name, cmd, env=None, timeout=60, input_text=None):
    proc = subprocess.run(cmd, input=input_text, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def peers_against_echo_server(args, node_env, example="echo_server", path=""):
    port = free_port()
    server = subprocess.Popen([os.path.join(args.bin, example), "--addr", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        url = f"ws://127.0.0.1:{port}{path}"
        for name, cmd, env in (("python client", [args.python, "-c", PY_CLIENT, url], None),
                               ("node client", ["node", os.path.join(HERE, "peers.cjs"), "client", url],
                                node_env)):
            print(f"[{example}] " + check(f"{name} against {example}", cmd, env=env).stdout.strip())
    finally:
        server.kill()
        server.wait()


def tls_interop(args, certs):
    """wss:// on loopback, with a test CA made for the run (examples/tls_cert): the
    Python websockets client against echo_server and tokio_echo with --tls-cert and
    --tls-key, and examples/tokio_client (the async glue's client) against a
    websockets TLS server, both trusting that CA and checking the name localhost."""
    ca, cert, key = (os.path.join(certs, n) for n in ("ca.pem", "cert.pem", "key.pem"))
    for example in ("echo_server", "tokio_echo"):
        port = free_port()
        server = subprocess.Popen([os.path.join(args.bin, example), "--addr", f"127.0.0.1:{port}",
                                   "--tls-cert", cert, "--tls-key", key],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            url = f"wss://localhost:{port}"
            out = check(f"python client against {example} over TLS", [args.python, "-c", PY_CLIENT, url, ca])
            print(f"[{example} --tls-cert] over wss:// " + out.stdout.strip())
        finally:
            server.kill()
            server.wait()
    tls_env = dict(os.environ, TLS_CERT=cert, TLS_KEY=key)
    client_example_against("python websockets TLS server", [args.python, "-c", PY_SERVER], args,
                           env=tls_env, client="tokio_client", scheme="wss", host="localhost",
                           client_args=("--ca", ca))


def client_example_against(name, server_cmd, args, env=None, start_late=False, client="client",
                           scheme="ws", host="127.0.0.1", client_args=()):
    """Feeds stdin lines to examples/client (or `client`) and expects each echoed on
    stdout. examples/client starts before the server, which it must wait for; with
    `start_late`, the server starts two seconds after it, so that it must keep
    retrying and then deliver the lines typed meanwhile. Any other client starts once
    the server listens."""
    port = free_port()
    lines = ["first line", "second line with ünïcödé", "third"]
    client_name = client
    client_cmd = [os.path.join(args.bin, client), f"{scheme}://{host}:{port}", *client_args]

    def start_client():
        return subprocess.Popen(client_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    server = None
    client = start_client() if client_name == "client" else None
    try:
        if start_late:
            client.stdin.write("\n".join(lines) + "\n")
            client.stdin.flush()
            time.sleep(2)
        server = subprocess.Popen(server_cmd + [str(port)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=env)
        wait_for_port(port)
        if client is None:
            client = start_client()
        if not start_late:
            client.stdin.write("\n".join(lines) + "\n")
            client.stdin.flush()
        out, err = client.communicate(timeout=60)
    finally:
        if client:
            client.kill()
        if server:
            server.kill()
            server.wait()
    got = out.splitlines()
    if got != lines:
        raise RuntimeError(f"examples/{client_name} against {name}: expected {lines}, got {got}\n{err}")
    if start_late and "retrying" not in err:
        raise RuntimeError(f"examples/client did not report retrying:\n{err}")
    late = " (server started late: reconnected)" if start_late else ""
    print(f"examples/{client_name} against {name}: {len(lines)} lines echoed{late}: ok")


# What the compressed checks send as compressible text: a short sentence repeated.
SENTENCE = "permessage-deflate interop: the same sentence, again and again. "


class CountingProxy:
    """A TCP relay from a port of its own on 127.0.0.1 to `target_port` there, counting
    the bytes it forwards in each direction: what crosses the wire, frames as sent
    (compressed or not) plus the handshake. Each accepted connection gets its own
    pair of counts, [client to server, server to client], in `connections`, in the
    order accepted. A connection whose target refuses it is closed and not counted."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.connections = []
        self._lock = threading.Lock()
        self._pumps = 0          # directions still being relayed
        self._sockets = []
        self._closing = False
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        # A short accept timeout lets the accept loop notice close().
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self):
        while not self._closing:
            try:
                downstream, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            downstream.settimeout(None)
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                downstream.close()
                continue
            counts = [0, 0]
            with self._lock:
                self.connections.append(counts)
                self._sockets += [downstream, upstream]
                self._pumps += 2
            for index, (src, dst) in enumerate(((downstream, upstream), (upstream, downstream))):
                threading.Thread(target=self._pump, args=(src, dst, counts, index), daemon=True).start()

    def _pump(self, src, dst, counts, index):
        """Relays one direction until its end, then passes the end on (the other
        direction may still be running: a close handshake is two half-closes)."""
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                counts[index] += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            with self._lock:
                self._pumps -= 1

    def wait_idle(self, timeout=5.0):
        """Waits until every relayed connection has ended in both directions, so the
        counts are final; gives up quietly after `timeout` seconds (the echoes the
        checks wait for have crossed the relay by then anyway)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._pumps == 0:
                    return
            time.sleep(0.02)

    def close(self):
        self._closing = True
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for s in sockets:
            # shutdown() wakes a thread blocked in recv() on it; close() alone may not.
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def kib(n):
    return f"{n / 1024:.1f} KiB"


def deflate_answer(header):
    """The permessage-deflate element of a Sec-WebSocket-Extensions value and its
    parameters, lowercased ("name=value" or "name"); (None, set()) if absent."""
    for element in (header or "").split(","):
        parts = [p.strip() for p in element.split(";")]
        if parts[0].lower() == "permessage-deflate":
            params = {p.lower().replace(" ", "") for p in parts[1:] if p}
            return "; ".join(parts), params
    return None, set()


def wire_failures(label, counts, payload, at_most=None, at_least=None):
    """Failures of the byte counts of one relayed connection, each direction, against
    fractions of the payload sent (each message is echoed, so the same each way)."""
    failures = []
    for direction, n in zip(("client to server", "server to client"), counts):
        if at_most is not None and n >= payload * at_most:
            failures.append(f"{label}: {n} bytes {direction} for {payload} bytes of payload,"
                            f" not under {at_most:g} of it: not compressed")
        if at_least is not None and n < payload * at_least:
            failures.append(f"{label}: only {n} bytes {direction} for {payload} bytes of payload,"
                            f" under {at_least:g} of it: a message referred back further than"
                            f" the negotiated context and window allow")
    return failures


# echo_server's compressed configurations: its options after --deflate; the
# parameters its answer must carry; the most the 1 MiB text may cost on the wire
# each way, as a fraction of its size; and whether a message may refer back to the
# one before it, 2 KiB earlier, which needs the context kept and a window past 2 KiB.
#
# The text's bound is looser with 9-bit windows. wsmachine compresses with zlib-rs,
# a port of zlib-ng, whose output for this text grows as the window shrinks, about
# 50 bytes for every window's worth of input: zlib-ng's own Python binding makes
# 100 KB of it at 9 bits and 7 KB at 15, where zlib makes 3 KB at either. So at 9
# bits the server's side shrinks the text about tenfold, right at a tenth.
DEFLATE_SERVERS = [
    ([], [], 0.1, True),
    (["--deflate-no-context"], ["server_no_context_takeover", "client_no_context_takeover"], 0.1, False),
    (["--deflate-window", "9"], ["server_max_window_bits=9", "client_max_window_bits=9"], 0.25, False),
]


def peers_against_deflate_server(args, node_env, options, expected_params, text_ratio, refers_back):
    """The websockets and ws clients against echo_server --deflate OPTIONS, each
    through a CountingProxy. From the client's report and the relay's counts, for
    each of the client's three connections: permessage-deflate negotiated, with the
    expected parameters. And on the wire, each way: the 1 MiB compressible text
    under `text_ratio` of its size; the random 2 KiB block sent 16 times under a
    quarter of its size when each copy may refer back to the previous one (the
    context kept, a large window), else at least 0.9 of it (nothing gained between
    messages: the context was reset, or the window too small to reach back). The
    message set's bytes are reported, not judged: they include a 1 MiB binary
    pattern that repeats every 251 bytes, beyond the 250 bytes zlib can reach back
    with a 9-bit window."""
    port = free_port()
    server_cmd = [os.path.join(args.bin, "echo_server"), "--addr", f"127.0.0.1:{port}", "--deflate"]
    server = subprocess.Popen(server_cmd + options, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    flags = " ".join(["--deflate"] + options)
    try:
        wait_for_port(port)
        peers = [("python websockets client", [args.python, "-c", PY_DEFLATE_CLIENT], None),
                 ("node ws client", ["node", os.path.join(HERE, "peers.cjs"), "deflate-client"], node_env)]
        for name, cmd, env in peers:
            proxy = CountingProxy(port)
            try:
                proc = check(name, cmd + [f"ws://127.0.0.1:{proxy.port}"], env=env)
                proxy.wait_idle()
            finally:
                proxy.close()
            report = json.loads(proc.stdout.strip().splitlines()[-1])
            failures = []
            answers = set()
            for conn in report:
                answer, params = deflate_answer(conn["header"])
                answers.add(answer)
                if "permessage-deflate" not in conn["extensions"] or answer is None:
                    failures.append(f"{conn['name']}: permessage-deflate not negotiated: extensions"
                                    f" {conn['extensions']}, Sec-WebSocket-Extensions {conn['header']!r}")
                missing = [p for p in expected_params if p not in params]
                if missing:
                    failures.append(f"{conn['name']}: answer {answer!r} lacks {missing}")
            if len(proxy.connections) != len(report):
                failures.append(f"expected {len(report)} connections through the relay,"
                                f" saw {len(proxy.connections)}")
            else:
                wire = {conn["name"]: (counts, conn["payload"]) for conn, counts in zip(report, proxy.connections)}
                failures += wire_failures("1 MiB text", *wire["text"], at_most=text_ratio)
                if refers_back:
                    failures += wire_failures("repeated block", *wire["repeats"], at_most=0.25)
                else:
                    failures += wire_failures("repeated block", *wire["repeats"], at_least=0.9)
            if failures:
                raise RuntimeError(f"{name} against echo_server {flags}:\n  " + "\n  ".join(failures)
                                   + f"\n  report: {report}\n  wire bytes per connection: {proxy.connections}")
            summary = "; ".join(
                f"{conn} {kib(payload)} over {kib(up)} up / {kib(down)} down"
                for conn, ((up, down), payload) in wire.items())
            refers = "each copy referred back" if refers_back else "no copy referred back"
            print(f"{name} against echo_server {flags}: negotiated {' | '.join(sorted(answers))!r};"
                  f" {summary} ({refers}): ok")
    finally:
        server.kill()
        server.wait()


def client_example_deflate(name, server_cmd, server_opts, args, env=None):
    """examples/client --deflate against a compressing echo server, through a
    CountingProxy: the lines, one of them 200 KB of repeated text, must come back
    exactly; the client must report on stderr that permessage-deflate was taken;
    and the bytes on the wire must be under a tenth of the payload each way."""
    port = free_port()
    long_line = (SENTENCE * (200_000 // len(SENTENCE) + 1))[:200_000]
    lines = ["first line", "second line with ünïcödé", long_line, "third"]
    payload = sum(len(line.encode()) for line in lines)
    server = subprocess.Popen(server_cmd + [str(port)] + server_opts, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env)
    proxy = client = None
    try:
        wait_for_port(port)
        proxy = CountingProxy(port)
        client = subprocess.Popen([os.path.join(args.bin, "client"), f"ws://127.0.0.1:{proxy.port}", "--deflate"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        out, err = client.communicate("\n".join(lines) + "\n", timeout=60)
        proxy.wait_idle()
    finally:
        if client:
            client.kill()
        if proxy:
            proxy.close()
        server.kill()
        server.wait()
    failures = []
    got = out.splitlines()
    if got != lines:
        failures.append(f"expected {len(lines)} lines back ({[len(l) for l in lines]} chars),"
                        f" got {len(got)} ({[len(l) for l in got]} chars); equal: {got == lines}")
    negotiated = [line for line in err.splitlines()
                  if line.startswith("connected to ") and "(permessage-deflate: permessage-deflate" in line]
    if not negotiated:
        failures.append("no 'connected to ... (permessage-deflate: ...)' line on stderr")
    up, down = (sum(c[i] for c in proxy.connections) for i in (0, 1))
    failures += wire_failures("lines", (up, down), payload, at_most=0.1)
    if failures:
        raise RuntimeError(f"examples/client --deflate against {name}:\n  " + "\n  ".join(failures)
                           + f"\n  stderr:\n{err}")
    answer = negotiated[0].split("(permessage-deflate: ", 1)[1].rstrip(")")
    print(f"examples/client --deflate against {name}: negotiated {answer!r};"
          f" {len(lines)} lines ({kib(payload)}) echoed over {kib(up)} up / {kib(down)} down: ok")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--node-path", required=True)
    args = parser.parse_args()
    node_env = dict(os.environ, NODE_PATH=os.path.join(os.path.abspath(args.node_path), "node_modules"))

    peers_against_echo_server(args, node_env)
    peers_against_echo_server(args, node_env, "tokio_echo")
    peers_against_echo_server(args, node_env, "hyper_upgrade", "/ws")
    py_server = [args.python, "-c", PY_SERVER]
    node_server = ["node", os.path.join(HERE, "peers.cjs"), "server"]
    client_example_against("python websockets server", py_server, args)
    client_example_against("node ws server", node_server, args, env=node_env)
    client_example_against("python websockets server", py_server, args, start_late=True)
    client_example_against("python websockets server", py_server, args, client="tokio_client")
    with tempfile.TemporaryDirectory() as certs:
        check("tls_cert", [os.path.join(args.bin, "tls_cert"), certs])
        tls_interop(args, certs)
    for options, params, text_ratio, refers_back in DEFLATE_SERVERS:
        peers_against_deflate_server(args, node_env, options, params, text_ratio, refers_back)
    client_example_deflate("python websockets server", py_server, [], args)
    client_example_deflate("node ws server (perMessageDeflate, threshold 0)", node_server, ["--deflate"], args,
                           env=node_env)
    print("interop: all passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report and fail
        print(f"interop FAILED: {e}", file=sys.stderr)
        sys.exit(1)
