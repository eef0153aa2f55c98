#!/usr/bin/env bash
# The service demo, on loopback only, with real parts:
#   a PACS  — Orthanc 1.10 with its DICOMweb plugin (Debian packages orthanc, orthanc-dicomweb);
#   an EHR  — `osteoct test-ehr`, the small in-memory FHIR server OsteoCT ships FOR TESTS AND DEMOS
#             (SMART backend services tokens, transactions, Subscriptions); not an EHR;
#   OsteoCT — `osteoct serve` with its SQLite store, secure (no development mode).
# Flow: the phantom CT study is sent to Orthanc; the woman's record is in the EHR; OsteoCT subscribes
# to the EHR and follows Orthanc's /changes. The study is announced twice — Orthanc's StableStudy
# (matched to her by the DICOM Patient ID) and the EHR's notification (id-only) when it records the
# CT as an ImagingStudy — and analysed once. OsteoCT reads the record from the EHR (SMART token),
# retrieves the study from Orthanc (WADO-RS), analyses it, writes the results into the EHR
# (transaction Bundle) and the DICOM SEG/SR/SC into Orthanc (STOW-RS, checked by QIDO-RS), and
# answers a CDS Hooks patient-view call (signed JWT) with a card linking to the explanation page.
# Prints the RiskAssessment as the EHR stored it and the report URL. Output in out/service-demo/.
# Orthanc 1.10 cannot bind one address, so everything runs in a network namespace of its own
# (`unshare -n`) with only loopback up; all processes are stopped by their PIDs at the end.
# DEMO_KEEP=1 leaves the servers running (Ctrl-C ends them).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${OSTEOCT_NETNS:-}" ]; then
    if unshare -n true 2>/dev/null; then exec env OSTEOCT_NETNS=1 unshare -n bash "$0" "$@"; fi
    if unshare -rn true 2>/dev/null; then exec env OSTEOCT_NETNS=1 unshare -rn bash "$0" "$@"; fi
    echo "error: the demo needs 'unshare -n' (root) or user namespaces ('unshare -rn') to keep Orthanc on loopback" >&2
    exit 1
fi
ip link set lo up
command -v Orthanc >/dev/null || { echo "error: Orthanc is not installed: apt-get install orthanc orthanc-dicomweb" >&2; exit 1; }
PLUGIN=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
[ -e "$PLUGIN" ] || { echo "error: the Orthanc DICOMweb plugin is missing: apt-get install orthanc-dicomweb" >&2; exit 1; }
cd "$ROOT"
if [ -z "${OSTEOCT:-}" ]; then
    swift build -c release --product osteoct >&2
    OSTEOCT="$(swift build -c release --show-bin-path)/osteoct"
fi
OUT="$ROOT/out/service-demo"
rm -rf "$OUT"; mkdir -p "$OUT"
PIDS=()
stop() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done; }
trap stop EXIT
wait_for() {  # URL, what, seconds
    for _ in $(seq 1 "$3"); do curl -sf -o /dev/null "$1" && return 0; sleep 1; done
    echo "error: $2 did not come up ($1)" >&2; exit 1
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

echo "== 1. the CT study (digital hip phantom) and the keys"
# shellcheck disable=SC2046
"$OSTEOCT" phantom "$OUT/study" $(grep -v '^#' Examples/phantom-standard.args) > /dev/null
"$OSTEOCT" keygen --kid osteoct-demo --private-key "$OUT/osteoct.jwk.json" --jwks "$OUT/osteoct.jwks.json"
"$OSTEOCT" keygen --kid ehr-cds-demo --private-key "$OUT/ehr-cds.jwk.json" --jwks "$OUT/ehr-cds.jwks.json"
# The EHR registers OsteoCT's public key (SMART backend services); OsteoCT trusts the EHR's CDS key.
printf '{"cdsClients": [{"iss": "osteoct-demo", "jwks": %s}]}\n' "$(cat "$OUT/osteoct.jwks.json")" > "$OUT/ehr-clients.json"
printf '{"cdsClients": [{"iss": "http://127.0.0.1:18090", "jwks": %s}]}\n' "$(cat "$OUT/ehr-cds.jwks.json")" > "$OUT/trust.json"

echo "== 2. the PACS (Orthanc + DICOMweb) and the test EHR"
cat > "$OUT/orthanc.json" <<JSON
{"Name": "OsteoCT-demo", "StorageDirectory": "$OUT/orthanc", "IndexDirectory": "$OUT/orthanc", "HttpPort": 18042,
 "DicomServerEnabled": false, "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "StableAge": 2,
 "Plugins": ["$PLUGIN"], "DicomWeb": {"Enable": true, "Root": "/dicom-web/"}}
JSON
TCP_NODELAY=1 Orthanc "$OUT/orthanc.json" > "$OUT/orthanc.log" 2>&1 & PIDS+=($!)
"$OSTEOCT" test-ehr --port 18090 --clients "$OUT/ehr-clients.json" --load Examples/service/patient.json > "$OUT/test-ehr.log" 2>&1 & PIDS+=($!)
wait_for http://127.0.0.1:18042/system Orthanc 30
wait_for http://127.0.0.1:18090/fhir/metadata "the test EHR" 30
n=0
for f in "$OUT"/study/dicom/*; do curl -sf -X POST --data-binary "@$f" http://127.0.0.1:18042/instances > /dev/null; n=$((n + 1)); done
echo "sent $n DICOM files to Orthanc"
STUDY_UID=$(curl -sf "http://127.0.0.1:18042/studies?expand" | json 'd[0]["MainDicomTags"]["StudyInstanceUID"]')

echo "== 3. OsteoCT"
cat > "$OUT/osteoct.json" <<JSON
{"server": {"host": "127.0.0.1", "port": 18080},
 "store": {"path": "$OUT/osteoct.sqlite"},
 "workers": {"count": 1, "leaseSeconds": 20},
 "security": {"trustFile": "$OUT/trust.json", "subscriptionSecret": "demo-subscription-secret", "reportLinkSecret": "demo-link-secret",
              "stowSecret": "demo-stow-secret"},
 "ehr": {"baseUrl": "http://127.0.0.1:18090/fhir", "clientId": "osteoct-demo", "privateKey": "$OUT/osteoct.jwk.json"},
 "pacs": {"dicomwebUrl": "http://127.0.0.1:18042/dicom-web", "orthancUrl": "http://127.0.0.1:18042", "orthancPollSeconds": 1, "storeResults": true, "stableSeconds": 3},
 "site": {"config": "$ROOT/Examples/site-config.json"}}
JSON
"$OSTEOCT" serve --config "$OUT/osteoct.json" > "$OUT/osteoct.log" 2>&1 & PIDS+=($!)
SERVE_PID=$!
wait_for http://127.0.0.1:18080/ready OsteoCT 30
"$OSTEOCT" subscribe --config "$OUT/osteoct.json" --topic http://osteoct.org/fhir/SubscriptionTopic/demo-ct-imagingstudy --content id-only

echo "== 4. the EHR records the CT (ImagingStudy) and notifies OsteoCT"
cat > "$OUT/imagingstudy.json" <<JSON
{"resourceType": "ImagingStudy", "id": "ct-demo-1", "status": "available", "subject": {"reference": "Patient/hr01"},
 "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:$STUDY_UID"}], "numberOfInstances": $n,
 "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}]}
JSON
curl -sf -X PUT -H 'Content-Type: application/fhir+json' --data-binary "@$OUT/imagingstudy.json" \
    http://127.0.0.1:18090/fhir/ImagingStudy/ct-demo-1 > /dev/null
echo "waiting for the screening (retrieval, analysis with finite elements, delivery)…"
for i in $(seq 1 300); do
    COUNT=$(curl -sf http://127.0.0.1:18090/_test/counts | json 'd.get("RiskAssessment", 0)')
    [ "$COUNT" -ge 1 ] && break
    if grep -q "state=dead" "$OUT/osteoct.log"; then echo "error: a job failed for good:" >&2; grep "job failed" "$OUT/osteoct.log" | tail -3 >&2; exit 1; fi
    sleep 1
done
[ "$COUNT" -ge 1 ] || { echo "error: no RiskAssessment in the EHR after 300 s; see $OUT/osteoct.log" >&2; exit 1; }
echo "screened in ${i} s"

echo "== 5. the results in the EHR, and the CDS Hooks card"
"$OSTEOCT" jobs --config "$OUT/osteoct.json"
# OsteoCT's own FHIR endpoint (a signed JWT of a trusted client, aud = its /fhir base).
JWT=$("$OSTEOCT" jwt --key "$OUT/ehr-cds.jwk.json" --iss http://127.0.0.1:18090 --aud http://127.0.0.1:18080/fhir)
curl -sf -H "Authorization: Bearer $JWT" "http://127.0.0.1:18080/fhir/RiskAssessment?patient=hr01" > "$OUT/riskassessment.json"
python3 - "$OUT/riskassessment.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
r = b["entry"][0]["resource"]
print("RiskAssessment/%s for %s (%s):" % (r["id"], r["subject"]["reference"], r.get("status")))
for p in r.get("prediction", []):
    years = p.get("whenRange", {}).get("high", {}).get("value", "?")
    print("  hip fracture within %s years: %s %% (%s)" % (years, p.get("probabilityDecimal"), p.get("qualitativeRisk", {}).get("text", "")))
PY
JWT=$("$OSTEOCT" jwt --key "$OUT/ehr-cds.jwk.json" --iss http://127.0.0.1:18090 --aud http://127.0.0.1:18080/cds-services/osteoct-hip-fracture-risk)
curl -sf -X POST -H "Authorization: Bearer $JWT" -H 'Content-Type: application/json' http://127.0.0.1:18080/cds-services/osteoct-hip-fracture-risk \
    -d '{"hook": "patient-view", "hookInstance": "'"$(cat /proc/sys/kernel/random/uuid)"'", "context": {"userId": "Practitioner/demo", "patientId": "hr01"},
         "prefetch": {"patient": {"resourceType": "Patient", "id": "hr01"}}}' > "$OUT/cards.json"
python3 - "$OUT/cards.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["cards"][0]
print("CDS card (%s): %s" % (c["indicator"], c["summary"]))
print("Report: %s" % c["links"][0]["url"])
PY
curl -sf "$(json 'd["cards"][0]["links"][0]["url"]' < "$OUT/cards.json")" -o "$OUT/report.html" && echo "report page saved: $OUT/report.html"
# Interop checks with the servers still up (Tests/interop/run.sh sets DEMO_CHECK).
if [ -n "${DEMO_CHECK:-}" ]; then OSTEOCT_SERVE_PID=$SERVE_PID $DEMO_CHECK "$OUT" "$OSTEOCT"; fi
if [ -n "${DEMO_KEEP:-}" ]; then echo "servers left running (Ctrl-C ends them)"; wait; fi
