"""`osteoct analyze --dicom-out` read back by third-party code: the Segmentation with highdicom
(segments, codes, source references) and overlaid on the source CT voxel for voxel against
labels.nii.gz (nibabel); each Secondary Capture with pydicom against its PNG's pixels; the TID 1500
Structured Report with highdicom against the FHIR Observations of the same analysis.

usage: dicom_out_check.py CT_DICOM_DIR ANALYZE_OUT_DIR DICOM_OUT_DIR
"""
import glob
import json
import os
import struct
import sys
import zlib

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom


def png_pixels(path):
    data = open(path, "rb").read()
    at, idat, w, h = 8, b"", 0, 0
    while at < len(data):
        n, typ = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + n]
        if typ == b"IHDR":
            w, h = struct.unpack(">II", body[:8])
        if typ == b"IDAT":
            idat += body
        at += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + 3 * w)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(h, w, 3)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    ct_dir, out_dir, dcm_dir = sys.argv[1:]
    ok = True
    sources = [pydicom.dcmread(p, stop_before_pixels=True) for p in sorted(glob.glob(os.path.join(ct_dir, "*")))]
    by_uid = {s.SOPInstanceUID: s for s in sources}
    seg = hd.seg.segread(os.path.join(dcm_dir, "seg.dcm"))
    labels = np.asanyarray(nib.load(os.path.join(out_dir, "labels.nii.gz")).dataobj)
    meas = json.load(open(os.path.join(out_dir, "measurements.json")))
    value_of = {}
    for b in (meas.get("spine") or {}).get("bodies", []):
        if b.get("level"):
            value_of[f"{b['level']} vertebral body"] = b["labelValue"]
    value_of["Right proximal femur"], value_of["Left proximal femur"] = 2, 3
    ok &= seg.FrameOfReferenceUID == sources[0].FrameOfReferenceUID and seg.StudyInstanceUID == sources[0].StudyInstanceUID
    ref_uids = [uid for _, _, uid in seg.get_source_image_uids()]
    ok &= all(u in by_uid for u in ref_uids)
    # Voxel-for-voxel: for each source image, the segment's pixels against labels.nii.gz at the same
    # position (NIfTI voxel index from the image position through the NIfTI affine, LPS -> RAS).
    aff_inv = np.linalg.inv(nib.load(os.path.join(out_dir, "labels.nii.gz")).affine)
    mismatches, compared, segments = 0, 0, 0
    for number in seg.segment_numbers:
        desc = seg.get_segment_description(number)
        value = value_of.get(desc.segment_label)
        if value is None:
            print(f"segment {number} '{desc.segment_label}' has no label value"); ok = False; continue
        segments += 1
        # Every source image, also those with no frame of this segment (they must come back empty).
        uids = [s.SOPInstanceUID for s in sources]
        pix = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[number], combine_segments=False,
                                                 assert_missing_frames_are_empty=True)
        for t, uid in enumerate(uids):
            src = by_uid[uid]
            x, y, z = (float(v) for v in src.ImagePositionPatient)
            ijk = aff_inv @ np.array([-x, -y, z, 1.0])
            k = int(round(ijk[2]))
            ours = (labels[:, :, k] == value).T  # NIfTI i along columns, j along rows
            theirs = pix[t, :, :, 0] > 0
            if ours.shape != theirs.shape:
                print("shape differs", ours.shape, theirs.shape); ok = False; break
            mismatches += int((ours != theirs).sum())
            compared += 1
    print(f"DICOM SEG (highdicom {hd.__version__}): {segments} segments, {compared} source images compared, {mismatches} voxel mismatches")
    ok &= mismatches == 0 and compared > 0
    # Secondary Capture: pixels equal the PNG's.
    n = 0
    for path in sorted(glob.glob(os.path.join(dcm_dir, "sc-*.dcm"))):
        ds = pydicom.dcmread(path)
        png = os.path.join(out_dir, "qc", os.path.basename(path)[3:-4] + ".png")
        same = ds.PhotometricInterpretation == "RGB" and np.array_equal(ds.pixel_array, png_pixels(png))
        same &= ds.StudyInstanceUID == sources[0].StudyInstanceUID and ds.PatientID == sources[0].PatientID
        if not same:
            print(f"{path}: pixels or study differ from {png}")
        ok &= same
        n += 1
    print(f"Secondary Capture: {n} images equal their PNGs (pydicom)")
    # Structured Report: highdicom reads the TID 1500 report; every measurement group's value equals
    # the FHIR Observation of the same code and body site (rounded as the Observation is).
    sr = hd.sr.srread(os.path.join(dcm_dir, "sr.dcm"))
    groups = sr.content.get_image_measurement_groups()
    bundle = json.load(open(os.path.join(out_dir, "bundle.json")))
    obs = []
    for e in bundle["entry"]:
        r = e["resource"]
        if r["resourceType"] == "Observation" and "valueQuantity" in r:
            site = (r.get("bodySite") or {}).get("coding", [{}])[0].get("code")
            obs.append((r["code"]["coding"][0]["code"], site, r["valueQuantity"]["value"]))
    matched = 0
    for g in groups:
        m = g.get_measurements()[0]
        code = m.name.value
        site = g.finding_sites[0].value.value if g.finding_sites else None
        candidates = [v for c, s, v in obs if c == code and s == site]
        if any(abs(m.value - v) <= 0.5 * 10 ** -max(0, len(str(v).split(".")[1]) if "." in str(v) else 0) + 1e-9 for v in candidates):
            matched += 1
        else:
            print(f"SR group {g.tracking_identifier}: {m.value} has no Observation {code} at {site} ({candidates})")
    print(f"Structured Report (TID 1500, highdicom): {len(groups)} measurement groups, {matched} equal their FHIR Observations")
    ok &= len(groups) > 0 and matched == len(groups)
    return 0 if ok and n > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
