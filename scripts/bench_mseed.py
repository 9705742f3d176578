#!/usr/bin/env python3
"""Side-by-side speed of miniSEED decoding: onc-hydro's pure-Rust reader against ObsPy
(libmseed, C) on the same files, one core.

The files are the simulator's OOI raw-data archive (5-minute, 64 kHz Steim-2 files in 4096-byte
records, 19.2 M samples each, as OOI's broadband hydrophones archive), fetched with
`onc-hydro --sim ooi raw`. For each file:
- ObsPy: `obspy.read(f)` in this process (imports excluded), best of --repeat;
- onc-hydro: `onc-hydro ooi mseed f` (decodes every record, checks every Steim integration
  constant, lists the traces), wall time of the whole process, best of --repeat.
Both run pinned to one core with `taskset -c 0` when it exists. That the two decode the same
samples is checked by scripts/mseed_obspy.py, not here.

Usage: python3 scripts/bench_mseed.py [--bin target/release/onc-hydro] [--repeat 3]
Needs: pip install obspy numpy.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

from obspy import read


def pin():
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default="target/release/onc-hydro")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    pin()
    taskset = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "raw")
        subprocess.run([a.bin, "--sim", "--sim-time-scale", "0", "ooi", "raw", "--device",
                        "RS03AXBS-LJ03A-09-HYDBBA302", "--from", "2019-07-02T00:00:00Z",
                        "--to", "2019-07-02T00:15:00Z", "--out", out, "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        files = sorted(glob.glob(os.path.join(out, "*", "*.mseed")))
        if not files:
            sys.exit("no files downloaded from the simulator")
        total_o = total_r = 0.0
        print(f"{'file':<60} {'samples':>10} {'ObsPy s':>8} {'ours s':>8} {'ratio':>6}")
        for f in files:
            best_o = best_r = float("inf")
            for _ in range(a.repeat):
                t = time.perf_counter()
                st = read(f)
                best_o = min(best_o, time.perf_counter() - t)
                t = time.perf_counter()
                subprocess.run(taskset + [a.bin, "ooi", "mseed", f], check=True,
                               stdout=subprocess.DEVNULL)
                best_r = min(best_r, time.perf_counter() - t)
            n = sum(tr.stats.npts for tr in st)
            total_o += best_o
            total_r += best_r
            print(f"{os.path.basename(f):<60} {n:>10} {best_o:>8.3f} {best_r:>8.3f} "
                  f"{best_o / best_r:>6.2f}")
        print(f"total: ObsPy {total_o:.3f} s, onc-hydro {total_r:.3f} s "
              f"(onc-hydro takes {total_r / total_o:.2f}x ObsPy's time)")


if __name__ == "__main__":
    main()
