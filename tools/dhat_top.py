#!/usr/bin/env python3
"""Top allocation sites of a DHAT heap profile (`doris-rs --features dhat-heap`, see Cargo.toml).

usage: dhat_top.py PROFILE.json [--by gb|mb|tb] [--top N] [--frames N]

gb: bytes live at the process's global peak (what the peak resident set is made of);
mb: each site's own maximum live bytes; tb: bytes allocated over the whole run.
Shown for each site: its first frame (what allocated: a Vec, a BTreeMap node...) and then
the first frames of this project's code (doris_*).
"""
import argparse
import json

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("profile")
    ap.add_argument("--by", default="gb", choices=["gb", "mb", "tb"])
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--frames", type=int, default=4)
    a = ap.parse_args()
    d = json.load(open(a.profile))
    ftbl = d["ftbl"]
    pps = sorted(d["pps"], key=lambda p: p.get(a.by, 0), reverse=True)
    total = sum(p.get(a.by, 0) for p in d["pps"])
    print(f"{a.profile}: {a.by} total {total / 2**20:.1f} MiB over {len(pps)} sites")
    for p in pps[: a.top]:
        frames = [ftbl[i] for i in p["fs"]]
        own = [f for f in frames if "doris_" in f]
        print(f"{p.get(a.by, 0) / 2**20:9.1f} MiB  blocks={p.get(a.by + 'k', 0)}")
        for f in frames[:1] + own[: a.frames]:
            print(f"      {f[:200]}")


if __name__ == "__main__":
    main()
