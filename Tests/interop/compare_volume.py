"""Independent check of `osteoct convert`: rebuild the expected volume from DICOM with pydicom
(sorted along the slice normal, rescale applied, Enhanced multi-frame via functional groups) and
compare voxel values exactly and the affine within 1e-3 mm; optionally compare with dcm2niix's
output after reorienting both to the closest canonical (RAS) axis order.

usage: compare_volume.py OSTEOCT.nii.gz DICOM_PATH... [--dcm2niix D2N.nii.gz]
prints one JSON line; exit 1 on mismatch.
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
import pydicom


def frames_of(path):
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    if "PerFrameFunctionalGroupsSequence" in ds:
        shared = ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds else None
        nf = int(ds.NumberOfFrames)
        arr = arr.reshape((nf,) + arr.shape[-2:])
        for f, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
            def group(name):
                if name in item:
                    return item[name][0]
                if shared is not None and name in shared:
                    return shared[name][0]
                return None
            pos = [float(v) for v in group("PlanePositionSequence").ImagePositionPatient]
            iop = [float(v) for v in group("PlaneOrientationSequence").ImageOrientationPatient]
            sp = [float(v) for v in group("PixelMeasuresSequence").PixelSpacing]
            t = group("PixelValueTransformationSequence")
            slope = float(getattr(t, "RescaleSlope", 1)) if t is not None else 1.0
            inter = float(getattr(t, "RescaleIntercept", 0)) if t is not None else 0.0
            m = group("PixelMeasuresSequence")
            yield pos, iop, sp, arr[f], slope, inter, float(getattr(m, "SliceThickness", 0) or 0)
    else:
        pos = [float(v) for v in ds.ImagePositionPatient]
        iop = [float(v) for v in ds.ImageOrientationPatient]
        sp = [float(v) for v in ds.PixelSpacing]
        yield pos, iop, sp, arr, float(getattr(ds, "RescaleSlope", 1)), float(getattr(ds, "RescaleIntercept", 0)), float(getattr(ds, "SliceThickness", 0) or 0)


def expected(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                files += [os.path.join(root, n) for n in names if not n.startswith(".")]
        else:
            files.append(p)
    frames = [fr for f in sorted(files) for fr in frames_of(f)]
    iop = np.array(frames[0][1])
    row, col = iop[:3], iop[3:]
    n = np.cross(row, col)
    frames.sort(key=lambda fr: float(np.dot(n, fr[0])))
    d = [float(np.dot(n, fr[0])) for fr in frames]
    # A single slice has no spacing: its thickness stands in (as dcm2niix does), else 1 mm.
    dz = float(np.median(np.diff(d))) if len(d) > 1 else (frames[0][6] or 1.0)
    slices = []
    for pos, _, sp, a, slope, inter, _ in frames:
        v = a.astype(np.float64) * slope + inter
        slices.append(np.round(v).T)  # (column i, row j)
    vol = np.stack(slices, axis=2)
    sp = frames[0][2]
    lps = np.eye(4)
    lps[:3, 0] = row * sp[1]
    lps[:3, 1] = col * sp[0]
    lps[:3, 2] = n * dz
    lps[:3, 3] = frames[0][0]
    ras = np.diag([-1, -1, 1, 1]) @ lps
    return vol, ras


def main():
    args = sys.argv[1:]
    d2n = None
    if "--dcm2niix" in args:
        i = args.index("--dcm2niix")
        d2n = args[i + 1]
        del args[i:i + 2]
    ours_path, dicom = args[0], args[1:]
    ours = nib.load(ours_path)
    vol, ras = expected(dicom)
    data = np.asarray(ours.dataobj).astype(np.float64)
    result = {"file": ours_path, "shape": list(data.shape)}
    ok = data.shape == vol.shape and np.array_equal(data, vol)
    result["voxelsEqualPydicom"] = bool(ok)
    result["affineMaxDiffPydicom_mm"] = float(np.abs(ours.affine - ras).max())
    ok = ok and result["affineMaxDiffPydicom_mm"] < 1e-3
    if d2n:
        other = nib.load(d2n)
        a, b = nib.as_closest_canonical(ours), nib.as_closest_canonical(other)
        result["affineMaxDiffDcm2niix_mm"] = float(np.abs(a.affine - b.affine).max())
        same = a.shape[:3] == b.shape[:3] and np.array_equal(np.asarray(a.get_fdata()).reshape(a.shape[:3]), np.asarray(b.get_fdata()).reshape(b.shape[:3]))
        result["voxelsEqualDcm2niix"] = bool(same)
        ok = ok and same and result["affineMaxDiffDcm2niix_mm"] < 1e-3
    result["ok"] = bool(ok)
    print(json.dumps(result))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
