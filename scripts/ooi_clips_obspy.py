#!/usr/bin/env python3
"""Cross-check of onc-hydro's OOI clips against ObsPy: every FLAC that onc-hydro cut from OOI
raw miniSEED files (window files <out>/<REFDES>/audio/*.flac and clips <out>/clips/*_audio.flac,
each with a JSON sidecar naming its sources) is decoded by soundfile (libsndfile) and compared,
sample by sample, with the source files as ObsPy (libmseed) decodes them.

The expected clip is built here independently of onc-hydro's code, from the documented rule: a
source sample is taken when its time lies in the requested interval and after every sample taken
before (the archive's files overlap by microseconds where their starts drift); the clip's first
sample is the first taken, and a sample at time t lands at index round((t - t0) * rate); indices
no source sample lands on are the zero-filled gaps.

Usage:
  onc-hydro --sim --sim-time-scale 0 --sim-audio-rate 2000 fetch requests/mixed_onc_ooi.csv --out D
  onc-hydro --sim --sim-time-scale 0 sample --device RS03AXBS-LJ03A-09-HYDBBA302 \
      --from 2019-07-02T01:00:00Z --to 2019-07-02T05:00:00Z --count 20 --out D
  python3 scripts/ooi_clips_obspy.py D
  (the script runs these itself with --run [--bin target/debug/onc-hydro] [--rate 2000])
Needs: pip install obspy soundfile numpy. Exits 1 on any mismatch.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

import numpy as np
import soundfile as sf
from obspy import UTCDateTime, read

REFDES = "RS03AXBS-LJ03A-09-HYDBBA302"


def ns(text):
    return UTCDateTime(text).ns


def expected(sidecar, raw_dir, n, rate):
    """The clip as the documented rule builds it from ObsPy's traces: a sample is taken when its
    time lies in the requested interval and after everything taken before (files overlap where
    starts drift); the clip's first sample is the first one taken."""
    lo = ns(sidecar["requested"]["start"])
    hi = ns(sidecar["requested"]["end"])
    traces = [tr for name in sidecar["audio"]["sources"] for tr in read(os.path.join(raw_dir, name))]
    traces.sort(key=lambda tr: tr.stats.starttime.ns)
    # Integer nanoseconds: in float64, times near 1.56e18 ns round to 256 ns, which at 64 kHz
    # moves a sample 125 ns before a window's start onto it.
    rate = int(round(rate))
    step = 1e9 / rate
    cursor = lo
    taken = []
    for tr in traces:
        s0 = tr.stats.starttime.ns
        k = np.arange(tr.stats.npts, dtype=np.int64)
        t = s0 + (k * 1_000_000_000) // rate
        ok = (t >= cursor) & (t < hi)
        if ok.any():
            taken.append((t[ok], tr.data[ok]))
            # Covered up to where the next sample of this trace would be.
            cursor = s0 + ((int(k[ok][-1]) + 1) * 1_000_000_000) // rate
    want = np.zeros(n, dtype=np.int64)
    hit = np.zeros(n, dtype=bool)
    if not taken:
        return want, hit
    t0 = taken[0][0][0]
    for t, v in taken:
        k = np.rint((t - t0).astype(np.float64) / step).astype(np.int64)
        ok = (k >= 0) & (k < n)
        want[k[ok]] = v[ok]
        hit[k[ok]] = True
    return want, hit


def check(flac, sidecar_path, raw_dir):
    side = json.load(open(sidecar_path))
    info = sf.info(flac)
    data, rate = sf.read(flac, dtype="float64", always_2d=False)
    bits = side["audio"]["bits_per_sample"]
    got = np.rint(data * 2.0 ** (bits - 1)).astype(np.int64)
    want, hit = expected(side, raw_dir, len(got), rate)
    if not np.array_equal(got[hit], want[hit]):
        bad = int(np.sum(got[hit] != want[hit]))
        return False, f"{bad} of {int(hit.sum())} samples differ", info
    silent = ~hit
    if np.any(got[silent] != 0):
        return False, "non-zero samples where no source sample lands", info
    gaps = len(side["audio"]["gaps"])
    return True, f"{len(got)} samples equal ({int(silent.sum())} gap-filled, {gaps} gap(s) listed)", info


def run(binary, out, rate):
    base = [binary, "--sim", "--sim-time-scale", "0", "--sim-audio-rate", str(rate)]
    subprocess.run(base + ["fetch", "requests/mixed_onc_ooi.csv", "--out", out, "--quiet"],
                   check=False, stdout=subprocess.DEVNULL)
    subprocess.run(base + ["sample", "--device", REFDES, "--from", "2019-07-02T00:00:00Z",
                           "--to", "2019-07-02T02:00:00Z", "--count", "8", "--out", out,
                           "--quiet"], check=False, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", help="an onc-hydro --out folder with OOI windows/clips")
    ap.add_argument("--run", action="store_true", help="make the folder first with onc-hydro --sim")
    ap.add_argument("--bin", default="target/debug/onc-hydro")
    ap.add_argument("--rate", type=int, default=2000)
    a = ap.parse_args()
    if a.run:
        run(a.bin, a.out, a.rate)
    pairs = []
    for d in glob.glob(os.path.join(a.out, "*", "audio")):
        raw = os.path.join(os.path.dirname(d), "raw")
        if os.path.isdir(raw):
            for f in sorted(glob.glob(os.path.join(d, "*.flac"))):
                pairs.append((f, f[:-5] + ".json", raw))
    for f in sorted(glob.glob(os.path.join(a.out, "clips", "**", "*_audio.flac"), recursive=True)):
        side = f[: -len("_audio.flac")] + ".json"
        dev = json.load(open(side))["device"]
        raw = os.path.join(a.out, dev, "raw")
        if os.path.isdir(raw):
            pairs.append((f, side, raw))
    if not pairs:
        print("no OOI clips found", file=sys.stderr)
        return 1
    failed = 0
    total = 0
    for flac, side, raw in pairs:
        ok, msg, info = check(flac, side, raw)
        total += info.frames
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {os.path.relpath(flac, a.out)} ({info.subtype}, "
              f"{info.samplerate} Hz): {msg}")
    print(f"{len(pairs) - failed} of {len(pairs)} clips equal ObsPy's samples ({total} samples)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
