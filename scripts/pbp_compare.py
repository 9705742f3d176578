#!/usr/bin/env python3
"""Compare `onc-hydro soundscape` hybrid millidecade (HMD) spectra with MBARI's pbp.

Usage (needs `pip install mbari-pbp xarray netCDF4 soundfile`):
    cargo build && python3 scripts/pbp_compare.py [--bin target/debug/onc-hydro]
        [--fs 16000] [--minutes 60] [--workdir /tmp/pbp_compare] [--jobs N]
    python3 scripts/pbp_compare.py --audio-dir DIR     # the simulator's audio (below)

With --audio-dir, the FLACs in DIR (ONC archive names, starts on whole minutes, whole minutes
long, one UTC day) are used instead of synthetic ones, e.g. a day of the simulator's audio:
    onc-hydro --sim --sim-time-scale 0 archive get --device ICLISTENHF6324 --from 2024-04-01 \
        --to 2024-04-02 --ext flac --out /tmp/simday
Each file is decoded once and fed to pbp minute by minute (memory: one file).

It writes a synthetic stretch of one UTC day as 5-minute 24-bit FLACs named like ONC archive
files (white noise + tones + a chirp, starting at 00:00:00Z, contiguous), runs onc-hydro on
them with a flat calibration, and runs pbp's own per-day aggregation
(`pbp.hmb_gen.pypam_support.PypamSupport`: PyPAM Welch per 60 s segment, PyPAM hybrid
millidecade limits and spectra_ds_to_bands, then pbp's flat-sensitivity scaling) on the very same
decoded samples, minute by minute. It reports the largest |difference| in dB over every band
and minute, and exits non-zero above --tolerance (default 0.01 dB).

Convention notes: pbp's flat sensitivity is applied as `signal * 10**(value/20)` (a positive
number such as 170 for a -170 dB re 1 V/uPa hydrophone), onc-hydro takes the sensitivity in dB
re 1 V/uPa (-170) and the full-scale voltage; pbp's `voltage_multiplier` is that voltage.
"""
import argparse
import datetime as dt
import os
import re
import subprocess
import sys

import numpy as np
import soundfile as sf
import xarray as xr


def synth(fs, seconds, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    x = 0.05 * rng.standard_normal(t.size)
    x += 0.02 * np.sin(2 * np.pi * 100.0 * t) + 0.01 * np.sin(2 * np.pi * 3150.7 * t)
    x += 0.01 * np.sin(2 * np.pi * (200.0 + 30.0 * t) * t)
    return np.clip(x, -0.99, 0.99)


def start_of(path):
    """The UTC start in an ONC archive name (`…_YYYYMMDDTHHMMSS.fffZ…`)."""
    m = re.search(r"(\d{8}T\d{6})(\.\d+)?Z", os.path.basename(path))
    if not m:
        sys.exit(f"{path}: no UTC start (YYYYMMDDTHHMMSS[.fff]Z) in the name")
    t = dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=dt.timezone.utc)
    return t + dt.timedelta(seconds=float(m.group(2) or 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/debug/onc-hydro")
    ap.add_argument("--fs", type=int, default=16000)
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--workdir", default="/tmp/pbp_compare")
    ap.add_argument("--tolerance", type=float, default=0.01)
    ap.add_argument("--jobs", type=int, help="onc-hydro soundscape --jobs (default: all cores; "
                    "the products are the same for any value)")
    ap.add_argument("--audio-dir", help="compare on these FLACs (e.g. the simulator's) instead")
    args = ap.parse_args()

    from loguru import logger
    from pbp.hmb_gen.pypam_support import PypamSupport

    logger.remove()
    wd = args.workdir
    out_dir = os.path.join(wd, "out")
    os.makedirs(out_dir, exist_ok=True)
    sens_db, volts = -170.0, 2.0
    if args.audio_dir:
        files = sorted(os.path.join(args.audio_dir, f) for f in os.listdir(args.audio_dir)
                       if f.lower().endswith(".flac"))
        starts = [start_of(f) for f in files]
        day0 = starts[0].replace(hour=0, minute=0, second=0, microsecond=0)
        fs = sf.info(files[0]).samplerate
        audio_dir = args.audio_dir
    else:
        fs = args.fs
        audio_dir = os.path.join(wd, "audio")
        os.makedirs(audio_dir, exist_ok=True)
        for f in os.listdir(audio_dir):
            os.remove(os.path.join(audio_dir, f))
        day0 = dt.datetime(2024, 4, 1, tzinfo=dt.timezone.utc)
        files, starts = [], []
        for k in range(0, args.minutes, 5):
            start = day0 + dt.timedelta(minutes=k)
            x = synth(fs, 300, seed=k)
            q = np.round(x * 2**23).astype(np.int32)
            name = f"SYNTHHYDRO_{start:%Y%m%dT%H%M%S}.000Z.flac"
            path = os.path.join(audio_dir, name)
            sf.write(path, q.astype(np.float64) / 2**23, fs, subtype="PCM_24")
            files.append(path)
            starts.append(start)

    cmd = [args.bin, "soundscape", audio_dir, "--out", out_dir, "--no-png",
           "--sensitivity-db", str(sens_db), "--full-scale-volts", str(volts)]
    if args.jobs:
        cmd += ["--jobs", str(args.jobs)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    ours = xr.open_dataset(os.path.join(out_dir, f"soundscape_{day0:%Y%m%d}.nc"))

    # pbp on the same decoded samples, one 60 s segment per minute, file by file.
    sup = PypamSupport(logger)
    sup.set_parameters(fs)
    minutes = []
    for path, start in zip(files, starts):
        if start.second or start.microsecond or start.date() != day0.date():
            sys.exit(f"{path}: starts off a whole minute or on another day; this comparison "
                     "takes whole-minute files of one day")
        x = sf.read(path, dtype="float64")[0] * volts * 10 ** (-sens_db / 20)
        m0 = int((start - day0).total_seconds()) // 60
        for k in range(len(x) // (60 * fs)):
            sup.add_segment(day0 + dt.timedelta(minutes=m0 + k), x[k * 60 * fs:(k + 1) * 60 * fs])
            minutes.append(m0 + k)
    pbp = sup.process_captured_segments().psd_da

    f_ours = ours["frequency"].values
    f_pbp = pbp["frequency"].values
    assert f_ours.shape == f_pbp.shape, (f_ours.shape, f_pbp.shape)
    fdiff = np.max(np.abs(f_ours - f_pbp))
    a = ours["psd"].values[minutes]
    b = pbp.values
    d = np.abs(a - b)
    worst = np.unravel_index(np.nanargmax(d), d.shape)
    src = args.audio_dir or "synthetic"
    print(f"audio: {src} ({len(files)} files), bands: {len(f_pbp)}, minutes: {len(minutes)}, fs: {fs} Hz")
    print(f"max |frequency difference|: {fdiff:.3g} Hz")
    print(f"max |HMD difference|: {np.nanmax(d):.6f} dB at minute {worst[0]}, "
          f"{f_pbp[worst[1]]:.2f} Hz (ours {a[worst]:.4f}, pbp {b[worst]:.4f})")
    # xarray decodes a variable in "seconds" as timedelta64: back to float seconds.
    effort = ours["effort"].values[minutes] / np.timedelta64(1, "s")
    print(f"effort (ours): {effort.min():.1f}...{effort.max():.1f} s")
    ok = np.nanmax(d) <= args.tolerance and not np.isnan(a).any()
    print("PASS" if ok else "FAIL", f"(tolerance {args.tolerance} dB)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
