#!/usr/bin/env bash
# Benchmark of DICOM reading (issue #2 §9) on a release build, against pydicom (+pylibjpeg,
# pyjpegls) and dcm2niix in the same run. Prints per transfer syntax: osteoct seconds, MB/s,
# slices/s, peak memory, the Python and dcm2niix times, and the ratios (peer time / osteoct time).
#   bash Scripts/bench-dicom.sh [WORKDIR]      (default out/bench-dicom; ≈ 2 GB of test series)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
W="${1:-$ROOT/out/bench-dicom}"
cd "$ROOT"
for t in dcmconv dcmcjpeg dcmcjpls dcmcrle gdcmconv dcm2niix; do
    command -v "$t" >/dev/null || { echo "needs $t: apt-get install dcmtk libgdcm-tools dcm2niix"; exit 1; }
done
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check "pydicom==3.0.2" numpy pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg pylibjpeg-rle pyjpegls
swift build -c release --product osteoct >/dev/null
OSTEOCT="$(swift build -c release --show-bin-path)/osteoct"

mkdir -p "$W"
if [ ! -d "$W/std/dicom" ]; then "$OSTEOCT" phantom "$W/std" --size standard --seed 1 >/dev/null; fi
SRC="$W/std/dicom"
encode() {  # name, command with IN OUT
    local name="$1"; shift
    [ -d "$W/$name" ] && return
    mkdir -p "$W/$name.tmp"
    ls "$SRC" | xargs -P 2 -I{} sh -c "$* \"$SRC/{}\" \"$W/$name.tmp/{}\""
    mv "$W/$name.tmp" "$W/$name"
}
encode ile dcmconv +ti
encode ebe dcmconv +tb
encode deflate dcmconv +td
encode rle dcmcrle
encode jpegll dcmcjpeg +e1
encode jpegls dcmcjpls +el
encode j2k gdcmconv --j2k

printf '['
first=1
for ts in ele ile ebe deflate rle jpegll jpegls j2k; do
    dir="$W/$ts"; [ "$ts" = ele ] && dir="$SRC"
    ours="$("$OSTEOCT" bench dicom "$dir" --repeat 5)"
    py="$(.venv/bin/python Scripts/bench_pydicom.py "$dir" 3)"
    # dcm2niix end to end (read + write an uncompressed NIfTI), best of 3, against `osteoct convert`.
    d2n=999; conv=999
    for i in 1 2 3 4; do
        rm -rf "$W/d2n"; mkdir -p "$W/d2n"
        t0=$(date +%s.%N)
        # dcm2niix does not read every syntax (deflate); a failure is reported as null.
        dcm2niix -o "$W/d2n" -f x -z n "$dir" >/dev/null 2>&1 && [ -f "$W/d2n/x.nii" ] || d2n=-1
        t1=$(date +%s.%N)
        "$OSTEOCT" convert "$dir" "$W/d2n/ours.nii" >/dev/null; t2=$(date +%s.%N)
        [ $i -gt 1 ] || continue  # first pass warms the cache
        [ "$d2n" = -1 ] || d2n=$(echo "$t1 - $t0" | bc -l | awk -v m="$d2n" '{print ($1 < m) ? $1 : m}')
        conv=$(echo "$t2 - $t1" | bc -l | awk -v m="$conv" '{print ($1 < m) ? $1 : m}')
    done
    [ $first = 1 ] || printf ','
    first=0
    .venv/bin/python - "$ts" "$ours" "$py" "$d2n" "$conv" <<'PYEOF'
import json, sys
ts, ours, py, d2n, conv = sys.argv[1], json.loads(sys.argv[2])[0], json.loads(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
out = {
    "transferSyntax": ts, "slices": ours["slices"], "pixelMB": round(ours["pixelMegabytes"], 1),
    "osteoct_s": round(ours["bestSeconds"], 4), "osteoct_MBps": round(ours["megabytesPerSecond"]),
    "osteoct_slicesPerSecond": round(ours["slicesPerSecond"]), "osteoct_peakRSS_MB": round(ours["peakRSSMegabytes"]),
    "pydicom_s": round(py["bestSeconds"], 4), "pydicom_decoder": py["decoder"],
    "speedup_vs_pydicom": round(py["bestSeconds"] / ours["bestSeconds"], 2),
    "osteoct_convert_s": round(conv, 4),
    "dcm2niix_s": round(d2n, 4) if d2n > 0 else None,
    "speedup_vs_dcm2niix": round(d2n / conv, 2) if d2n > 0 else None,
    "identical_volume_checksum": py["checksum"] == ours["checksum"],
}
print(json.dumps(out), end="")
PYEOF
done
printf ']\n'
