#!/usr/bin/env python3
"""Runs the Autobahn TestSuite (via the `kosoku` package) against wsmachine in both
roles and judges the run from each report's index.json.

  server role: kosoku drives examples/echo_server, two cases at a time
  client role: examples/autobahn_client talks to `kosoku -m fuzzingserver`, two
               cases at a time
  and the async glue (wsmachine::tokio) in both roles: examples/tokio_echo, and
  autobahn_client --tokio, on every case but the permessage-deflate ones (12.*,
  13.*: several minutes each, and the same code paths as the blocking runs')

A case passes when its behaviour is OK or INFORMATIONAL and its close behaviour is OK
or INFORMATIONAL; UNIMPLEMENTED is a failure in every case, 12.* and 13.*
(permessage-deflate) included, so the servers run with --deflate and the client offers
it. Every one of the suite's cases must appear in the report: a case that never ran is
a failure.

Usage: run.py --kosoku PATH --bin DIR [--out DIR] [--summary FILE]
       run.py --self-test
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from loopback import free_port, wait_for_port  # noqa: E402


EXPECTED_CASES = 517
PASSING = {"OK", "INFORMATIONAL"}


def run_kosoku(args, attempts=3, timeout=600):
    """kosoku has been seen to abort (exit 134) after writing a complete report;
    such a run is retried. Exit 1 is normal whenever any case is UNIMPLEMENTED."""
    for attempt in range(attempts):
        proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, text=True)
        if proc.returncode in (0, 1):
            return proc.stdout
        print(f"kosoku exited {proc.returncode} (attempt {attempt + 1}); retrying",
              file=sys.stderr)
    raise RuntimeError(f"kosoku kept failing:\n{proc.stdout[-2000:]}")


def judge(index_path, role, expected=EXPECTED_CASES):
    with open(index_path) as f:
        index = json.load(f)
    if len(index) != 1:
        raise RuntimeError(f"{role}: expected one agent in {index_path}, got {list(index)}")
    cases = next(iter(index.values()))
    verdicts = Counter()
    failures = []
    for case_id, case in cases.items():
        behavior, close = case["behavior"], case["behaviorClose"]
        verdicts[behavior] += 1
        if behavior not in PASSING or close not in PASSING:
            failures.append(f"{case_id}: behavior={behavior} close={close}")
    if len(cases) != expected:
        failures.append(f"only {len(cases)} of {expected} cases ran")
    durations = {k: c["duration"] for k, c in cases.items() if k.startswith("9.")}
    return verdicts, failures, durations


# The permessage-deflate cases, left out of the tokio_echo run.
DEFLATE_CASES = 216


def server_role(kosoku, bin_dir, out, example="echo_server", extra=()):
    port = free_port()
    server = subprocess.Popen([os.path.join(bin_dir, example), "--addr", f"127.0.0.1:{port}",
                               "--deflate"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        started = time.monotonic()
        run_kosoku([kosoku, f"127.0.0.1:{port}", "-o", out, *extra])
        elapsed = time.monotonic() - started
    finally:
        server.kill()
        server.wait()
    return elapsed


def report_complete(path):
    """Whether the report exists and is whole JSON: the fuzzing server writes it in
    place, so a file that exists may still be empty or cut short."""
    try:
        with open(path) as f:
            json.load(f)
        return True
    except (OSError, ValueError):
        return False


def client_role(kosoku, bin_dir, out, extra=(), client_extra=()):
    port = free_port()
    fuzzing = subprocess.Popen([kosoku, "-m", "fuzzingserver", f"127.0.0.1:{port}", "-o", out,
                                *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port)
        started = time.monotonic()
        client = subprocess.run([os.path.join(bin_dir, "autobahn_client"), f"ws://127.0.0.1:{port}",
                                 "--parallel", "2", *client_extra],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                timeout=600)
        elapsed = time.monotonic() - started
        if client.returncode != 0:
            raise RuntimeError(f"autobahn_client failed:\n{client.stdout[-2000:]}")
        # The report is written on updateReports; give the server a moment.
        deadline = time.monotonic() + 30
        index = os.path.join(out, "index.json")
        while not report_complete(index) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        fuzzing.kill()
        fuzzing.wait()
    return elapsed


def self_test():
    """The judge must fail bad reports: a NON-STRICT case, a wrong close, an
    UNIMPLEMENTED case (deflate's included), a missing case."""
    import tempfile

    def verdict(cases):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"agent": cases}, f)
        try:
            return judge(f.name, "test")[1]
        finally:
            os.unlink(f.name)

    good = {f"1.1.{i}": {"behavior": "OK", "behaviorClose": "OK", "duration": 1}
            for i in range(EXPECTED_CASES - 2)}
    good["12.1.1"] = {"behavior": "OK", "behaviorClose": "OK", "duration": 1}
    good["7.13.1"] = {"behavior": "INFORMATIONAL", "behaviorClose": "INFORMATIONAL", "duration": 1}
    assert verdict(good) == [], verdict(good)
    for case_id, bad in [("1.1.1", {"behavior": "NON-STRICT", "behaviorClose": "OK"}),
                         ("1.1.2", {"behavior": "OK", "behaviorClose": "WRONG CODE"}),
                         ("1.1.3", {"behavior": "UNIMPLEMENTED", "behaviorClose": "OK"}),
                         ("1.1.4", {"behavior": "FAILED", "behaviorClose": "OK"}),
                         ("12.1.1", {"behavior": "UNIMPLEMENTED", "behaviorClose": "UNIMPLEMENTED"})]:
        cases = dict(good)
        cases[case_id] = dict(bad, duration=1)
        assert len(verdict(cases)) == 1, (case_id, verdict(cases))
    missing = dict(good)
    del missing["1.1.0"]
    assert verdict(missing) == [f"only {EXPECTED_CASES - 1} of {EXPECTED_CASES} cases ran"]
    print("judge self-test passed")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kosoku", required=True, help="path to the kosoku executable")
    parser.add_argument("--bin", required=True, help="directory with echo_server and autobahn_client")
    parser.add_argument("--out", default="target/autobahn", help="where the reports go")
    parser.add_argument("--summary", help="write a Markdown summary of the results here")
    args = parser.parse_args()

    shutil.rmtree(args.out, ignore_errors=True)
    results = {}
    ok = True
    no_deflate = ("-x", "12.*", "-x", "13.*")
    roles = (("server", lambda k, b, o: server_role(k, b, o, extra=("-p", "2")), EXPECTED_CASES),
             ("client", client_role, EXPECTED_CASES),
             ("server (tokio_echo)", lambda k, b, o: server_role(k, b, o, "tokio_echo", no_deflate),
              EXPECTED_CASES - DEFLATE_CASES),
             ("client (autobahn_client --tokio)",
              lambda k, b, o: client_role(k, b, o, no_deflate, ("--tokio",)),
              EXPECTED_CASES - DEFLATE_CASES))
    for role, run, expected in roles:
        out = os.path.join(args.out, role.split()[0] + ("-tokio" if "tokio" in role else ""))
        elapsed = run(args.kosoku, args.bin, out)
        verdicts, failures, durations = judge(os.path.join(out, "index.json"), role, expected)
        results[role] = (verdicts, durations, elapsed)
        print(f"{role} role: {dict(sorted(verdicts.items()))} in {elapsed:.1f} s")
        for failure in failures:
            print(f"  FAIL {failure}")
        ok &= not failures

    if args.summary:
        write_summary(args.summary, results)
    if not ok:
        sys.exit(1)
    print("Autobahn: every case OK, permessage-deflate (12.*, 13.*) included")


def case_key(case_id):
    return tuple(int(part) for part in case_id.split("."))


def write_summary(path, results):
    lines = [
        "# Autobahn TestSuite results",
        "",
        "Written by `tests/autobahn/run.py --summary` (kosoku, the native Python port of the",
        "Autobahn cases); `.ci/run` runs the same suite on every change.",
        "",
        "| role | " + " | ".join(["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]) + " | wall time |",
        "|---|---|---|---|---|---|---|",
    ]
    for role, (verdicts, _, elapsed) in results.items():
        if role not in ("server", "client"):
            continue
        counts = [str(verdicts.get(v, 0)) for v in ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]]
        lines.append(f"| {role} | " + " | ".join(counts) + f" | {elapsed:.1f} s |")
    lines += [
        "",
        "INFORMATIONAL: 7.1.6, 7.13.1, 7.13.2 have no pass/fail verdict by design.",
        "12.* and 13.* (permessage-deflate, RFC 7692): the servers run with `--deflate`,",
        "the client offers it. Each role runs two cases at a time (`kosoku -p 2`,",
        "`autobahn_client --parallel 2`); most of the wall time is the deflate cases'",
        "thousands of messages, compressed and inflated on both sides.",
        "",
        "## 9.* (limits and performance) case durations, ms",
        "",
        "| case | server role | client role |",
        "|---|---|---|",
    ]
    server = results["server"][1]
    client = results["client"][1]
    for case_id in sorted(server, key=case_key):
        lines.append(f"| {case_id} | {server[case_id]} | {client.get(case_id, '')} |")
    lines.append(f"| total | {sum(server.values())} | {sum(client.values())} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
