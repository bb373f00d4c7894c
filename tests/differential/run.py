#!/usr/bin/env python3
"""Differential test: streams from wsmachine's strategies (examples/gen_streams), each
with the events RFC 6455 requires, fed to Python's wsproto and websockets (their
sans-I/O protocols, OPEN state), comparing messages, pings, pongs and the close code.

Every disagreement is put in a class. Known classes carry the RFC section that decides
who is right; a disagreement in no known class fails the run. The expected events come
from the strategies' model, which the test suite checks against wsmachine
(tests/strategies_agree.rs), so a class where wsmachine were wrong would show up there
first.

Usage: gen_streams | run.py [--min N] [--report FILE]
"""

import argparse
import codecs
import json
import sys
from collections import Counter, defaultdict

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidState
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage


def expected_of(stream):
    out = []
    for e in stream["events"]:
        kind = e["event"]
        if kind == "message":
            if e["kind"] == "text":
                out.append(("text", e["data"]))
            else:
                out.append(("binary", bytes.fromhex(e["hex"])))
        elif kind in ("ping", "pong"):
            out.append((kind, bytes.fromhex(e["hex"])))
        elif kind == "close":
            out.append(("close", e["code"]))
    return out


def run_wsproto(role, data):
    conn = Connection(ConnectionType.SERVER if role == "server" else ConnectionType.CLIENT)
    out = []
    text, binary = None, None
    conn.receive_data(data)
    events = list(conn.events())
    if not any(isinstance(e, CloseConnection) for e in events):
        conn.receive_data(None)
        events += list(conn.events())
    for event in events:
        if isinstance(event, TextMessage):
            text = (text or "") + event.data
            if event.message_finished:
                out.append(("text", text))
                text = None
        elif isinstance(event, BytesMessage):
            binary = (binary or b"") + bytes(event.data)
            if event.message_finished:
                out.append(("binary", binary))
                binary = None
        elif isinstance(event, Ping):
            out.append(("ping", bytes(event.payload)))
        elif isinstance(event, Pong):
            out.append(("pong", bytes(event.payload)))
        elif isinstance(event, CloseConnection):
            out.append(("close", int(event.code)))
            break
    return out


def run_websockets(role, data):
    if role == "server":
        proto = ServerProtocol(state=State.OPEN, max_size=None)
    else:
        proto = ClientProtocol(parse_uri("ws://example.com/"), state=State.OPEN, max_size=None)
    proto.receive_data(data)
    try:
        proto.receive_eof()
    except (EOFError, InvalidState):
        pass
    out = []
    message = None
    for frame in proto.events_received():
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            decoder = codecs.getincrementaldecoder("utf-8")() if frame.opcode == Opcode.TEXT else None
            message = [frame.opcode, b"", decoder]
        elif frame.opcode == Opcode.CONT and message is not None:
            pass
        elif frame.opcode in (Opcode.PING, Opcode.PONG):
            out.append(("ping" if frame.opcode == Opcode.PING else "pong", bytes(frame.data)))
            continue
        else:
            continue
        if message is None:
            continue
        message[1] += bytes(frame.data)
        # The sans-I/O protocol passes text frames on undecoded; websockets' I/O layer
        # decodes them as they come and fails the connection with 1007 on an error.
        if message[2] is not None:
            try:
                message[2].decode(bytes(frame.data), final=frame.fin)
            except UnicodeDecodeError:
                out.append(("close", 1007))
                return out
        if frame.fin:
            kind, payload, _ = message
            out.append(("text", payload.decode()) if kind == Opcode.TEXT else ("binary", payload))
            message = None
    if proto.close_rcvd is not None and proto.close_rcvd_then_sent is not None:
        code = int(proto.close_rcvd.code)
    elif proto.close_sent is not None and proto.close_rcvd is None:
        code = int(proto.close_sent.code)
    elif proto.close_rcvd is not None:
        code = int(proto.close_rcvd.code)
    else:
        code = 1006
    out.append(("close", code))
    return out


# Known classes of disagreement: (library, violation) -> (the difference, the RFC
# section that decides it, who is right). Filled from observed runs; each entry says
# why the difference exists.
KNOWN = {
    ("websockets", "length-top-bit", "close 1006 vs 1002"): (
        "5.2",
        "a 64-bit payload length's most significant bit MUST be 0. websockets reads the "
        "length without checking it and waits for a payload of 2^63 bytes or more, which "
        "cannot arrive, so it ends with 1006 when the stream does (or 1009 with a "
        "max_size). wsmachine and wsproto fail the frame at once with 1002. wsmachine is "
        "right: the frame breaks §5.2's grammar and no later byte can make it valid.",
    ),
}

# Differences of architecture, modelled by the drivers above rather than reported:
# - websockets' sans-I/O layer passes text frames on without checking UTF-8; its I/O
#   layer decodes them and fails with 1007 (§8.1). run_websockets does the same.
# - wsproto reports events lazily; they are collected before the end of the stream is
#   given, as an application would.


def classify(impl, stream, got, want):
    violation = stream["violation"] or "valid"
    if got[:-1] != want[:-1]:
        n = min(len(got), len(want))
        where = next((i for i in range(n) if got[i] != want[i]), n)
        kind = f"events differ at {where}: got {describe(got, where)}, want {describe(want, where)}"
        shape = "events"
    else:
        kind = f"close code {got[-1][1]} instead of {want[-1][1]}"
        shape = f"close {got[-1][1]} vs {want[-1][1]}"
    return (impl, violation, shape), kind


def describe(events, i):
    if i >= len(events):
        return "nothing"
    name, value = events[i]
    if isinstance(value, (bytes, str)):
        return f"{name}({len(value)})"
    return f"{name}({value})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--min", type=int, default=10_000, help="fail with fewer streams")
    parser.add_argument("--report", help="write the disagreement classes here (Markdown)")
    args = parser.parse_args()

    total = 0
    by_violation = Counter()
    classes = defaultdict(list)
    for line in sys.stdin:
        stream = json.loads(line)
        total += 1
        by_violation[stream["violation"] or "valid"] += 1
        data = bytes.fromhex(stream["input"])
        want = expected_of(stream)
        for impl, run in (("wsproto", run_wsproto), ("websockets", run_websockets)):
            try:
                got = run(stream["role"], data)
            except Exception as e:  # a crash in the peer library is a disagreement too
                got = [("crash", f"{type(e).__name__}: {e}")]
            if got != want:
                key, detail = classify(impl, stream, got, want)
                classes[key].append((detail, stream))

    print(f"{total} streams ({dict(sorted(by_violation.items()))})")
    unknown = []
    for key in sorted(classes):
        impl, violation, shape = key
        items = classes[key]
        known = KNOWN.get((impl, violation, shape))
        label = f"{impl:10} {violation:26} {shape:20} {len(items):5} streams"
        if known:
            print(f"  {label}  RFC {known[0]}: {known[1]}")
        else:
            print(f"  {label}  UNCLASSIFIED, e.g. {items[0][0]}: {items[0][1]['input'][:120]}")
            unknown.append(key)
    if args.report:
        write_report(args.report, total, by_violation, classes)
    if total < args.min:
        print(f"FAIL: only {total} streams, need {args.min}")
        sys.exit(1)
    if unknown:
        print(f"FAIL: {len(unknown)} unclassified disagreement classes")
        sys.exit(1)
    print("differential: every disagreement is classified")


def write_report(path, total, by_violation, classes):
    lines = [
        "# Differential results",
        "",
        "Written by `tests/differential/run.py --report` from `examples/gen_streams` output;",
        "`.ci/run` runs the same comparison on every change.",
        "",
        f"{total} streams: " + ", ".join(f"{k} {v}" for k, v in sorted(by_violation.items())) + ".",
        "Each was fed to wsproto and to websockets' sans-I/O protocol (OPEN state, whole",
        "stream, then end of stream) and their messages, pings, pongs and close code were",
        "compared with what wsmachine's oracle and its strategies' model require.",
        "",
        "## Disagreement classes",
        "",
    ]
    if not classes:
        lines.append("None.")
    for key in sorted(classes):
        impl, violation, shape = key
        known = KNOWN.get(key, ("?", "unclassified"))
        lines.append(f"- {impl}, {violation}: {shape}, {len(classes[key])} streams. RFC {known[0]}: {known[1]}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
