#!/usr/bin/env bash
# The main job on the bundled example, end to end, offline:
#   1. build osteoct (release);
#   2. write the example study: the digital hip phantom (72-year-old osteopenic woman, standard
#      512×512×300 CT at 0.742 × 1.25 mm, with a calibration phantom) — Examples/phantom-standard.args;
#   3. inspect it (series, eligibility for hip analysis, the chosen series and why);
#   4. convert the chosen series to NIfTI (HU) next to its label map and ground truth;
#   4b. calibrate it: the calibration phantom's rods found and fitted (HU → mg/cm³ K2HPO4), the
#      reference tissues and the contrast phase;
#   5. hip-fracture risk for two example women from their feature files (Examples/features-*.json);
#   6. the whole screening of the study for an example woman's EHR record (Examples/patients/) with
#      the example site configuration: the CT part (calibration, femur regions, CTXA, HSA, spine, L3
#      and hip body composition, finite-element sideways fall with strain maps, QC pictures), the
#      risk, the explanation page, the FHIR transaction Bundle in JSON and XML, validated, and the
#      DICOM Segmentation, Structured Report and Secondary Captures;
#   7. the phantom QA: every measured value beside the phantom's truth.
# Output: out/example/ (study/dicom, study/labels.nii.gz, study/truth.json, study/density.nii.gz, inspect.json, ct.nii.gz,
# calibration.json, screening/{report.html,bundle.json,bundle.xml,features.json,risk.json,measurements.json,labels.nii.gz,
# femur-regions.nii.gz,qc/}, screening-dicom/{seg.dcm,sr.dcm,sc-*.dcm}, phantom-check.txt).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/out/example"
cd "$ROOT"
swift build -c release --product osteoct
OSTEOCT="$(swift build -c release --show-bin-path)/osteoct"
rm -rf "$OUT"; mkdir -p "$OUT"
# shellcheck disable=SC2046
"$OSTEOCT" phantom "$OUT/study" $(grep -v '^#' Examples/phantom-standard.args) --density-map
"$OSTEOCT" inspect "$OUT/study/dicom"
"$OSTEOCT" inspect "$OUT/study/dicom" --json > "$OUT/inspect.json"
"$OSTEOCT" convert "$OUT/study/dicom" "$OUT/ct.nii.gz" --series hip
echo "== calibration of the study"
"$OSTEOCT" calibrate study "$OUT/study/dicom" --profiles "$OUT/scanner-profiles"
"$OSTEOCT" calibrate study "$OUT/study/dicom" --profiles "$OUT/scanner-profiles" --json > "$OUT/calibration.json"
for who in high-risk low-risk; do
    echo "== risk: Examples/features-$who.json"
    "$OSTEOCT" risk --features "Examples/features-$who.json"
    "$OSTEOCT" risk --features "Examples/features-$who.json" --json > "$OUT/risk-$who.json"
done
echo "== screening: the study with Examples/patients/patient-high-risk.json"
"$OSTEOCT" analyze "$OUT/study/dicom" --patient Examples/patients/patient-high-risk.json \
    --config Examples/site-config.json --out "$OUT/screening" --issued 2026-11-25T10:00:00Z \
    --profiles "$OUT/scanner-profiles" --dicom-out "$OUT/screening-dicom"
"$OSTEOCT" validate "$OUT/screening/bundle.json" "$OUT/screening/bundle.xml" --text
echo "== phantom QA: measured values beside the phantom's truth"
"$OSTEOCT" phantom-check "$OUT/study/truth.json" "$OUT/screening/measurements.json" | tee "$OUT/phantom-check.txt" | tail -12
echo "example written to $OUT"
