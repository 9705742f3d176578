#!/usr/bin/env python3
"""Cross-check of onc-hydro's miniSEED reader and writer against ObsPy (libmseed underneath).

Part 1 (our writer -> ObsPy): the simulator's raw-data archive files (Steim-2, 4096-byte records,
written by onc-hydro's writer; including the file with two traces around a gap) are downloaded
with `onc-hydro --sim ooi raw`, decoded by ObsPy and by `onc-hydro ooi mseed --npz`, and every
sample, start time, rate and trace count compared.

Part 2 (ObsPy's writer -> our reader): ObsPy writes files with Steim-1, Steim-2, int32, int16
and float32/64 encodings, 256/512/4096-byte records, big- and little-endian, two channels and a
gapped trace with microsecond start times; onc-hydro decodes them and the same comparison runs.

Usage: python3 scripts/mseed_obspy.py [--bin target/debug/onc-hydro] [--rate 64000]
Needs: pip install obspy numpy. Prints one line per file and a summary; exits 1 on any mismatch.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from obspy import Stream, Trace, UTCDateTime, read


def ns(t):
    """UTCDateTime -> integer ns since 1970."""
    return t.ns if hasattr(t, "ns") else int(round(float(t.timestamp) * 1e9))


def ours(binary, files, outdir):
    subprocess.run([binary, "ooi", "mseed", *files, "--npz", outdir], check=True,
                   stdout=subprocess.DEVNULL)
    got = {}
    for f in files:
        z = np.load(os.path.join(outdir, os.path.basename(f) + ".npz"))
        n = len(z["start_ns"])
        got[f] = [(int(z["start_ns"][i]), float(z["rate"][i]), z[f"trace{i}"]) for i in range(n)]
    return got


def compare(f, mine, st, stats):
    st = st.copy()
    st.sort(keys=["network", "station", "location", "channel", "starttime"])
    # ObsPy keeps one trace per run of records; merge touching ones as libmseed's reader does.
    st.merge(method=-1)
    theirs = [(ns(tr.stats.starttime), float(tr.stats.sampling_rate), tr.data) for tr in st]
    ok = len(mine) == len(theirs)
    samples = 0
    worst_dt = 0
    for (s1, r1, d1), (s2, r2, d2) in zip(mine, theirs):
        worst_dt = max(worst_dt, abs(s1 - s2))
        same = (r1 == r2 and len(d1) == len(d2) and
                np.array_equal(d1.astype(np.float64), d2.astype(np.float64)))
        ok &= same and s1 == s2
        samples += len(d1)
    stats["files"] += 1
    stats["samples"] += samples
    stats["bad"] += 0 if ok else 1
    print(f"{'OK ' if ok else 'BAD'} {os.path.basename(f)}: {len(mine)} traces (ObsPy {len(theirs)}), "
          f"{samples} samples, max start difference {worst_dt} ns")


def part1(binary, work, rate, stats):
    out = os.path.join(work, "sim")
    cmd = [binary, "--sim", "--sim-time-scale", "0"]
    if rate != 64000:
        cmd += ["--sim-audio-rate", str(rate)]
    # 00:24-00:36 covers file 4, the two-trace file 5, file 6 ... and the short file 10 region.
    cmd += ["ooi", "raw", "--device", "RS03AXBS-LJ03A-09-HYDBBA302",
            "--from", "2019-07-02T00:24:00Z", "--to", "2019-07-02T00:31:00Z", "--out", out, "--quiet"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    files = sorted(glob.glob(os.path.join(out, "*", "*.mseed")))
    if not files:
        sys.exit("no files downloaded from the simulator")
    mine = ours(binary, files, os.path.join(work, "npz1"))
    for f in files:
        compare(f, mine[f], read(f), stats)


def part2(binary, work, stats):
    rng = np.random.default_rng(7)
    files = []
    walk = np.cumsum(rng.integers(-3000, 3000, 50_000)).astype(np.int32)
    big = (rng.standard_normal(30_000) * 2e6).astype(np.int32)  # needs 30-bit differences
    t0 = UTCDateTime("2019-07-02T00:00:00.000015")
    for enc in ["STEIM1", "STEIM2", "INT32", "INT16", "FLOAT32", "FLOAT64"]:
        for reclen in [256, 512, 4096]:
            for order in [">", "<"]:
                if enc == "INT16":
                    data = (walk % 30000 - 15000).astype(np.int16)
                elif enc == "FLOAT32":
                    data = walk.astype(np.float32) / 7
                elif enc == "FLOAT64":
                    data = walk.astype(np.float64) / 7
                else:
                    data = walk
                a = Trace(data=data[:20_000].copy())
                a.stats.update(dict(network="OO", station="AXBA1", channel="YDH", sampling_rate=64000,
                               starttime=t0))
                # Same channel after a 0.25 s gap, and a second channel.
                b = Trace(data=data[20_000:].copy())
                b.stats.update(dict(network="OO", station="AXBA1", channel="YDH", sampling_rate=64000,
                               starttime=t0 + 20_000 / 64000 + 0.25))
                c = Trace(data=data[:5000].copy())
                c.stats.update(dict(network="OO", station="HYVM1", channel="YDH", sampling_rate=200,
                               starttime=UTCDateTime("2020-02-29T23:59:59.123456")))
                traces = [a, b, c]
                if enc in ("STEIM2", "INT32", "STEIM1"):
                    d = Trace(data=big.copy())
                    d.stats.update(dict(network="OO", station="BIG", channel="YDH", sampling_rate=64000,
                                   starttime=t0))
                    traces.append(d)
                f = os.path.join(work, f"obspy_{enc}_{reclen}_{'be' if order == '>' else 'le'}.mseed")
                Stream(traces).write(f, format="MSEED", encoding=enc, reclen=reclen, byteorder=order)
                files.append(f)
    mine = ours(binary, files, os.path.join(work, "npz2"))
    for f in files:
        compare(f, mine[f], read(f), stats)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", default="target/debug/onc-hydro")
    p.add_argument("--rate", type=int, default=64000, help="simulator sample rate (part 1)")
    p.add_argument("--skip-sim", action="store_true", help="only part 2")
    args = p.parse_args()
    stats = {"files": 0, "samples": 0, "bad": 0}
    with tempfile.TemporaryDirectory() as work:
        print("Part 1: onc-hydro's writer (simulator files) read by ObsPy and by onc-hydro")
        if not args.skip_sim:
            part1(args.bin, work, args.rate, stats)
        print("Part 2: ObsPy's writer read by onc-hydro")
        part2(args.bin, work, stats)
    print(json.dumps(stats))
    sys.exit(1 if stats["bad"] else 0)


if __name__ == "__main__":
    main()
