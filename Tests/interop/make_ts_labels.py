"""Writes the phantom's label map renumbered as TotalSegmentator v2 `total` ids (femur 75/76, sacrum 25,
L5-L1 27-31, gluteus maximus 80/81, gluteus medius+minimus 82/83, iliopsoas 88/89) with nibabel,
on the phantom's grid: a third-party-written label map for `osteoct analyze --labels`.

usage: make_ts_labels.py PHANTOM_DIR OUT.nii.gz
"""
import json
import sys

import nibabel as nib
import numpy as np


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ph, out = sys.argv[1], sys.argv[2]
    truth = json.load(open(f"{ph}/truth.json"))
    img = nib.load(f"{ph}/labels.nii.gz")
    lab = np.asanyarray(img.dataobj)
    ids = {l["name"]: l["id"] for l in truth["labels"]}
    ts = np.zeros(lab.shape, np.uint8)

    def put(names, value):
        ts[np.isin(lab, [ids[n] for n in names])] = value

    put([n for n in ids if n.startswith("femur_left_")], 75)
    put([n for n in ids if n.startswith("femur_right_")], 76)
    put(["sacrum_cortical", "sacrum_trabecular"], 25)
    for level, value in zip(["L5", "L4", "L3", "L2", "L1"], [27, 28, 29, 30, 31]):
        put([n for n in ids if n.startswith(f"vertebra_{level}_")], value)
    put(["gluteus_maximus_left"], 80)
    put(["gluteus_maximus_right"], 81)
    put(["gluteus_medius_minimus_left"], 82)
    put(["gluteus_medius_minimus_right"], 83)
    put(["iliopsoas_left"], 88)
    put(["iliopsoas_right"], 89)
    nib.save(nib.Nifti1Image(ts, img.affine, img.header), out)


if __name__ == "__main__":
    main()
