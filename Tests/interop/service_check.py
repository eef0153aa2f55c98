"""Interop checks of `osteoct serve`, run by Scripts/demo-service.sh (DEMO_CHECK) while Orthanc, the
test EHR and OsteoCT are up, after the demo study was screened:

1. Python fhirclient (a real FHIR client) reads OsteoCT's /fhir: CapabilityStatement, RiskAssessment
   search by patient, DiagnosticReport read; fhir.resources (R4B models) parses every resource of
   the searches; XML by _format is well-formed and in the FHIR namespace.
2. Security: no token → 401, a token for another audience → 401, a replayed token → 401.
3b. A new Condition in her record (rheumatoid arthritis): re-scored from the stored CT part (no CT
   analysis), delivered as resources of their own, /fhir serves the new RiskAssessment.
3. The results in the EHR once: the test EHR holds one RiskAssessment and one DiagnosticReport for
   the study although it was announced twice (Orthanc StableStudy and the EHR's notification);
   the same notification again (a new event number, same study version) and an old event number
   again (out of order) change nothing.
4. The DICOM results in the PACS: Orthanc's QIDO-RS lists OsteoCT's SEG and SR series in the study.
5. A second study, announced by Orthanc only (matched to the woman by DICOM Patient ID), is
   screened too; then a worker killed with SIGKILL mid-analysis: the job is taken up again after a
   restart and delivered once.
6. A third study pushed to OsteoCT by STOW-RS is filed, announced once stable, and screened.
Exit status 1 with the failed checks listed.
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import xml.dom.minidom

import requests
from fhirclient import client
from fhirclient.models.diagnosticreport import DiagnosticReport
from fhirclient.models.riskassessment import RiskAssessment
from fhir.resources.R4B import get_fhir_model_class

OUT, OSTEOCT = sys.argv[1], sys.argv[2]
BASE = "http://127.0.0.1:18080"
EHR = "http://127.0.0.1:18090"
ORTHANC = "http://127.0.0.1:18042"
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def jwt(aud):
    return subprocess.check_output([OSTEOCT, "jwt", "--key", f"{OUT}/ehr-cds.jwk.json", "--iss", EHR, "--aud", aud], text=True).strip()


class FreshJWT(requests.auth.AuthBase):
    """A new JWT per request: OsteoCT refuses a jti it has seen."""

    def __call__(self, r):
        r.headers["Authorization"] = "Bearer " + jwt(BASE + "/fhir")
        return r


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


def ehr_counts():
    return get_json(EHR + "/_test/counts")


def jobs():
    return json.loads(subprocess.check_output([OSTEOCT, "jobs", "--config", f"{OUT}/osteoct.json", "--json"], text=True))["counts"]


def wait(cond, seconds, what):
    for _ in range(seconds):
        if cond():
            return True
        time.sleep(1)
    check(False, f"{what} within {seconds} s")
    return False


# 1. fhirclient against /fhir
smart = client.FHIRClient(settings={"app_id": "osteoct-interop", "api_base": BASE + "/fhir"})
smart.server.session.auth = FreshJWT()
cs = smart.server.capabilityStatement
check(cs is not None and cs.fhirVersion == "4.0.1", "fhirclient reads the CapabilityStatement (FHIR 4.0.1)")
ras = RiskAssessment.where(struct={"patient": "hr01"}).perform_resources(smart.server)
check(len(ras) == 1 and ras[0].subject.reference == "Patient/hr01", f"fhirclient: RiskAssessment?patient=hr01 → {len(ras)} (1 expected)")
drs = DiagnosticReport.where(struct={"subject": "Patient/hr01"}).perform_resources(smart.server)
check(len(drs) == 1, f"fhirclient: DiagnosticReport?subject=Patient/hr01 → {len(drs)} (1 expected)")
if drs:
    dr = DiagnosticReport.read(drs[0].id, smart.server)
    check(dr.subject.reference == "Patient/hr01" and bool(dr.presentedForm), "fhirclient: DiagnosticReport read by id, with its presented form (the page)")
s = requests.Session()
s.auth = FreshJWT()
parsed = 0
for t in ["Observation", "RiskAssessment", "DiagnosticReport", "Flag", "ServiceRequest", "Provenance", "ImagingStudy", "Device", "Media"]:
    b = s.get(f"{BASE}/fhir/{t}", params={"_count": 200}).json()
    for e in b.get("entry", []):
        get_fhir_model_class(t).model_validate(e["resource"])
        parsed += 1
check(parsed >= 10, f"fhir.resources (R4B) parses all {parsed} resources OsteoCT serves")
audit = s.get(f"{BASE}/fhir/AuditEvent", params={"patient": "Patient/hr01"}).json()
for e in audit.get("entry", []):
    get_fhir_model_class("AuditEvent").model_validate(e["resource"])
check(len(audit.get("entry", [])) >= 3, f"the disclosures to hr01 as FHIR AuditEvents ({len(audit.get('entry', []))}), parsed by fhir.resources")
x = s.get(f"{BASE}/fhir/RiskAssessment", params={"patient": "hr01", "_format": "xml"})
doc = xml.dom.minidom.parseString(x.content)
check(doc.documentElement.tagName == "Bundle" and doc.documentElement.getAttribute("xmlns") == "http://hl7.org/fhir", "XML search Bundle in the FHIR namespace")

# 2. security
r = requests.get(f"{BASE}/fhir/RiskAssessment?patient=hr01")
check(r.status_code == 401, f"no token → {r.status_code} (401)")
r = requests.get(f"{BASE}/fhir/RiskAssessment?patient=hr01", headers={"Authorization": "Bearer " + jwt(BASE + "/cds-services")})
check(r.status_code == 401, f"token for another audience → {r.status_code} (401)")
token = jwt(BASE + "/fhir")
requests.get(f"{BASE}/fhir/metadata", headers={"Authorization": "Bearer " + token})
first = requests.get(f"{BASE}/fhir/Flag", headers={"Authorization": "Bearer " + token}).status_code
again = requests.get(f"{BASE}/fhir/Flag", headers={"Authorization": "Bearer " + token}).status_code
check(first == 200 and again == 401, f"replayed jti → {again} (401 after {first})")

# 3. once in the EHR, whatever the announcements
counts = ehr_counts()
check(counts.get("RiskAssessment") == 1 and counts.get("DiagnosticReport") == 1, f"the EHR holds one RiskAssessment and one DiagnosticReport ({counts})")
before_jobs = jobs()
study = json.load(open(f"{OUT}/imagingstudy.json"))
req = urllib.request.Request(f"{EHR}/fhir/ImagingStudy/ct-demo-1", data=json.dumps(study).encode(), method="PUT", headers={"Content-Type": "application/fhir+json"})
urllib.request.urlopen(req).read()
# An old event number, out of order, straight to OsteoCT.
note = {"resourceType": "Bundle", "type": "history", "entry": [{"resource": {"resourceType": "Parameters", "parameter": [
    {"name": "subscription", "valueReference": {"reference": f"{EHR}/fhir/Subscription/ehr00001"}},
    {"name": "status", "valueCode": "active"}, {"name": "type", "valueCode": "event-notification"},
    {"name": "notification-event", "part": [{"name": "event-number", "valueString": "1"},
                                            {"name": "focus", "valueReference": {"reference": f"{EHR}/fhir/ImagingStudy/ct-demo-1"}}]}]},
    "request": {"method": "GET", "url": "Subscription/ehr00001/$status"}, "response": {"status": "200"}}]}
r = requests.post(f"{BASE}/subscriptions/notify", json=note, headers={"Authorization": "Bearer demo-subscription-secret"})
check(r.status_code == 200 and r.json().get("outcomes") == ["duplicate"], f"an old event number again → {r.status_code} {r.text[:80]}")
r = requests.post(f"{BASE}/subscriptions/notify", json=note, headers={"Authorization": "Bearer wrong"})
check(r.status_code == 401, f"a notification without the subscription's secret → {r.status_code} (401)")
time.sleep(3)
check(jobs() == before_jobs, f"no new job after the repeated notifications ({jobs()} vs {before_jobs})")
check(ehr_counts() == counts, "nothing new in the EHR after the repeated notifications")

# 3b. Her record changes (a new diagnosis): she is re-scored with the CT part kept, the new results
#     reach the EHR as resources of their own, and the CDS card follows the new risk.
ra = {"resourceType": "Condition", "id": "hr-ra", "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
      "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
      "code": {"coding": [{"system": "http://snomed.info/sct", "code": "69896004", "display": "Rheumatoid arthritis"}]},
      "subject": {"reference": "Patient/hr01"}, "onsetDateTime": "2026-11-01"}
req = urllib.request.Request(f"{EHR}/fhir/Condition/hr-ra", data=json.dumps(ra).encode(), method="PUT", headers={"Content-Type": "application/fhir+json"})
t0 = time.time()
urllib.request.urlopen(req).read()
if wait(lambda: ehr_counts().get("RiskAssessment", 0) == 2, 60, "the re-scored RiskAssessment in the EHR"):
    took = time.time() - t0
    ras = s.get(f"{BASE}/fhir/RiskAssessment", params={"patient": "hr01"}).json()
    new = ras["entry"][0]["resource"] if ras.get("total") == 1 else None
    ident = new["identifier"][0]["value"] if new else ""
    check(new is not None and "-r2-" in ident, f"after the record change /fhir serves one RiskAssessment, the re-score ({ident})")
    check(took < 15, f"re-scored without the CT in {took:.1f} s (the CT analysis takes ~17 s)")
    check(jobs().get("done", 0) == before_jobs.get("done", 0) + 2, f"one rescore and one delivery job ({jobs()})")
    flags = get_json(f"{EHR}/_test/all/Flag")
    statuses = sorted((f["identifier"][0]["value"].split("-")[-2] if "-r2-" in f["identifier"][0]["value"] else "r1", f["status"]) for f in flags)
    check(statuses == [("r1", "inactive"), ("r2", "active")], f"the earlier alert Flag retired (inactive), the new one active: {statuses}")
    srs = get_json(f"{EHR}/_test/all/ServiceRequest")
    check(sorted(r["status"] for r in srs) == ["draft", "revoked"], f"the earlier draft referral revoked, the new one draft: {sorted(r['status'] for r in srs)}")

# 4. DICOM results in the PACS
uid = study["identifier"][0]["value"].replace("urn:oid:", "")
series = get_json(f"{ORTHANC}/dicom-web/studies/{uid}/series")
modalities = sorted({s["00080060"]["Value"][0] for s in series})
check("SEG" in modalities and "SR" in modalities, f"QIDO-RS: the study's series in Orthanc have modalities {modalities} (SEG and SR from OsteoCT)")

# 5. a second study, from Orthanc's /changes only; and a worker killed mid-analysis
subprocess.check_call([OSTEOCT, "phantom", f"{OUT}/study2", "--size", "standard", "--preset", "standard", "--seed", "2"], stdout=subprocess.DEVNULL)
patient = {"resourceType": "Patient", "id": "hr02", "gender": "female", "birthDate": "1952-03-14",
           "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "PHANTOM-standard-2"}]}
req = urllib.request.Request(f"{EHR}/fhir/Patient/hr02", data=json.dumps(patient).encode(), method="PUT", headers={"Content-Type": "application/fhir+json"})
urllib.request.urlopen(req).read()
for f in sorted(os.listdir(f"{OUT}/study2/dicom")):
    with open(f"{OUT}/study2/dicom/{f}", "rb") as fh:
        urllib.request.urlopen(urllib.request.Request(f"{ORTHANC}/instances", data=fh.read(), method="POST")).read()


SERVE_PID = int(os.environ["OSTEOCT_SERVE_PID"])


def analysis_pids():
    """The service's own analysis children (by parent PID, not by name)."""
    out = subprocess.run(["pgrep", "-P", str(SERVE_PID)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


if wait(lambda: analysis_pids(), 60, "the second study's analysis starting (Orthanc StableStudy → job)"):
    # SIGKILL the analysis and the service mid-job, as a crash would.
    for p in analysis_pids() + [SERVE_PID]:
        os.kill(p, signal.SIGKILL)
    check(jobs().get("running", 0) == 1, "after SIGKILL the job is left running under its lease")
    # Restart: the lease (20 s in the demo's configuration) runs out and the job is taken up again.
    log = open(f"{OUT}/osteoct-restart.log", "w")
    restarted = subprocess.Popen([OSTEOCT, "serve", "--config", f"{OUT}/osteoct.json"], stdout=log, stderr=log)
    try:
        ok = wait(lambda: ehr_counts().get("RiskAssessment", 0) == 3, 240, "the second study screened after the restart")
        check(ok, "second study screened after the crash (taken up when its lease ran out)")
        time.sleep(2)
        final = ehr_counts()
        check(final.get("RiskAssessment") == 3 and final.get("DiagnosticReport") == 3, f"each screening once in the EHR after the crash ({final})")
        check(jobs().get("dead", 0) == 0, "no dead-lettered job")
        # 6. a third study pushed to OsteoCT by STOW-RS (multipart/related), announced once stable.
        subprocess.check_call([OSTEOCT, "phantom", f"{OUT}/study3", "--size", "standard", "--preset", "standard", "--seed", "3"], stdout=subprocess.DEVNULL)
        patient3 = dict(patient, id="hr03", identifier=[{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "PHANTOM-standard-3"}])
        urllib.request.urlopen(urllib.request.Request(f"{EHR}/fhir/Patient/hr03", data=json.dumps(patient3).encode(), method="PUT",
                                                      headers={"Content-Type": "application/fhir+json"})).read()
        boundary = "osteoct-check-boundary"
        parts = [open(f"{OUT}/study3/dicom/{f}", "rb").read() for f in sorted(os.listdir(f"{OUT}/study3/dicom"))]
        body = b"".join(b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n" for p in parts) + b"--" + boundary.encode() + b"--\r\n"
        r = requests.post(f"{BASE}/dicomweb/studies", data=body, headers={"Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
                                                                          "Authorization": "Bearer demo-stow-secret"})
        stored = len(r.json().get("00081199", {}).get("Value", [])) if r.status_code in (200, 202) else 0
        check(r.status_code == 200 and stored == len(parts), f"STOW-RS of {len(parts)} instances → {r.status_code}, {stored} stored")
        ok = wait(lambda: ehr_counts().get("RiskAssessment", 0) == 4, 180, "the pushed study screened")
        check(ok, "a study pushed by STOW-RS screened once stable")
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=30)

if failures:
    print(f"{len(failures)} service check(s) failed")
    sys.exit(1)
print("service checks: all passed")
