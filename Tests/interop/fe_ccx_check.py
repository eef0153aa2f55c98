"""Compares OsteoCT's finite-element solution with CalculiX on the same exported deck.

usage: fe_ccx_check.py JOB.dat OSTEOCT_RESULT.json DISPLACEMENTS.csv [--tolerance 0.005]

JOB.dat: ccx's printout of `*NODE PRINT, NSET=NALL / U` and `*NODE PRINT, NSET=NLOAD, TOTALS=ONLY / RF`.
Checks: the total reaction on the loaded nodes (along the result's "axis", default 1 = y) equals OsteoCT's force, and the nodal
displacements agree in relative L2 norm (||u_osteoct - u_ccx|| / ||u_ccx||), both within the tolerance.
"""
import csv
import json
import sys

import numpy as np


def read_dat(path):
    disp, total = {}, None
    with open(path) as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("displacements (vx,vy,vz)"):
            i += 1
            while i < len(lines) and not lines[i].strip():
                i += 1
            while i < len(lines) and lines[i].strip():
                parts = lines[i].split()
                disp[int(parts[0])] = [float(x) for x in parts[1:4]]
                i += 1
            continue
        if line.strip().startswith("total force") and "NLOAD" in line:
            i += 1
            while not lines[i].strip():
                i += 1
            total = [float(x) for x in lines[i].split()]
        i += 1
    return disp, total


def main():
    args = sys.argv[1:]
    tol = 0.005
    if "--tolerance" in args:
        k = args.index("--tolerance")
        tol = float(args[k + 1])
        del args[k:k + 2]
    if len(args) != 3:
        sys.exit(__doc__)
    dat, result_json, disp_csv = args
    disp, total = read_dat(dat)
    result = json.load(open(result_json))
    result = result[0] if isinstance(result, list) else result
    ours = {}
    with open(disp_csv) as f:
        for row in csv.DictReader(f):
            ours[int(row["node"])] = [float(row["u1"]), float(row["u2"]), float(row["u3"])]
    ok = True
    if total is None or not disp:
        print("ccx printed no displacements or no NLOAD reaction")
        return 1
    ccx_force = abs(total[result.get("axis", 1)])
    ef = result["reactionForce_N"] / ccx_force - 1
    print(f"force on the loaded nodes: OsteoCT {result['reactionForce_N']:.3f} N, ccx {ccx_force:.3f} N ({100 * ef:+.4f} %; <= {100 * tol:.2f} %)")
    ok &= abs(ef) <= tol
    nodes = sorted(disp)
    if set(nodes) != set(ours):
        print(f"node sets differ: ccx {len(nodes)}, OsteoCT {len(ours)}")
        return 1
    a = np.array([ours[n] for n in nodes])
    b = np.array([disp[n] for n in nodes])
    rel = np.linalg.norm(a - b) / np.linalg.norm(b)
    print(f"nodal displacements ({len(nodes)} nodes): relative L2 difference {100 * rel:.4f} % (<= {100 * tol:.2f} %)")
    ok &= rel <= tol
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
