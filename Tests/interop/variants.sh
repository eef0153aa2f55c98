#!/usr/bin/env bash
# Phantom variants through the whole CT part: for each, a standard-size phantom with its density map,
# `osteoct analyze`, and `osteoct phantom-check` against its truth. Prints one line per variant with the
# number of values out of tolerance; exit 1 when a variant expected to pass does not.
# usage: variants.sh OSTEOCT WORKDIR
set -uo pipefail
OSTEOCT="$1"; WORK="$2"
mkdir -p "$WORK"
fail=0
# name | phantom options | expected: pass (every value in tolerance), known:PATTERN (only rows matching
# PATTERN out of tolerance: a known weakness, reported), or a pattern that must appear in measurements.json.
# normal-young: the 175 HU mask of a dense young femoral neck lies farther outside the bone, so its
# narrow-neck mask area reads 11 % above truth (10 % tolerance); the density-weighted area is issue 4's HSA.
# slices-2.5: the joint space blurs shut and each femur is parted from the pelvis by the watershed; the
# blurred 175 HU mask makes the narrow-neck mask area read 10 % high, the same known weakness.
while IFS='|' read -r name opts expect; do
    [ -z "$name" ] && continue
    rm -rf "$WORK/$name" "$WORK/$name-out"
    # shellcheck disable=SC2086
    "$OSTEOCT" phantom "$WORK/$name" --size standard --seed 7 --density-map $opts >/dev/null || { echo "$name: phantom failed"; fail=1; continue; }
    "$OSTEOCT" analyze "$WORK/$name/dicom" --out "$WORK/$name-out" --issued 2026-11-25T10:00:00Z --profiles "$WORK/no-profiles" >/dev/null 2>&1
    out=$("$OSTEOCT" phantom-check "$WORK/$name/truth.json" "$WORK/$name-out/measurements.json" 2>&1 | grep -c ' OUT$')
    if [ "${expect#known:}" != "$expect" ]; then
        # Every value in tolerance except a known weakness, which is reported.
        known="${expect#known:}"
        other=$("$OSTEOCT" phantom-check "$WORK/$name/truth.json" "$WORK/$name-out/measurements.json" 2>&1 | grep ' OUT$' | grep -vc "$known")
        if [ "$other" = 0 ]; then echo "$name ($opts): in tolerance except the known weakness '$known' ($out values)"; else echo "$name ($opts): $other values out of tolerance besides '$known'"; fail=1; fi
    elif [ "$expect" = "pass" ]; then
        [ "$out" = 0 ] && echo "$name ($opts): all values in tolerance" || { echo "$name ($opts): $out values out of tolerance"; fail=1; }
    else
        if grep -q "$expect" "$WORK/$name-out/measurements.json"; then echo "$name ($opts): flagged $expect ($out values out of tolerance, expected)"; else echo "$name ($opts): $expect not flagged"; fail=1; fi
    fi
    rm -rf "$WORK/$name" "$WORK/$name-out"
done <<'V'
osteoporotic|--preset osteoporotic|pass
normal-young|--preset normal-young|known:narrow neck area (mask)
density-0.6|--bone-density-scale 0.6|pass
noise-30|--noise 30|pass
psf-0.8|--psf-fwhm 0.8|pass
prosthesis-right|--prosthesis right|pass
fov-cut-left|--fov-cut left|femur-left-cut-by-fov
portal-venous|--contrast portal-venous|spine-contrast
slices-2.5|--slice-thickness 2.5 --slice-spacing 2.5 --slices 150|known:narrow neck area (mask)
V
exit $fail
