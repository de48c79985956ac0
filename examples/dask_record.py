#!/usr/bin/env python3
"""Record an Exit Studio trace on a Dask cluster, one shard per task.

    python3 examples/dask_record.py MODEL DATA --shards N --workers W --out DIR \\
        [--scheduler ADDRESS] [--cli COMMAND] [-- INFER_OPTIONS ...]

Each shard I (0 to N-1) runs the studio's own CLI on a Dask worker:

    exit-studio infer MODEL DATA --shard I/N --out DIR/shard-I.npz INFER_OPTIONS...

Shard I of N over n samples holds samples [floor(I*n/N), floor((I+1)*n/N)), so
the shards, taken in order, are the whole dataset. When every shard is written,
merge them into one trace on any machine with the studio:

    exit-studio import-trace DIR/shard-*.npz

Without --scheduler, a LocalCluster of W worker processes starts on this
machine, and each shard's onnxruntime gets cpu_count // W threads unless
INFER_OPTIONS give --threads. With --scheduler ADDRESS (tcp://host:8786) the
shards go to that cluster: MODEL, DATA and DIR must then be the same paths on
every worker (a shared filesystem), and the CLI must be installed there
(--cli "exit-studio" for an installed one).

Progress is printed per shard as it finishes. A shard that fails stops the job:
its exit code and the CLI's message are printed, the shards not yet finished
are cancelled, and the script exits with 1. Bad usage exits with 2.

Needs Dask's distributed package (Debian: python3-distributed; pip: "dask[distributed]").
"""
import argparse
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time

REPO_CLI = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin", "exit-studio.js")


def shard_file(out_dir, index):
    return os.path.join(out_dir, f"shard-{index}.npz")


def run_shard(cli, model, data, index, count, out_dir, infer_options, cwd):
    """Runs on a worker: one shard through the CLI. Returns what happened rather than raising,
    so the client can say which shard failed and why without a remote traceback."""
    out = shard_file(out_dir, index)
    cmd = [*cli, "infer", model, data, "--shard", f"{index}/{count}", "--out", out, "--json", *infer_options]
    started = time.monotonic()
    # The worker keeps its running shards, so that stop_shards can cancel them when the job stops early.
    from distributed import get_worker
    running = get_worker().__dict__.setdefault("exit_studio_shards", set())
    try:
        os.makedirs(out_dir, exist_ok=True)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
        running.add(p)
        try:
            stdout, stderr = p.communicate()
        finally:
            running.discard(p)
        code = p.returncode
    except OSError as e:  # the CLI (or node) is missing on this worker, or DIR cannot be made
        code, stdout, stderr = 127, "", f"{e}\n"
    return {
        "index": index,
        "code": code,
        "stdout": stdout,
        "stderr": stderr,
        "seconds": time.monotonic() - started,
        "host": socket.gethostname(),
        "command": shlex.join(cmd),
    }


def stop_shards(dask_worker):
    """Runs on every worker when the job stops early (a failed shard, Ctrl-C): Dask cannot interrupt
    a running task, so its CLI is sent SIGINT, on which it cancels cleanly and writes nothing."""
    shards = list(getattr(dask_worker, "exit_studio_shards", ()))
    for p in shards:
        p.send_signal(signal.SIGINT)
    return len(shards)


def parse_args(argv):
    if "--" in argv:
        at = argv.index("--")
        argv, infer_options = argv[:at], argv[at + 1:]
    else:
        infer_options = []
    ap = argparse.ArgumentParser(
        prog="dask_record.py",
        description="Record an Exit Studio trace on a Dask cluster, one shard per task; "
        "options after -- go to every shard's `exit-studio infer`.",
    )
    ap.add_argument("model", metavar="MODEL", help="the multi-exit .onnx model")
    ap.add_argument("data", metavar="DATA", help="the dataset (.npy, .npz, .csv, .jsonl or a folder of images)")
    ap.add_argument("--shards", type=int, required=True, metavar="N", help="how many shards to split the dataset into")
    ap.add_argument("--workers", type=int, metavar="W", help="worker processes of the local cluster (default: min(N, CPUs))")
    ap.add_argument("--out", required=True, metavar="DIR", help="folder for the shard files (shard-I.npz)")
    ap.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler (default: start a local cluster)")
    ap.add_argument("--cli", metavar="COMMAND", help=f'how to run the studio on a worker (default: "node {REPO_CLI}")')
    args = ap.parse_args(argv)
    if args.shards < 1:
        ap.error("--shards must be at least 1")
    if args.workers is not None and args.workers < 1:
        ap.error("--workers must be at least 1")
    if args.scheduler and args.workers is not None:
        ap.error("--workers sizes the local cluster; a cluster given with --scheduler has its own workers")
    args.workers = args.workers or min(args.shards, os.cpu_count() or 1)
    args.cli = shlex.split(args.cli) if args.cli else ["node", REPO_CLI]
    args.infer_options = infer_options
    return args, ap


def describe(place):
    last = place["first"] + place["samples"] - 1
    return f"samples {place['first']}–{last} of {place['total']}"


def main(argv):
    args, ap = parse_args(argv)
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        print("dask_record.py: needs Dask's distributed package (apt-get install python3-distributed, or pip install 'dask[distributed]')", file=sys.stderr)
        return 2
    model, data, out_dir = (os.path.abspath(p) for p in (args.model, args.data, args.out))
    options = list(args.infer_options)
    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
        where = f"the cluster at {args.scheduler}"
        cwd = None
    else:
        for path in (model, data):
            if not os.path.exists(path):
                ap.error(f"{path}: no such file or folder")
        if "--threads" not in options:
            # W shards at once on one machine: share its cores instead of each taking them all.
            options += ["--threads", str(max(1, (os.cpu_count() or 1) // args.workers))]
        import logging
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        where = f"a local cluster of {args.workers} worker{'s' if args.workers > 1 else ''}"
        cwd = os.getcwd()  # relative paths in INFER_OPTIONS (--labels FILE) mean what they mean here
    n = args.shards
    print(f"recording {os.path.basename(model)} on {os.path.basename(data)} in {n} shard{'s' if n > 1 else ''} on {where}; files in {out_dir}", flush=True)
    started = time.monotonic()
    futures = [
        client.submit(run_shard, args.cli, model, data, i, n, out_dir, options, cwd, key=f"exit-studio-shard-{i}-of-{n}-{time.time_ns()}", pure=False)
        for i in range(n)
    ]
    done = 0
    samples = 0
    finished = False
    try:
        for future in as_completed(futures):
            try:
                r = future.result()
            except Exception as e:  # the task itself failed: a worker lost again and again, a cancelled job
                print(f"a shard failed before its CLI could report: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
                return 1
            i = r["index"]
            if r["code"] != 0:
                print(f"shard {i}/{n} failed on {r['host']} (exit {r['code']}) after {r['seconds']:.1f} s:", file=sys.stderr)
                print(f"  command: {r['command']}", file=sys.stderr)
                for line in (r["stderr"].strip() or "(no message)").splitlines():
                    print(f"  {line}", file=sys.stderr)
                print("stopping: the other shards are cancelled; fix the cause and run the job again", file=sys.stderr, flush=True)
                return 1
            place = json.loads(r["stdout"])["shard"]
            done += 1
            samples += place["samples"]
            print(
                f"shard {i}/{n} done on {r['host']} in {r['seconds']:.1f} s: {describe(place)} "
                f"[{done}/{n} shards, {samples}/{place['total']} samples]",
                flush=True,
            )
        finished = True
    finally:
        if not finished:
            for f in futures:
                f.cancel()
            try:
                client.run(stop_shards)
            except Exception:  # a worker already gone has nothing left to stop
                pass
        client.close()
        if cluster is not None:
            cluster.close()
    print(f"all {n} shards written in {time.monotonic() - started:.1f} s; merge them into one trace with:", flush=True)
    print(f"  exit-studio import-trace {shlex.quote(out_dir)}/shard-*.npz", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("interrupted: the shards not yet finished were cancelled", file=sys.stderr)
        sys.exit(130)
