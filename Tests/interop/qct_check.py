#!/usr/bin/env python3
"""Check `osteoct analyze` of a digital phantom against its ground truth, reading OsteoCT's
label map with nibabel (an independent NIfTI reader).

Usage: qct_check.py PHANTOM_DIR ANALYZE_DIR

PHANTOM_DIR holds truth.json and labels.nii.gz (`osteoct phantom`); ANALYZE_DIR holds
measurements.json and labels.nii.gz (`osteoct analyze`). Checks:
  - the two label maps share the grid (affines equal to 1e-4 mm);
  - body mask Dice >= 0.99 against every phantom label except air, couch, calibration pad and
    outside-the-field-of-view;
  - each proximal femur (OsteoCT labels 2 right, 3 left) Dice >= 0.95 against the phantom's
    femur_<side>_* labels (issue 3 target);
  - each femoral head sphere centre within 1 mm of truth.json's headCenter (issue 3 target);
  - neck and shaft axes within 3° of truth (issue 3: neck axis within 3°), neck-shaft angle within 3°;
  - narrow neck within 3 mm of truth along the axis and its mask area within 10 % (our tolerances);
  - synchronous calibration slope and intercept within 1 % / 2 HU of truth.json densityModel.
Prints the figures; exit 0 when all pass, 1 otherwise.
"""
import json
import os
import sys

import nibabel as nib
import numpy as np


def dice(a, b):
    return 2.0 * np.logical_and(a, b).sum() / max(1, a.sum() + b.sum())


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ph, an = sys.argv[1], sys.argv[2]
    truth = json.load(open(f"{ph}/truth.json"))
    meas = json.load(open(f"{an}/measurements.json"))
    t_img, o_img = nib.load(f"{ph}/labels.nii.gz"), nib.load(f"{an}/labels.nii.gz")
    ok = True
    if not np.allclose(t_img.affine, o_img.affine, atol=1e-4) or t_img.shape != o_img.shape:
        print(f"grid differs: {t_img.shape} {o_img.shape}\n{t_img.affine}\n{o_img.affine}")
        return 1
    t = np.asarray(t_img.dataobj)
    o = np.asarray(o_img.dataobj)
    ids = {l["name"]: l["id"] for l in truth["labels"]}
    equipment = [i for n, i in ids.items() if n in ("air", "table_shell", "table_foam", "calibration_resin", "outside_field_of_view")
                 or n.startswith("calibration_")]
    body = ~np.isin(t, equipment)
    d_body = dice(o > 0, body)
    print(f"body Dice {d_body:.4f} (>= 0.99)")
    ok &= d_body >= 0.99
    for side, value in (("right", 2), ("left", 3)):
        femur = np.isin(t, [i for n, i in ids.items() if n.startswith(f"femur_{side}")])
        d = dice(o == value, femur)
        print(f"{side} femur Dice {d:.4f} (>= 0.95)")
        ok &= d >= 0.95
    heads = {f["side"]: f for f in truth["femora"]}
    for f in meas.get("femora", []):
        h = f.get("head")
        if not h:
            print(f"{f['side']} femoral head: not fitted"); ok = False; continue
        t_c = heads[f["side"]]["headCenter"]
        err = float(np.linalg.norm(np.array(h["center"]) - np.array([t_c["x"], t_c["y"], t_c["z"]])))
        print(f"{f['side']} head centre error {err:.2f} mm (<= 1), radius {h['radius_mm']:.2f} mm (truth {heads[f['side']]['headRadius_mm']})")
        ok &= err <= 1.0
        a = f.get("axes")
        tf = heads[f["side"]]
        if not a:
            print(f"{f['side']} axes: not found"); ok = False; continue
        def angle(u, v):
            return float(np.degrees(np.arccos(np.clip(np.dot(u, v), -1, 1))))
        tn = [tf["neckAxisDirection"][k] for k in "xyz"]
        ts = [tf["shaftAxisDirection"][k] for k in "xyz"]
        en, es = angle(a["neckAxisDirection"], tn), angle(a["shaftAxisDirection"], ts)
        ensa = a["neckShaftAngle_deg"] - tf["neckShaftAngle_deg"]
        print(f"{f['side']} neck axis {en:.2f}° (<= 3), shaft axis {es:.2f}°, neck-shaft angle {a['neckShaftAngle_deg']:.1f}° ({ensa:+.1f})")
        ok &= en <= 3 and es <= 3 and abs(ensa) <= 3
        nn = tf["narrowNeck"]
        dist, area = a.get("narrowNeckDistance_mm"), a.get("narrowNeckMaskArea_mm2")
        if dist is None:
            print(f"{f['side']} narrow neck: not found"); ok = False; continue
        print(f"{f['side']} narrow neck at {dist:.1f} mm from the head centre (truth {nn['distanceFromHeadCenter_mm']}; <= 3 mm off), "
              f"mask area {area:.0f} mm² (truth {nn['totalArea_mm2']:.0f}; within 10 %)")
        ok &= abs(dist - nn["distanceFromHeadCenter_mm"]) <= 3 and abs(area / nn["totalArea_mm2"] - 1) <= 0.10
    cal = meas["calibration"]
    dm = truth["densityModel"]
    ds = cal["slope_HU_per_mgcm3"] / dm["slope_HU_per_mgcm3"] - 1
    di = cal["intercept_HU"] - dm["intercept_HU"]
    print(f"calibration {cal['method']}: slope {cal['slope_HU_per_mgcm3']:.4f} ({100 * ds:+.2f} %), intercept {cal['intercept_HU']:+.2f} HU")
    ok &= cal["method"] == "synchronous-phantom" and abs(ds) <= 0.01 and abs(di) <= 2
    ok &= regions(ph, an, meas)
    ok &= vertebrae(truth, t, o, meas)
    ok &= pictures(an, meas)
    ok &= hip_tissues(truth, t, o, meas, t_img.affine)
    return 0 if ok else 1


def hip_tissues(truth, t_lab, o_lab, meas, affine):
    """Femoral-head slice: muscle, SAT (+ the phantom's intermuscular fat, which touches it) and pelvic
    fat against the phantom's label map on that slice, within 10 %; the labels OsteoCT wrote (54-57) on
    that slice give the same areas as measurements.json."""
    hb = meas.get("hipBodyComposition")
    if not hb:
        print("hip body composition: missing")
        return False
    k = hb["sliceIndex"]
    px = abs(affine[0, 0] * affine[1, 1]) / 100
    ids = {l["name"]: l["id"] for l in truth["labels"]}
    sl = t_lab[:, :, k]
    def area(prefixes):
        return np.isin(sl, [i for n, i in ids.items() if any(n.startswith(p) for p in prefixes)]).sum() * px
    want = {"muscle": area(["gluteus_", "thigh_muscles", "iliopsoas_", "pelvic_wall_floor_muscles"]),
            "SAT+IMAT": area(["subcutaneous_fat", "intermuscular_fat"]), "pelvic fat": area(["visceral_fat"])}
    got = {"muscle": hb["skeletalMuscleArea_cm2"], "SAT+IMAT": hb["subcutaneousFatArea_cm2"] + hb["intermuscularFatArea_cm2"],
           "pelvic fat": hb["pelvicFatArea_cm2"]}
    ol = o_lab[:, :, k]
    written = {"muscle": (ol == 54).sum() * px, "SAT+IMAT": np.isin(ol, [55, 56]).sum() * px, "pelvic fat": (ol == 57).sum() * px}
    ok = True
    for key in want:
        e = got[key] / want[key] - 1
        print(f"hip slice {k} {key}: {got[key]:.1f} cm² vs phantom {want[key]:.1f} ({100 * e:+.1f} %; label map {written[key]:.1f})")
        ok &= abs(e) <= 0.10 and abs(written[key] - got[key]) < 1e-6 + px
    return ok


REGIONS = ["head", "neck", "trochanter", "intertrochanter"]


def pictures(out_dir, meas):
    """Every QC picture listed in measurements.json exists; PNGs parse chunk by chunk (Python's struct
    and zlib: CRCs, IHDR, image data of height x (1 + 3 x width) bytes); the SVG is well-formed XML."""
    import struct, zlib
    import xml.etree.ElementTree as ET
    pics = meas.get("qcPictures") or []
    ok = len(pics) >= 6
    for p in pics:
        path = os.path.join(out_dir, p["file"])
        data = open(path, "rb").read()
        if path.endswith(".svg"):
            ET.fromstring(data)
            continue
        good = data[:8] == b"\x89PNG\r\n\x1a\n"
        at, idat, w, h = 8, b"", 0, 0
        while good and at < len(data):
            n, typ = struct.unpack(">I4s", data[at:at + 8])
            body = data[at + 8:at + 8 + n]
            good &= struct.unpack(">I", data[at + 8 + n:at + 12 + n])[0] == zlib.crc32(typ + body)
            if typ == b"IHDR":
                w, h, depth, colour = struct.unpack(">IIBB", body[:10])
                good &= depth == 8 and colour == 2
            if typ == b"IDAT":
                idat += body
            at += 12 + n
        good &= len(zlib.decompress(idat)) == h * (1 + 3 * w)
        if not good:
            print(f"{p['file']}: not a valid PNG")
        ok &= good
    print(f"QC pictures: {len(pics)} ({', '.join(p['file'] for p in pics)}) parse as PNG/SVG")
    return ok


def vertebrae(truth, t_lab, o_lab, meas):
    """Each vertebral body in the field of view found at its level, Dice >= 0.90 against the phantom's
    body labels (shell + centrum)."""
    ids = {l["name"]: l["id"] for l in truth["labels"]}
    spine = meas.get("spine") or {}
    ok = spine.get("sacrumFound", False)
    out = []
    for v in truth["vertebrae"]:
        if not v["inFieldOfView"]:
            continue
        lv = v["level"]
        b = next((b for b in spine.get("bodies", []) if b.get("level") == lv), None)
        if b is None:
            print(f"{lv}: not found"); ok = False; continue
        t = np.isin(t_lab, [ids[f"vertebra_{lv}_body_cortical"], ids[f"vertebra_{lv}_body_trabecular"]])
        d = dice(o_lab == b["labelValue"], t)
        out.append(f"{lv} {d:.3f}")
        ok &= d >= 0.90
    print(f"vertebral bodies (confidence {spine.get('confidence')}): Dice " + ", ".join(out) + " (>= 0.90)")
    return ok


def regions(phantom_dir, out_dir, meas):
    """Each femur ROI's vBMD against the phantom's density map over the same voxels, both read with
    nibabel: integral and trabecular within 2 % (at least 2 mg/cm³), trabecular HU within 3 HU."""
    dens = np.asanyarray(nib.load(os.path.join(phantom_dir, "density.nii.gz")).dataobj)
    reg = np.asanyarray(nib.load(os.path.join(out_dir, "femur-regions.nii.gz")).dataobj)
    ok = True
    worst = {"integral": 0.0, "trabecular": 0.0, "HU": 0.0}
    for fd in meas.get("femurDensitometry") or []:
        base = 10 if fd["side"] == "right" else 30
        for r in fd["regions"]:
            if r["region"] == "narrow_neck":
                continue
            idx = range(4) if r["region"] == "total_hip" else [REGIONS.index(r["region"])]
            # integral: mineral over mask + rim (0-3) per mask voxel (1-3)
            for comp, offs, vol in (("integral", (0, 1, 2, 3), (1, 2, 3)), ("trabecular", (2,), (2,))):
                c = r.get(comp)
                sel = np.isin(reg, [base + 4 * i + o for i in idx for o in offs])
                n = int(np.isin(reg, [base + 4 * i + o for i in idx for o in vol]).sum())
                truth = float(dens[sel].sum()) / n
                err = c["vBMD_mgcm3"] - truth
                worst[comp] = max(worst[comp], abs(err) / truth)
                good = n == c["voxels"] and abs(err) <= max(2, 0.02 * truth)
                if comp == "trabecular":
                    herr = c["meanHU"] - 1.3 * truth
                    worst["HU"] = max(worst["HU"], abs(herr))
                    good &= abs(herr) <= 3
                if not good:
                    print(f"{r['name']} {comp}: measured {c['vBMD_mgcm3']:.1f}, truth {truth:.1f} mg/cm³ over {n} voxels (statistics: {c['voxels']})")
                ok &= good
    if not meas.get("femurDensitometry"):
        print("no femur densitometry"); return False
    print(f"femur regions vs density map: worst integral {100 * worst['integral']:.2f} %, trabecular {100 * worst['trabecular']:.2f} % (<= 2 %), "
          f"trabecular HU {worst['HU']:.2f} HU (<= 3)")
    return ok


if __name__ == "__main__":
    sys.exit(main())
