#!/usr/bin/env python3
"""Manual check that the simulator's HSD MAT files load in scipy (not part of `cargo test`).

Usage:  python3 scripts/check_mat_scipy.py        (needs numpy + scipy: pip install numpy scipy)

It asks the Rust test `write_sample_files_for_scipy` (ignored by default) to write HSD files at
downsample 0/1/2 for a 5-minute 8 kHz recording into a temp folder, then loads each with
`scipy.io.loadmat` and checks the SpectData/Meta layout hydro relies on.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import scipy.io as sio

EXPECT = {0: (4097, 598), 1: (4097, 5), 2: (1025, 300)}

def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, ONC_HYDRO_MAT_OUT=out)
        subprocess.run(
            ["cargo", "test", "--lib", "write_sample_files_for_scipy", "--", "--ignored", "--quiet"],
            cwd=root, env=env, check=True)
        for d, (nf, nt) in EXPECT.items():
            path = os.path.join(out, f"hsd_{d}.mat")
            m = sio.loadmat(path)
            s = m["SpectData"][0, 0]
            psd, freq, time = s["PSD"], s["frequency"], s["time"]
            comment = str(s["processingComment"][0])
            meta = m["Meta"][0, 0]
            assert psd.shape == (nf, nt), (d, psd.shape)
            assert freq.shape == (nf, 1) and freq[-1, 0] == 4000.0, freq.shape
            assert time.shape == (1, nt), time.shape
            unix = (time[0] - 719529.0) * 86400.0
            assert abs(unix[0] - 1711972800.0) < 300 and np.all(np.diff(unix) > 0), unix[:3]
            assert np.isfinite(psd).all()
            assert "dB re 1 count^2/Hz" in comment, comment
            assert str(meta["deviceCode"][0]) == "ICLISTENHF1234"
            assert float(meta["sampleRate"][0, 0]) == 8000.0
            print(f"downsample {d}: PSD {psd.shape}, dB {psd.min():.1f}..{psd.max():.1f}, "
                  f"first column at {unix[0]:.3f} s, comment: {comment[:60]}...")
    print("scipy.io.loadmat reads all HSD files: OK")
    return 0

if __name__ == "__main__":
    sys.exit(main())
