"""Jupyter baseline for the benchmark's stateful-cell scenario.

Starts a real IPython kernel (Debian's python3-ipykernel) through jupyter_client, then answers one JSON line per
command line read from stdin, so the harness can interleave kernel cells with its own:
  {"cmd": "run", "code": "x = x + 1"}  ->  {"ms": <round trip>, "status": "ok"}
  {"cmd": "quit"}                       ->  shuts the kernel down and exits
The round trip is what a client needs before it holds the whole answer: from sending execute_request until both
the execute_reply (shell) and the kernel's return to idle (iopub, so every output has arrived) are in.
The first line written is {"ready": true, "start_ms": <kernel start-up>}.
"""
import json
import sys
import time

from jupyter_client.manager import start_new_kernel

TIMEOUT_S = 60


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def run(kc, code):
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    replied = idle = False
    status = "unknown"
    deadline = time.monotonic() + TIMEOUT_S
    while not (replied and idle):
        if time.monotonic() > deadline:
            raise TimeoutError(f"kernel did not answer {code!r} within {TIMEOUT_S} s")
        if not replied:
            reply = kc.get_shell_msg(timeout=TIMEOUT_S)
            if reply["parent_header"].get("msg_id") == msg_id:
                replied = True
                status = reply["content"]["status"]
            continue
        msg = kc.get_iopub_msg(timeout=TIMEOUT_S)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status":
            idle = msg["content"]["execution_state"] == "idle"
    return (time.perf_counter() - t0) * 1000, status


def main():
    t0 = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=TIMEOUT_S)
    try:
        say({"ready": True, "start_ms": (time.perf_counter() - t0) * 1000})
        for line in sys.stdin:
            req = json.loads(line)
            if req.get("cmd") == "quit":
                break
            ms, status = run(kc, req["code"])
            say({"ms": ms, "status": status})
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
