#!/usr/bin/env python3
"""Time the Python pipeline (soundfile + scipy + numpy) against `onc-hydro spectrogram` on the
same file, one core each, in one run.

Python side, per configuration: sf.read(path) → float64, scipy.signal.spectrogram(x, fs, 'hann',
nperseg, noverlap, nfft, detrend=False, scaling='density', mode='psd'), 10*log10(max(P, 1e-30)),
np.savez(psd_db, frequency_hz, time_s) — the same work `onc-hydro spectrogram --format npz` does.
Both are pinned to one CPU (sched_setaffinity / taskset) with BLAS/OpenMP threads at 1.

Configurations: nfft 1024 with 50 % overlap, and 1 s windows (nfft = fs) with 50 % overlap.
Without a FLAC given, a 5-minute 64 kHz 24-bit mono test file (noise + tones) is generated.

Usage: python3 scripts/bench_scipy.py [--flac FILE] [--bin target/release/onc-hydro] [--repeat 3]
Skips cleanly (exit 0) when numpy, scipy or soundfile is missing.
"""
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

try:
    import numpy as np
    import scipy.signal as ss
    import soundfile as sf
except ImportError as e:  # pragma: no cover
    print(f"bench_scipy: skipped ({e}); pip install numpy scipy soundfile")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_flac(path, fs=64000, seconds=300):
    rng = np.random.default_rng(1)
    t = np.arange(fs * seconds) / fs
    x = 0.05 * rng.standard_normal(t.size) + 0.2 * np.sin(2 * np.pi * 1000 * t) \
        + 0.1 * np.sin(2 * np.pi * 20 * t)
    sf.write(path, np.clip(x, -1, 1 - 2 ** -23), fs, subtype="PCM_24")


def python_pipeline(path, nfft, out):
    x, fs = sf.read(path)
    f, t, p = ss.spectrogram(x, fs, window="hann", nperseg=nfft, noverlap=nfft // 2, nfft=nfft,
                             detrend=False, scaling="density", mode="psd")
    db = 10.0 * np.log10(np.maximum(p, 1e-30))
    np.savez(out, psd_db=db, frequency_hz=f, time_s=t)
    return x.size / fs


def cpu_now():
    """CPU seconds (user + system) of this process and of its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def best_of(fn, repeat):
    """Best wall and best CPU seconds over `repeat` runs. CPU time is the fair one-core figure
    on a shared machine, where wall time also counts waiting for the core."""
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), cpu_now()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(cpu_now() - c0)
    return min(walls), min(cpus)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flac")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "onc-hydro"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    tmp = tempfile.mkdtemp(prefix="bench_scipy_")
    try:
        flac = args.flac or os.path.join(tmp, "bench.flac")
        if not args.flac:
            make_flac(flac)
        info = sf.info(flac)
        duration = info.frames / info.samplerate
        print(f"file: {flac} ({duration:.0f} s, {info.samplerate} Hz, {info.subtype})")
        have_bin = os.path.exists(args.bin)
        if not have_bin:
            print(f"(no binary at {args.bin}: build with `cargo build --release` to time onc-hydro)")
        cpu = str(sorted(os.sched_getaffinity(0))[0]) if hasattr(os, "sched_getaffinity") else None
        print("seconds per file, best of", args.repeat, "(wall / CPU user+sys); ×RT and speed-up from CPU")
        print(f"{'config':18} {'python wall/cpu':>16} {'×RT':>6} {'onc-hydro wall/cpu':>19} {'×RT':>6} {'speed-up':>9}")
        for label, nfft in (("nfft 1024, 50 %", 1024), ("1 s window, 50 %", info.samplerate)):
            pw, pc = best_of(lambda: python_pipeline(flac, nfft, os.path.join(tmp, "py.npz")), args.repeat)
            line = f"{label:18} {pw:7.3f} / {pc:6.3f} {duration / pc:6.0f}"
            if have_bin:
                cmd = [args.bin, "spectrogram", flac, "--out", os.path.join(tmp, "rs"), "--format", "npz",
                       "--nfft", str(nfft), "--overlap", "0.5", "--jobs", "1"]
                if cpu is not None and shutil.which("taskset"):
                    cmd = ["taskset", "-c", cpu] + cmd
                rw, rc = best_of(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                                                        stderr=subprocess.DEVNULL), args.repeat)
                line += f" {rw:10.3f} / {rc:6.3f} {duration / rc:6.0f} {pc / rc:8.2f}×"
                line += f" (wall {pw / rw:.2f}×)"
            print(line)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
