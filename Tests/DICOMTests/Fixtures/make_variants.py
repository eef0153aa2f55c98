"""Header-level variants of the phantom fixture slice, written by pydicom (an independent writer):
ct12u-ele.dcm  stored = HU + 1024, unsigned, BitsStored 12 (values clipped to 0…4095)
ct8-ele.dcm    8-bit unsigned, soft-tissue window (W 400, L 40) mapped to 0…255
ctmf-ele.dcm   3 frames: the slice, its negative, and the slice shifted by 7 rows (multi-frame CT)"""
import sys

import numpy as np
import pydicom

src = pydicom.dcmread(sys.argv[1])
hu = src.pixel_array.astype(np.int32) * int(src.RescaleSlope) + int(src.RescaleIntercept)

ds = pydicom.dcmread(sys.argv[1])
ds.PixelRepresentation = 0
ds.BitsStored = 12
ds.HighBit = 11
ds.RescaleIntercept = -1024
ds.PixelData = np.clip(hu + 1024, 0, 4095).astype(np.uint16).tobytes()
ds.SOPInstanceUID = ds.SOPInstanceUID + ".12"
ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
ds.save_as("ct12u-ele.dcm", enforce_file_format=True)

ds = pydicom.dcmread(sys.argv[1])
ds.BitsAllocated = 8
ds.BitsStored = 8
ds.HighBit = 7
ds.PixelRepresentation = 0
lo, hi = 40 - 200, 40 + 200
ds.PixelData = np.clip((hu - lo) * 255 // (hi - lo), 0, 255).astype(np.uint8).tobytes()
ds.RescaleIntercept = lo
ds.RescaleSlope = f"{(hi - lo) / 255:.6f}"
ds.SOPInstanceUID = ds.SOPInstanceUID + ".8"
ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
for tag in ("PixelPaddingValue", "WindowCenter", "WindowWidth"):
    if tag in ds:
        del ds[tag]
ds.save_as("ct8-ele.dcm", enforce_file_format=True)

ds = pydicom.dcmread(sys.argv[1])
a = src.pixel_array.astype(np.int16)
frames = np.stack([a, (-a.astype(np.int32)).clip(-32768, 32767).astype(np.int16), np.roll(a, 7, axis=0)])
ds.NumberOfFrames = 3
ds.PixelData = frames.tobytes()
ds.SOPInstanceUID = ds.SOPInstanceUID + ".3"
ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
ds.save_as("ctmf-ele.dcm", enforce_file_format=True)
