"""The Python peer for Scripts/bench-dicom.sh: read a series folder into one HU volume with pydicom
3 + numpy (pixel plugins: pylibjpeg for JPEG/J2K/RLE, pyjpegls for JPEG-LS), sorted along the slice
normal — the same work `osteoct bench dicom` does. Prints best-of-N seconds and a checksum."""
import json
import os
import sys
import time

import numpy as np
import pydicom


def load(folder):
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    dss = [pydicom.dcmread(f) for f in files]
    # The fastest available plugin per syntax (dicom-perf.md §5.3): pylibjpeg-rle beats pydicom's
    # own RLE decoder; pyjpegls (CharLS) beats pylibjpeg for JPEG-LS.
    plugin = {"1.2.840.10008.1.2.5": "pylibjpeg", "1.2.840.10008.1.2.4.80": "pyjpegls"}.get(str(dss[0].file_meta.TransferSyntaxUID))
    if plugin:
        for d in dss:
            d.pixel_array_options(decoding_plugin=plugin)
    iop = np.array(dss[0].ImageOrientationPatient, dtype=float)
    n = np.cross(iop[:3], iop[3:])
    dss.sort(key=lambda d: float(np.dot(n, np.array(d.ImagePositionPatient, dtype=float))))
    vol = np.stack([d.pixel_array for d in dss])
    # To HU in place, as osteoct does (slope 1 and an integer intercept in these series).
    vol = vol.astype(np.int16, copy=False)
    vol += np.int16(int(float(getattr(dss[0], "RescaleIntercept", 0))))
    return vol, dss[0].file_meta.TransferSyntaxUID


def main():
    folder, reps = sys.argv[1], int(sys.argv[2])
    vol, ts = load(folder)  # warm-up
    best = min(timed(folder) for _ in range(reps))
    decoder = {"1.2.840.10008.1.2.4.80": "pyjpegls", "1.2.840.10008.1.2.4.70": "pylibjpeg-libjpeg",
               "1.2.840.10008.1.2.4.90": "pylibjpeg-openjpeg", "1.2.840.10008.1.2.5": "pylibjpeg-rle"}.get(str(ts), "pydicom native")
    print(json.dumps({"bestSeconds": best, "decoder": decoder, "checksum": int(vol.astype(np.int64).sum())}))


def timed(folder):
    t0 = time.perf_counter()
    load(folder)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
