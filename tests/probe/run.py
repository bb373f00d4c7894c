#!/usr/bin/env python3
"""Runs the conformance prober (examples/probe) against echo servers and echo
clients on loopback, and writes what it found as Markdown.

  python3 tests/probe/run.py --bin target/release/examples [--python PY]
      [--node-path DIR] [--bench-bin FILE] [--only wsmachine] [--seed N]
      [--cases N] [--time SECS] [--write FILE]

Servers: examples/echo_server; Node ws and Python websockets (tests/probe/peers.*);
tungstenite and tokio-websockets (the echo servers of benches/echo_loopback.rs, from
--bench-bin, the bench binary that `cargo bench --bench echo_loopback --no-run`
builds). Clients: examples/client --echo, the websockets and ws echo clients.
With --only wsmachine, just this crate's server and client (what CI runs); the
exit status is then 1 if either failed a case. PY is a Python with `websockets`;
DIR holds node_modules with `ws`.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def probe(args, target, extra):
    """Runs the prober; returns its JSON report and Markdown."""
    with tempfile.TemporaryDirectory() as tmp:
        md, js = os.path.join(tmp, "r.md"), os.path.join(tmp, "r.json")
        cmd = [os.path.join(args.bin, "probe"), *target, "--seed", str(args.seed),
               "--cases", str(args.cases), "--time", str(args.time),
               "--markdown", md, "--json", js, *extra]
        start = time.time()
        subprocess.run(cmd, stdout=sys.stdout, stderr=subprocess.DEVNULL,
                       timeout=args.time + 120, env=args.env)
        print(f"  ({time.time() - start:.1f} s)", flush=True)
        with open(js) as f, open(md) as g:
            return json.load(f), g.read()


def servers(args):
    bin_, py, node = args.bin, args.python, ["node", os.path.join(HERE, "peers.cjs")]
    out = [("wsmachine echo_server", lambda p: [os.path.join(bin_, "echo_server"), "--addr", f"127.0.0.1:{p}"])]
    if args.only == "wsmachine":
        return out
    out += [
        ("Node ws 8.23", lambda p: [*node, "server", str(p)]),
        ("Python websockets 17.4", lambda p: [py, os.path.join(HERE, "peers.py"), "server", str(p)]),
    ]
    if args.bench_bin:
        for name in ("tungstenite", "tokio-websockets"):
            out.append((name, name))
    return out


def start_bench_server(args, name):
    proc = subprocess.Popen([args.bench_bin, "--bench", "--serve", name],
                            stdout=subprocess.PIPE, text=True)
    addr = proc.stdout.readline().strip()
    return proc, addr


def clients(args):
    out = [("wsmachine examples/client --echo", [os.path.join(args.bin, "client"), "--echo", "{url}"])]
    if args.only != "wsmachine":
        out += [
            ("Python websockets 17.4 client", [args.python, os.path.join(HERE, "peers.py"), "client", "{url}"]),
            ("Node ws 8.23 client", ["node", os.path.join(HERE, "peers.cjs"), "client", "{url}"]),
        ]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--node-path")
    ap.add_argument("--bench-bin")
    ap.add_argument("--only")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--time", type=int, default=240)
    ap.add_argument("--write")
    args = ap.parse_args()
    args.env = dict(os.environ)
    if args.node_path:
        args.env["NODE_PATH"] = os.path.join(os.path.abspath(args.node_path), "node_modules")

    sections, failed = [], []
    for name, launch in servers(args):
        print(f"server: {name}", flush=True)
        if isinstance(launch, str):
            proc, addr = start_bench_server(args, launch)
        else:
            port = free_port()
            proc = subprocess.Popen(launch(port), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env=args.env)
            wait_port(port, proc)
            addr = f"127.0.0.1:{port}"
        try:
            report, md = probe(args, [f"ws://{addr}/"], [])
        finally:
            proc.kill()
            proc.wait()
        sections.append((f"Server: {name}", report, md))
        if report["failures"]:
            failed.append(name)
    for name, cmd in clients(args):
        print(f"client: {name}", flush=True)
        report, md = probe(args, ["--client", "--listen", f"127.0.0.1:{free_port()}"], ["--", *cmd])
        sections.append((f"Client: {name}", report, md))
        if report["failures"]:
            failed.append(name)

    if args.write:
        with open(args.write, "w") as f:
            f.write(render(args, sections))
        print(f"wrote {args.write}")
    if args.only == "wsmachine" and failed:
        print("FAILED:", ", ".join(failed))
        sys.exit(1)
    print("probe runs done" + (f"; peers with failures: {', '.join(failed)}" if failed else ""))


def render(args, sections):
    out = ["# Conformance prober results\n",
           "Produced by `python3 tests/probe/run.py` (see its header for the options), "
           f"seed {args.seed}, at most {args.cases} cases and {args.time} s per peer, "
           "500 ms for a peer to answer. A failure is a requirement of RFC 6455 broken, "
           "shrunk to a minimal stream; an open finding is a choice the RFC leaves to the "
           "peer where it chose differently from the oracle. Hex is the stream after the "
           "opening handshake; in handshake cases the request is shown as drawn (the "
           "prober replaces its path and host with the target's).\n",
           "The peers: `examples/echo_server`; `tests/probe/peers.cjs server` (a ws "
           "`WebSocketServer` echoing every message, with an `error` listener on each socket); "
           "`tests/probe/peers.py server` (websockets' `serve`, compression off); the "
           "tungstenite and tokio-websockets echo servers of `benches/echo_loopback.rs` "
           "(read until an error, echo text and binary, then flush or poll on so that a "
           "queued close frame goes out; tungstenite queues none for a protocol error, "
           "hence its `dropped-without-close`); the clients are `examples/client --echo` and the "
           "`client` modes of the same two scripts, one process per case. "
           "`refused-valid-request` is the request with `Upgrade: websocket, foo`: the "
           "strategies read §4.2.1's \"containing the value websocket\" as a list that "
           "contains it; a stricter reading would allow only the single token.\n",
           "| peer | cases | passed | failures (kinds) | open (kinds) | time |",
           "|---|---|---|---|---|---|"]
    for title, r, _ in sections:
        kinds = sorted({f["kind"] for f in r["failures"]})
        opens = sorted({f["kind"] for f in r["open"]})
        out.append(f"| {title} | {r['cases']} | {r['passed']} | {len(r['failures'])} "
                   f"({', '.join(kinds) or '-'}) | {len(r['open'])} ({', '.join(opens) or '-'}) "
                   f"| {r['seconds']:.1f} s |")
    out.append("")
    for title, _, md in sections:
        out.append(f"## {title}\n")
        out.append(md.split("\n", 2)[2] if md.startswith("###") else md)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
