#!/usr/bin/env python3
"""Interop tests on loopback against real peers.

  - the Python `websockets` client and the Node `ws` client against
    examples/echo_server: text, binary, empty, 1 MiB, ping, close code;
  - examples/client against a `websockets` echo server and a `ws` echo server,
    including reconnecting when the server starts only after the client.

Usage: run.py --bin DIR --python PY --node-path DIR
  PY is a Python with `websockets`; DIR holds node_modules with `ws`.
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from loopback import free_port, wait_for_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

PY_CLIENT = r'''
import asyncio, sys
from websockets.asyncio.client import connect

async def main(url):
    async with connect(url, max_size=None) as ws:
        for payload in ["héllo wörld €", b"\x00\x01\x02\xff", "", b"", bytes((i * 31) % 251 for i in range(1 << 20))]:
            await ws.send(payload)
            reply = await ws.recv()
            assert reply == payload and type(reply) is type(payload), (type(reply), len(reply))
        latency = await (await ws.ping(b"heartbeat"))
        await ws.close(code=4000, reason="bye")
        assert ws.close_code == 4000, ws.close_code
    print("python websockets client: text, binary, empty, 1 MiB, ping, close code: ok")

asyncio.run(main(sys.argv[1]))
'''

PY_SERVER = r'''
import asyncio, sys
from websockets.asyncio.server import serve

async def echo(ws):
    async for message in ws:
        await ws.send(message)

async def main(port):
    async with serve(echo, "127.0.0.1", port, max_size=None):
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


def peers_against_echo_server(args, node_env):
    port = free_port()
    server = subprocess.Popen([os.path.join(args.bin, "echo_server"), "--addr", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port)
        url = f"ws://127.0.0.1:{port}"
        print(check("python client", [args.python, "-c", PY_CLIENT, url]).stdout.strip())
        print(check("node client", ["node", os.path.join(HERE, "peers.cjs"), "client", url], env=node_env).stdout.strip())
    finally:
        server.kill()
        server.wait()


def client_example_against(name, server_cmd, args, env=None, start_late=False):
    """Feeds stdin lines to examples/client and expects each echoed on stdout. With
    `start_late`, the server starts two seconds after the client, which must keep
    retrying and then deliver the lines typed meanwhile."""
    port = free_port()
    lines = ["first line", "second line with ünïcödé", "third"]
    client = subprocess.Popen([os.path.join(args.bin, "client"), f"ws://127.0.0.1:{port}"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    server = None
    try:
        if start_late:
            client.stdin.write("\n".join(lines) + "\n")
            client.stdin.flush()
            time.sleep(2)
        server = subprocess.Popen(server_cmd + [str(port)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=env)
        wait_for_port(port)
        if not start_late:
            client.stdin.write("\n".join(lines) + "\n")
            client.stdin.flush()
        out, err = client.communicate(timeout=60)
    finally:
        client.kill()
        if server:
            server.kill()
            server.wait()
    got = out.splitlines()
    if got != lines:
        raise RuntimeError(f"examples/client against {name}: expected {lines}, got {got}\n{err}")
    if start_late and "retrying" not in err:
        raise RuntimeError(f"examples/client did not report retrying:\n{err}")
    late = " (server started late: reconnected)" if start_late else ""
    print(f"examples/client against {name}: {len(lines)} lines echoed{late}: ok")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--node-path", required=True)
    args = parser.parse_args()
    node_env = dict(os.environ, NODE_PATH=os.path.join(os.path.abspath(args.node_path), "node_modules"))

    peers_against_echo_server(args, node_env)
    py_server = [args.python, "-c", PY_SERVER]
    node_server = ["node", os.path.join(HERE, "peers.cjs"), "server"]
    client_example_against("python websockets server", py_server, args)
    client_example_against("node ws server", node_server, args, env=node_env)
    client_example_against("python websockets server", py_server, args, start_late=True)
    print("interop: all passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report and fail
        print(f"interop FAILED: {e}", file=sys.stderr)
        sys.exit(1)
