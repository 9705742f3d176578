#!/usr/bin/env bash
# Layer check: fails when a module uses another module, or an external crate, that it may not.
#
# Usage: bash scripts/check_layers.sh [SRC_DIR]      (default: the crate's src/)
#
# The check reads the Rust source itself (no regex over lines): comments, strings and char
# literals are removed, the rest is tokenised, and every path is resolved to the crate module it
# names. That covers `crate::a::b`, rustfmt's multi-line `use crate::{\n a::…,\n b::{…}\n};` trees,
# `super::super::…` (resolved against the file's own position and any inline `mod x { }` blocks),
# and `pub use` re-exports. Test code counts too: a test that reaches into a forbidden module is
# a dependency all the same.
#
# Allowed crate-internal dependencies (the table in /work/shared/docs/ARCHITECTURE.md; a module
# may always use itself; `a::b` allows only that submodule of `a`):
#   api, ooi, dsp        -> none
#   media                -> dsp
#   sim                  -> media, dsp, api::time, api::archive (api for wire formats only)
#   engine               -> api, ooi, media::atomic (the one atomic-write helper)
#   plan                 -> engine, api, media::atomic
#   sync                 -> engine, api, ooi, plan, media::atomic
#   hydro                -> engine, api, ooi, media, dsp, analysis
#   analysis             -> media, dsp
#   cli                  -> all
# (`media::atomic` is the one atomic-write helper: every module that writes files uses it.)
#
# Allowed external crates (a crate not listed here may be used anywhere):
#   anyhow, clap, indicatif, dotenvy, tracing_subscriber -> cli (the terminal layer)
#   axum (the HTTP server side)                          -> sim
#   reqwest (the HTTP client)                            -> api, ooi
#   rusqlite (the ledger)                                -> engine, sync
#   governor (the rate cap)                              -> engine
#   calamine, rust_xlsxwriter (the plan workbook)        -> plan
#   realfft (FFTs)                                       -> dsp
#   claxon, symphonia, flac_codec, hound, ndarray_npy, image, colorous, netcdf (file formats)
#                                                        -> media, sim (content), analysis, cli
#   tokio (async runtime)                                -> api, ooi, sim, engine, sync, hydro,
#                                                           analysis, cli (never dsp, media, plan)
#
# src/main.rs and src/lib.rs are the crate roots and are not checked.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "${1:-src}" <<'PY'
import os, re, sys

INTERNAL = {
    "api": [], "ooi": [], "dsp": [],
    "media": ["dsp"],
    "sim": ["media", "dsp", "api::time", "api::archive"],
    "engine": ["api", "ooi", "media::atomic"],
    "plan": ["engine", "api", "media::atomic"],
    "sync": ["engine", "api", "ooi", "plan", "media::atomic"],
    "hydro": ["engine", "api", "ooi", "media", "dsp", "analysis"],
    "analysis": ["media", "dsp"],
    "cli": ["*"],
}
ALL = ["api", "ooi", "sim", "engine", "plan", "sync", "hydro", "analysis", "media", "dsp", "cli"]
FORMATS = ["media", "sim", "analysis", "cli"]
EXTERNAL = {
    "anyhow": ["cli"], "clap": ["cli"], "indicatif": ["cli"], "dotenvy": ["cli"],
    "tracing_subscriber": ["cli"],
    "axum": ["sim"],
    "reqwest": ["api", "ooi"],
    "rusqlite": ["engine", "sync"],
    "governor": ["engine"],
    "calamine": ["plan"], "rust_xlsxwriter": ["plan"],
    "realfft": ["dsp"],
    "claxon": FORMATS, "symphonia": FORMATS, "flac_codec": FORMATS, "hound": FORMATS,
    "ndarray_npy": FORMATS, "image": FORMATS, "colorous": FORMATS, "netcdf": FORMATS,
    "tokio": ["api", "ooi", "sim", "engine", "sync", "hydro", "analysis", "cli"],
}


def strip(src):
    """Source with comments, string and char literals blanked (newlines kept for line numbers)."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append("\n" if src[i] == "\n" else "")
                    i += 1
        elif c == "r" and re.match(r'r#*"', src[i:i + 300]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', src[i:]).group(1)
            end = src.find('"' + hashes, i + len(hashes) + 2)
            end = n if end < 0 else end + 1 + len(hashes)
            out.append("\n" * src.count("\n", i, end) + '""')
            i = end
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append("\n" * src.count("\n", i, j) + '""')
            i = j + 1
        elif c == "'":
            m = re.match(r"'(\\(x..|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", src[i:i + 16])
            if m:
                out.append("' '")
                i += len(m.group(0))
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


TOKEN = re.compile(r"r#[A-Za-z_]\w*|[A-Za-z_]\w*|::|\S")


def tokens(text):
    line = 1
    pos = 0
    for m in TOKEN.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        t = m.group(0)
        yield (t[2:] if t.startswith("r#") else t), line


def file_module(rel):
    """Module path of a file relative to src/, e.g. hydro/grid.rs -> [hydro, grid]."""
    parts = rel[:-3].split("/")
    if parts[-1] == "mod":
        parts = parts[:-1]
    return parts


def paths(toks, base):
    """Yield (absolute path segments, line) for every crate-/super-rooted path in the file."""
    stack = []  # one entry per open brace: module name for `mod x {`, else None
    n = len(toks)

    def here():
        return base + [s for s in stack if s]

    def tree(i, prefix):
        """Parse a use tree / path tail at toks[i]; returns (leaf paths, next index)."""
        found = []
        segs = list(prefix)
        while i < n:
            t, line = toks[i]
            if t == "{":
                i += 1
                while i < n and toks[i][0] != "}":
                    sub, i = tree(i, segs)
                    found += sub
                    while i < n and toks[i][0] not in (",", "}"):
                        i += 1  # `as Name`
                    if i < n and toks[i][0] == ",":
                        i += 1
                return found, i + 1
            if t == "super":
                segs = segs[:-1]
            elif t == "self":
                pass
            elif re.match(r"[A-Za-z_]\w*$", t):
                segs.append(t)
            else:  # `*` or the end of the path
                found.append((list(segs), line))
                return found, (i + 1 if t == "*" else i)
            i += 1
            if i < n and toks[i][0] == "::":
                i += 1
            else:
                found.append((list(segs), line))
                break
        return found, i

    i = 0
    while i < n:
        t, line = toks[i]
        prev = toks[i - 1][0] if i else ""
        if t == "mod" and i + 2 < n and toks[i + 2][0] == "{":
            stack.append(toks[i + 1][0])
            i += 3
            continue
        if t == "{":
            stack.append(None)
        elif t == "}":
            if stack:
                stack.pop()
        elif t in ("crate", "super") and prev not in ("::", "$") and i + 1 < n and toks[i + 1][0] == "::":
            start = [] if t == "crate" else here()[:-1]
            found, i = tree(i + 2, start)
            for segs, ln in found:
                yield segs, ln
            continue
        i += 1


def external_uses(toks):
    """Yield (crate, line) for paths headed by an identifier (`x::…` not preceded by `::`)."""
    for k, (t, line) in enumerate(toks):
        if t in EXTERNAL and k + 1 < len(toks) and toks[k + 1][0] == "::":
            prev = toks[k - 1][0] if k else ""
            if prev != "::":
                yield t, line
        elif t in EXTERNAL and k and toks[k - 1][0] == "use":
            yield t, line


def allowed(module, target):
    rules = INTERNAL.get(module, [])
    if "*" in rules or not target or target[0] == module:
        return True
    for rule in rules:
        parts = rule.split("::")
        if target[: len(parts)] == parts:
            return True
    return False


def main(root):
    bad = []
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith(".rs"):
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if rel in ("main.rs", "lib.rs"):
                continue
            base = file_module(rel)
            module = base[0]
            if module not in INTERNAL:
                bad.append(f"{full}: module '{module}' is not in the layer table (add it to ARCHITECTURE.md and this script)")
                continue
            with open(full, encoding="utf-8") as f:
                toks = list(tokens(strip(f.read())))
            for segs, line in paths(toks, base):
                if segs and segs[0] in ALL and not allowed(module, segs[:2]):
                    bad.append(f"{full}:{line}: '{module}' may not use '{'::'.join(segs[:2])}'")
            for crate, line in external_uses(toks):
                if module not in EXTERNAL[crate] and "*" not in EXTERNAL[crate]:
                    bad.append(f"{full}:{line}: '{module}' may not use the crate '{crate}' (allowed in: {', '.join(EXTERNAL[crate])})")
    bad = sorted(set(bad))
    if bad:
        print("layer violations (see scripts/check_layers.sh header and ARCHITECTURE.md):")
        for b in bad:
            print("  " + b)
        return 1
    print("layers: ok (every module uses only the modules and crates ARCHITECTURE.md allows)")
    return 0


sys.exit(main(sys.argv[1]))
PY
