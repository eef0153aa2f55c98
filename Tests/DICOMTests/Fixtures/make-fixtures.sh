#!/usr/bin/env bash
# Regenerates the codec fixtures from one slice of the small digital phantom, encoded by
# third-party tools (DCMTK, GDCM; pydicom only rewrites headers for the variants). The unit
# tests decode every fixture and compare with the uncompressed original.
#   bash Tests/DICOMTests/Fixtures/make-fixtures.sh      (needs dcmtk, libgdcm-tools, .venv with pydicom)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
cd "$ROOT"
swift build --product osteoct >/dev/null
OSTEOCT="$(swift build --show-bin-path)/osteoct"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$OSTEOCT" phantom "$TMP/p" --size small --seed 11 >/dev/null
# The slice through the femoral heads: bone, joint space, muscle, fat and air in one image.
SLICE="$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); g=t["grid"]; print(round((t["femora"][0]["headCenter"]["z"] - g["origin"]["z"]) / g["spacing"]["z"]))' "$TMP/p/truth.json")"
SRC="$(ls "$TMP/p/dicom"/*.dcm | sed -n "$((SLICE + 1))p")"
cd "$HERE"
rm -f ./*.dcm
cp "$SRC" ct-ele.dcm                                      # 16-bit signed, Explicit VR LE
dcmconv +ti ct-ele.dcm ct-ile.dcm                         # Implicit VR LE
dcmconv +tb ct-ele.dcm ct-ebe.dcm                         # Explicit VR BE
dcmconv +td ct-ele.dcm ct-deflate.dcm                     # Deflated Explicit VR LE
dcmcrle ct-ele.dcm ct-rle.dcm                             # RLE Lossless
dcmcjpeg +e1 ct-ele.dcm ct-jpegll-sv1.dcm                 # JPEG Lossless SV1 (.70)
for sv in 2 3 4 5 6 7; do dcmcjpeg +el +sv $sv ct-ele.dcm ct-jpegll-sv$sv.dcm; done   # .57, predictors 2–7
dcmcjpeg +el +sv 1 +pt 2 ct-ele.dcm ct-jpegll-sv1-pt2.dcm # point transform 2 (low 2 bits dropped)
dcmcjpls +el ct-ele.dcm ct-jpegls.dcm                     # JPEG-LS lossless
gdcmconv --j2k ct-ele.dcm ct-j2k.dcm                      # JPEG 2000 lossless
gdcmconv --j2k --lossy -q 50 ct-ele.dcm ct-j2k-lossy.dcm  # JPEG 2000 lossy ...
gdcmconv --raw ct-j2k-lossy.dcm ct-j2k-lossy-gdcm-decoded.dcm   # ... and GDCM's decoding of it
# Variants: 12-bit unsigned (stored = HU + 1024, BitsStored 12) for near-lossless JPEG-LS, which
# DCMTK refuses for signed data; an 8-bit windowed slice; a 3-frame image.
"$ROOT/.venv/bin/python" "$HERE/make_variants.py" ct-ele.dcm
dcmcjpls +el ct12u-ele.dcm ct12u-jpegls.dcm
dcmcjpls +en +md 2 ct12u-ele.dcm ct12u-jpegls-near2.dcm  # near-lossless, NEAR = 2
dcmcjpeg +e1 ct12u-ele.dcm ct12u-jpegll-sv1.dcm
dcmcjpeg +e1 ct8-ele.dcm ct8-jpegll-sv1.dcm
dcmcjpls +el ct8-ele.dcm ct8-jpegls.dcm
dcmcrle ct8-ele.dcm ct8-rle.dcm
dcmcjpeg +e1 +fs 4 ctmf-ele.dcm ctmf-jpegll-fragmented.dcm   # 3 frames, 4 KB fragments, offset table
dcmcrle ctmf-ele.dcm ctmf-rle.dcm
du -ch ./*.dcm | tail -1
