#!/usr/bin/env python3
"""Replays the recorded schedule of seed 004, scenario 2 against a running simulator.

The real run (Oceans 3.0, ICLISTENHF6324, 2024-04-01..03): 14 HSD plotRes requests of 12
five-minute windows (dpo_spectralDataDownsample=2), submitted 3 s apart, each polled every 30 s
until complete, files fetched by 4 download workers: 166 files in 102.6 s wall.

    cargo run --release -- sim serve --time-scale 1 --addr 127.0.0.1:8787 &
    python3 scripts/replay_seed004.py http://127.0.0.1:8787/

Prints the wall time; the simulator is calibrated to land within +-15 % of 102.6 s.
Standard library only. Loopback only: it refuses any other host.
"""
import json
from datetime import datetime, timedelta, timezone
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

TOKEN = "00000000-0000-4000-8000-000000000000"  # the simulator's demo token, not a secret
STAGGER_S, POLL_S, WORKERS, REQUESTS = 3.0, 30.0, 4, 14


def call(base, op, **q):
    q["token"] = TOKEN
    url = f"{base}api/{op}?{urllib.parse.urlencode(q)}"
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.status, r.read()


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8787/"
    host = urllib.parse.urlparse(base).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing non-loopback host {host}")
    if not base.endswith("/"):
        base += "/"
    pool = ThreadPoolExecutor(WORKERS)
    downloads, lock = [], threading.Lock()

    def one(i):
        # 14 one-hour requests of 12 five-minute windows, 2 h apart over the two days.
        start = datetime(2024, 4, 1, tzinfo=timezone.utc) + timedelta(hours=2 * i)
        frm = start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        to = (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        _, body = call(base, "dataProductDelivery/request", dataProductCode="HSD", extension="mat",
                       deviceCode="ICLISTENHF6324", dateFrom=frm, dateTo=to,
                       dpo_spectralDataDownsample="2")
        req = json.loads(body)
        print(f"request {req['dpRequestId']}: estimated {req.get('estimatedProcessingTime')}", flush=True)
        while True:
            _, body = call(base, "dataProductDelivery/run", dpRequestId=req["dpRequestId"])
            run = json.loads(body)[0]
            if run["status"] == "complete":
                break
            time.sleep(POLL_S)
        for k in range(1, run["fileCount"] + 1):
            fut = pool.submit(call, base, "dataProductDelivery/download", dpRunId=run["dpRunId"], index=k)
            with lock:
                downloads.append(fut)

    t0 = time.monotonic()
    threads = []
    for i in range(REQUESTS):
        th = threading.Thread(target=one, args=(i,))
        th.start()
        threads.append(th)
        time.sleep(STAGGER_S)
    for th in threads:
        th.join()
    ok = sum(1 for f in downloads if f.result()[0] == 200)
    wall = time.monotonic() - t0
    print(json.dumps({"files": ok, "wall_seconds": round(wall, 1), "recorded_seconds": 102.6,
                      "ratio": round(wall / 102.6, 3)}))


if __name__ == "__main__":
    main()
