#!/usr/bin/env bash
# Regenerates the screening examples from the example inputs, so every committed output is what
# the code produces:
#   Examples/screenings/<case>/{bundle.json,bundle.xml,features.json,risk.json,measurements.json,report.html,labels.nii.gz,qc/}
#     for each EHR record in Examples/patients/ (on the small digital phantom study), and
#     high-risk-with-ct/ adding Examples/measurements-external-qct.json;
#   Profiles/examples/<Type>-<profile>.json: one instance of each OsteoCT profile, taken from those bundles.
# --check: regenerate into a temporary folder and fail if anything differs from what is committed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
CHECK=0; [ "${1:-}" = "--check" ] && CHECK=1
swift build -c release --product osteoct >/dev/null
OSTEOCT="$(swift build -c release --show-bin-path)/osteoct"
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
"$OSTEOCT" phantom "$TMP/study" --size small --seed 1 >/dev/null
OUT="$TMP/out"; mkdir -p "$OUT/screenings" "$OUT/profile-examples"
ISSUED=2026-11-25T10:00:00Z
for f in Examples/patients/patient-*.json; do
    case_name="$(basename "$f" .json)"; case_name="${case_name#patient-}"
    "$OSTEOCT" analyze "$TMP/study/dicom" --patient "$f" --out "$OUT/screenings/$case_name" --issued "$ISSUED" --profiles "$TMP/no-profiles" >/dev/null
done
"$OSTEOCT" analyze "$TMP/study/dicom" --patient Examples/patients/patient-high-risk.json \
    --measurements Examples/measurements-external-qct.json --out "$OUT/screenings/high-risk-with-ct" --issued "$ISSUED" --profiles "$TMP/no-profiles" >/dev/null
python3 - "$OUT/screenings/high-risk-with-ct/bundle.json" "$OUT/profile-examples" <<'PY'
import json, sys
bundle = json.load(open(sys.argv[1]))
seen = set()
for e in bundle["entry"]:
    r = e["resource"]
    for p in r.get("meta", {}).get("profile", []):
        name = p.rsplit("/", 1)[-1]
        if name in seen:
            continue
        seen.add(name)
        r = dict(r)
        # An example stands alone: give it an id, keep references as written in the bundle.
        r = {"resourceType": r["resourceType"], "id": "example-" + name, **{k: v for k, v in r.items() if k != "resourceType"}}
        with open(f"{sys.argv[2]}/{r['resourceType']}-{name}.json", "w") as f:
            f.write(json.dumps(r, indent=2, ensure_ascii=False) + "\n")
print(f"{len(seen)} profile examples")
PY
if [ "$CHECK" = 1 ]; then
    # Not `diff && diff` under set -e: a failing command inside an && list does not stop the script.
    if ! diff -r "$OUT/screenings" Examples/screenings || ! diff -r "$OUT/profile-examples" Profiles/examples; then
        echo "Examples/screenings or Profiles/examples differ from what the code produces: run Scripts/make-examples.sh and commit"
        exit 1
    fi
    echo "examples are up to date"
else
    rm -rf Examples/screenings Profiles/examples
    cp -r "$OUT/screenings" Examples/screenings
    cp -r "$OUT/profile-examples" Profiles/examples
    echo "wrote Examples/screenings and Profiles/examples"
fi
