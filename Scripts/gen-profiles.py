#!/usr/bin/env python3
"""Writes OsteoCT's FHIR conformance resources into Profiles/ and embeds them into the Screening
module (Sources/Screening/Generated/Conformance.swift) so the validator needs no files at run time.

    python3 Scripts/gen-profiles.py          # rewrite both
    python3 Scripts/gen-profiles.py --check  # exit 1 if either is out of date

Canonical base: http://osteoct.org/fhir (../shared/DESIGN.md). Codes: LOINC, SNOMED CT and UCUM
where a code exists (sources in ../shared/reference/fhir-cds.md §6 and the code research notes
summarised in Profiles/README.md); measurements LOINC lacks are in the OsteoCT CodeSystem.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = "http://osteoct.org/fhir"
CS = BASE + "/CodeSystem/osteoct"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VERSION = "0.1.0"
DATE = "2026-11-25"
PUBLISHER = "OsteoCT"

# ---------------------------------------------------------------------------------------------
# The OsteoCT code system: measurements and concepts LOINC and SNOMED CT lack (no active LOINC
# term for CT volumetric BMD, CTXA, hip structural analysis, FE strength or CT body composition
# was found; the only CT densitometry LOINC, 79100-4, is deprecated).
# (code, display, definition, UCUM unit or None, group)
CONCEPTS = [
    ("vbmd-integral", "Integral volumetric bone mineral density (CT)", "Mineral content per volume of cortical plus trabecular bone in a CT region of interest, calibrated to K2HPO4-equivalent density.", "mg/cm3", "bone"),
    ("vbmd-trabecular", "Trabecular volumetric bone mineral density (CT)", "Volumetric BMD of the trabecular compartment of a CT region of interest.", "mg/cm3", "bone"),
    ("vbmd-cortical", "Cortical volumetric bone mineral density (CT)", "Volumetric BMD of the cortical compartment of a CT region of interest.", "mg/cm3", "bone"),
    ("ctxa-abmd", "CTXA areal bone mineral density (DXA-equivalent)", "Areal BMD from a CT volume projected like a DXA scan (CT X-ray absorptiometry).", "g/cm2", "bone"),
    ("ctxa-tscore", "CTXA T-score (DXA-equivalent)", "CTXA areal BMD as standard deviations from the young-adult female reference (NHANES III white women 20-29).", "1", "bone"),
    ("ctxa-zscore", "CTXA Z-score (DXA-equivalent)", "CTXA areal BMD as standard deviations from the age-matched band of the reference table named in the observation's method.", "1", "bone"),
    ("trabecular-attenuation", "Trabecular bone attenuation (uncalibrated)", "Mean CT number of trabecular bone in a region of interest, in Hounsfield units, without density calibration.", "[hnsf'U]", "bone"),
    ("hsa-cross-sectional-area", "Hip structural analysis: bone cross-sectional area", "Bone cross-sectional area of a hip structural analysis section (narrow neck, intertrochanter or shaft).", "cm2", "bone"),
    ("hsa-section-modulus", "Hip structural analysis: section modulus", "Section modulus (bending strength index) of a hip structural analysis section.", "cm3", "bone"),
    ("hsa-cortical-thickness", "Hip structural analysis: mean cortical thickness", "Estimated mean cortical thickness of a hip structural analysis section.", "mm", "bone"),
    ("hsa-outer-diameter", "Hip structural analysis: outer diameter", "Periosteal diameter of a hip structural analysis section.", "mm", "bone"),
    ("hsa-buckling-ratio", "Hip structural analysis: buckling ratio", "Ratio of outer radius to cortical thickness of a hip structural analysis section.", "1", "bone"),
    ("fe-strength-sideways-fall", "Femoral strength in a sideways fall (finite elements)", "Load at failure of the proximal femur from a CT-based finite-element model loaded as in a sideways fall onto the greater trochanter.", "N", "bone"),
    ("fe-strength-stance", "Femoral strength in stance (finite elements)", "Load at failure of the proximal femur from a CT-based finite-element model loaded as in single-leg stance.", "N", "bone"),
    ("fe-load-to-strength", "Factor of risk (fall load / femoral strength)", "Expected sideways-fall impact force divided by the finite-element femoral strength.", "1", "bone"),
    ("muscle-area", "Skeletal muscle cross-sectional area (CT)", "Cross-sectional area of skeletal muscle at the stated level, -29 to 150 HU.", "cm2", "body"),
    ("muscle-attenuation", "Skeletal muscle attenuation (CT)", "Mean CT number of skeletal muscle at the stated level.", "[hnsf'U]", "body"),
    ("skeletal-muscle-index", "Skeletal muscle index (CT)", "Skeletal muscle area at L3 divided by height squared.", "cm2/m2", "body"),
    ("visceral-fat-area", "Visceral adipose tissue area (CT)", "Cross-sectional area of intra-abdominal adipose tissue at the stated level, -190 to -30 HU.", "cm2", "body"),
    ("subcutaneous-fat-area", "Subcutaneous adipose tissue area (CT)", "Cross-sectional area of subcutaneous adipose tissue at the stated level, -190 to -30 HU.", "cm2", "body"),
    ("opportunistic-ct-bone-health", "Opportunistic CT bone-health report", "Bone density, hip structure, strength, body composition and hip-fracture risk from a CT acquired for another reason.", None, "report"),
    ("hip-fracture-risk-assessment", "Hip-fracture risk assessment", "Absolute risk of hip fracture over stated horizons.", None, "report"),
    ("hip-fracture", "Hip fracture", "Fracture of the proximal femur: femoral neck, trochanteric or subtrochanteric (the outcome of the risk model).", None, "report"),
    ("osteoct-multimodal-hip", "OsteoCT multimodal hip-fracture model", "QFracture-2012 hip (women) baseline with CT bone, strength, muscle, falls and serum-marker terms; the model id and version are in Coding.version and the model card.", None, "report"),
    ("fracture-liaison-referral", "Referral to a fracture liaison service", "Referral for secondary fracture prevention assessment by a fracture liaison service.", None, "report"),
    ("high-hip-fracture-risk", "High risk of hip fracture", "Hip-fracture risk in the model's high category.", None, "report"),
    ("calibration-phantomless", "Phantomless (internal tissue) calibration", "CT numbers converted to density with internal references (air, fat, muscle, blood).", None, "calibration"),
    ("calibration-asynchronous-phantom", "Asynchronous phantom calibration", "CT numbers converted to density with a phantom scanned separately on the same scanner and protocol.", None, "calibration"),
    ("calibration-synchronous-phantom", "Synchronous phantom calibration", "CT numbers converted to density with a phantom scanned with the patient.", None, "calibration"),
    ("calibration-none", "Uncalibrated CT numbers", "Hounsfield units as stored, without density calibration.", None, "calibration"),
]

# Body sites (SNOMED CT). Evidence: DICOM PS3.16 2024c CIDs 4/7151/7304/8134, mCODE, DICOM CID 244.
SITES = [
    ("29627003", "Structure of neck of femur"),            # mCODE radiotherapy VS (not in DICOM CIDs)
    ("310651003", "Bone structure of proximal femur"),      # DICOM CID 7304/8134; total-hip and intertrochanteric ROIs
    ("30547004", "Structure of greater trochanter of femur"),
    ("41111004", "Bone structure of shaft of femur"),       # DICOM CID 7304/8134
    ("71341001", "Bone structure of femur"),                # DICOM CID 4/4031
    ("66794005", "Bone structure of L1"),                   # DICOM CID 7151/8134
    ("36470004", "Bone structure of L3"),                   # DICOM CID 7602/8134
    ("127954009", "Skeletal muscle structure"),             # DICOM CID 7710/8134
    ("52731004", "Abdominal cavity structure"),             # DICOM concept dictionary (visceral fat region)
    ("71966008", "Subcutaneous tissue structure"),          # DICOM CID 5/7151
]
LATERALITY = [("7771000", "Left"), ("24028007", "Right"), ("51440002", "Right and left")]  # DICOM CID 244
RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"


def concept_set(group):
    return [{"code": c, "display": d} for c, d, _, _, g in CONCEPTS if g == group]


def code_system():
    return {
        "resourceType": "CodeSystem", "id": "osteoct", "url": CS, "version": VERSION, "name": "OsteoCT",
        "title": "OsteoCT measurements and concepts", "status": "active", "experimental": False, "date": DATE,
        "publisher": PUBLISHER,
        "description": "Quantitative-CT measurements, report, referral and calibration concepts used by OsteoCT for which no LOINC or SNOMED CT code was found. Units are the UCUM units OsteoCT reports.",
        "caseSensitive": True, "content": "complete", "count": len(CONCEPTS),
        "property": [{"code": "unit", "description": "UCUM unit of the measurement", "type": "string"}],
        "concept": [dict({"code": c, "display": d, "definition": df}, **({"property": [{"code": "unit", "valueString": u}]} if u else {}))
                    for c, d, df, u, _ in CONCEPTS],
    }


def value_set(id, name, title, description, includes):
    return {
        "resourceType": "ValueSet", "id": id, "url": f"{BASE}/ValueSet/{id}", "version": VERSION, "name": name,
        "title": title, "status": "active", "experimental": False, "date": DATE, "publisher": PUBLISHER,
        "description": description, "compose": {"include": includes},
    }


def value_sets():
    return [
        value_set("ct-bone-measurements", "CTBoneMeasurements", "CT bone measurements",
                  "Codes for bone density, structure and strength measured by OsteoCT on CT.",
                  [{"system": CS, "concept": concept_set("bone")}]),
        value_set("ct-body-composition", "CTBodyComposition", "CT body-composition measurements",
                  "Codes for muscle and fat measured by OsteoCT on CT.",
                  [{"system": CS, "concept": concept_set("body")}]),
        value_set("ct-calibration-methods", "CTCalibrationMethods", "CT density calibration methods",
                  "How CT numbers were converted to density.", [{"system": CS, "concept": concept_set("calibration")}]),
        value_set("ct-body-sites", "CTBodySites", "Body sites of OsteoCT measurements",
                  "SNOMED CT body structures of OsteoCT regions of interest (DICOM PS3.16 anatomy where it has one).",
                  [{"system": SCT, "concept": [{"code": c, "display": d} for c, d in SITES]}]),
        value_set("laterality", "Laterality", "Laterality",
                  "SNOMED CT laterality qualifiers (DICOM CID 244).",
                  [{"system": SCT, "concept": [{"code": c, "display": d} for c, d in LATERALITY]}]),
        value_set("risk-probability", "RiskProbability", "Qualitative risk categories",
                  "The HL7 risk-probability codes OsteoCT uses for RiskAssessment.prediction.qualitativeRisk.",
                  [{"system": RISK_PROBABILITY, "concept": [{"code": c} for c in ["negligible", "low", "moderate", "high", "certain"]]}]),
    ]


def el(id, **kw):
    e = {"id": id, "path": ".".join(s.split(":")[0] for s in id.split("."))}
    if ":" in id.split(".")[-1]:
        e["sliceName"] = id.split(".")[-1].split(":")[1]
    for k in ["short", "definition", "min", "max"]:
        if k in kw:
            e[k] = kw.pop(k)
    if "types" in kw:
        e["type"] = kw.pop("types")
    if "binding" in kw:
        strength, vs = kw.pop("binding")
        e["binding"] = {"strength": strength, "valueSet": vs}
    if kw.pop("must", True):
        e["mustSupport"] = True
    e.update(kw)
    return e


def cc(system, code, display=None):
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    return {"coding": [c]}


def reference(*targets):
    return [{"code": "Reference", "targetProfile": [f"http://hl7.org/fhir/StructureDefinition/{t}" for t in targets]}]


def profile(id, name, title, type, description, elements, kind="resource", context=None):
    sd = {
        "resourceType": "StructureDefinition", "id": id, "url": f"{BASE}/StructureDefinition/{id}", "version": VERSION,
        "name": name, "title": title, "status": "active", "experimental": False, "date": DATE, "publisher": PUBLISHER,
        "description": description, "fhirVersion": "4.0.1", "kind": kind, "abstract": False,
    }
    if context:
        sd["context"] = context
    sd.update({
        "type": type, "baseDefinition": f"http://hl7.org/fhir/StructureDefinition/{type}", "derivation": "constraint",
        "differential": {"element": [{"id": type, "path": type}] + elements},
    })
    return sd


def measurement_profile(id, name, title, vs, description):
    return profile(id, name, title, "Observation", description, [
        el("Observation.category", min=1, patternCodeableConcept=cc("http://terminology.hl7.org/CodeSystem/observation-category", "imaging")),
        el("Observation.code", short="What was measured", binding=("required", f"{BASE}/ValueSet/{vs}")),
        el("Observation.subject", min=1, types=reference("Patient")),
        el("Observation.effective[x]", short="When the CT was acquired", min=1, types=[{"code": "dateTime"}]),
        el("Observation.value[x]", short="The measurement with its UCUM unit", types=[{"code": "Quantity"}]),
        el("Observation.value[x].system", min=1, fixedUri=UCUM),
        el("Observation.value[x].code", min=1),
        el("Observation.bodySite", short="Region of interest", min=1, binding=("required", f"{BASE}/ValueSet/ct-body-sites")),
        el("Observation.bodySite.extension:laterality", short="Left or right", min=0, max="1",
           types=[{"code": "Extension", "profile": [f"{BASE}/StructureDefinition/laterality"]}]),
        el("Observation.method", short="Calibration method; the text names the ROI and its definition", min=1,
           binding=("required", f"{BASE}/ValueSet/ct-calibration-methods")),
        el("Observation.method.text", min=1),
        el("Observation.derivedFrom", short="The CT study measured", min=1, types=reference("ImagingStudy", "Observation")),
        el("Observation.device", types=reference("Device")),
    ])


def profiles():
    out = [
        measurement_profile("ct-bone-observation", "CTBoneObservation", "CT bone measurement",
                            "ct-bone-measurements",
                            "A bone density, hip structural analysis or finite-element strength value measured on CT, with UCUM unit, region of interest, side, calibration method and the ImagingStudy it came from."),
        measurement_profile("ct-body-composition-observation", "CTBodyCompositionObservation", "CT body-composition measurement",
                            "ct-body-composition",
                            "A muscle or fat measurement on CT, with UCUM unit, level, calibration method and the ImagingStudy it came from."),
        profile("bone-health-report", "BoneHealthReport", "Opportunistic CT bone-health report", "DiagnosticReport",
                "The report of one OsteoCT screening: measurements, risk, conclusion and a human-readable form.", [
                    el("DiagnosticReport.category", min=1, patternCodeableConcept={"coding": [
                        {"system": LOINC, "code": "LP29684-5"}, {"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD"}]}),
                    el("DiagnosticReport.code", patternCodeableConcept=cc(CS, "opportunistic-ct-bone-health")),
                    el("DiagnosticReport.subject", min=1, types=reference("Patient")),
                    el("DiagnosticReport.effective[x]", min=1, types=[{"code": "dateTime"}]),
                    el("DiagnosticReport.issued", min=1),
                    el("DiagnosticReport.performer", short="The organisation running OsteoCT, when configured (the software itself is in the Provenance)",
                       types=reference("Organization", "Practitioner", "PractitionerRole", "CareTeam")),
                    el("DiagnosticReport.result", types=reference("Observation")),
                    el("DiagnosticReport.imagingStudy", min=1),
                    el("DiagnosticReport.conclusion", min=1),
                    el("DiagnosticReport.presentedForm", min=1),
                    el("DiagnosticReport.presentedForm.contentType", min=1),
                ]),
        profile("hip-fracture-risk", "HipFractureRiskAssessment", "Hip-fracture risk assessment", "RiskAssessment",
                "Absolute hip-fracture risk at 2, 5 and 10 years from the OsteoCT multimodal model, with per-feature contributions.", [
                    el("RiskAssessment.extension:contribution", short="What drives the risk, per feature", min=1, max="*",
                       types=[{"code": "Extension", "profile": [f"{BASE}/StructureDefinition/risk-contribution"]}]),
                    el("RiskAssessment.code", min=1, patternCodeableConcept=cc(CS, "hip-fracture-risk-assessment")),
                    el("RiskAssessment.method", min=1, patternCodeableConcept=cc(CS, "osteoct-multimodal-hip")),
                    el("RiskAssessment.method.coding", min=1),
                    el("RiskAssessment.method.coding.version", min=1),
                    el("RiskAssessment.subject", types=reference("Patient")),
                    el("RiskAssessment.occurrence[x]", min=1, types=[{"code": "dateTime"}]),
                    el("RiskAssessment.performer", min=1, types=reference("Device")),
                    el("RiskAssessment.basis", short="The CT study, measurements and EHR data used", min=1),
                    el("RiskAssessment.prediction", min=1),
                    el("RiskAssessment.prediction.outcome", min=1, patternCodeableConcept=cc(CS, "hip-fracture")),
                    el("RiskAssessment.prediction.probability[x]", short="Percent (0-100, ras-2)", min=1, types=[{"code": "decimal"}]),
                    el("RiskAssessment.prediction.qualitativeRisk", min=1, binding=("required", f"{BASE}/ValueSet/risk-probability")),
                    el("RiskAssessment.prediction.relativeRisk", short="Ratio to a woman of the same age without risk factors"),
                    el("RiskAssessment.prediction.when[x]", short="Horizon in years (UCUM a)", min=1, types=[{"code": "Range"}]),
                    el("RiskAssessment.prediction.rationale", min=1),
                ]),
        profile("fls-referral", "FractureLiaisonReferral", "Fracture-liaison referral", "ServiceRequest",
                "A referral to the fracture liaison service raised when the hip-fracture risk is high; the RiskAssessment is attached through supportingInfo (R4 does not allow it in reasonReference).", [
                    el("ServiceRequest.category", min=1, patternCodeableConcept=cc(SCT, "3457005")),
                    el("ServiceRequest.code", min=1, patternCodeableConcept=cc(CS, "fracture-liaison-referral")),
                    el("ServiceRequest.subject", types=reference("Patient")),
                    el("ServiceRequest.authoredOn", min=1),
                    el("ServiceRequest.requester", min=1, types=reference("Device")),
                    el("ServiceRequest.performer", min=1, types=reference("HealthcareService", "Organization", "PractitionerRole")),
                    el("ServiceRequest.reasonReference", types=reference("DiagnosticReport", "Observation")),
                    el("ServiceRequest.supportingInfo", short="The RiskAssessment (and report)", min=1),
                ]),
        profile("hip-fracture-risk-flag", "HipFractureRiskFlag", "High hip-fracture risk alert", "Flag",
                "An alert the EHR shows while the risk is high.", [
                    el("Flag.category", min=1, patternCodeableConcept=cc("http://terminology.hl7.org/CodeSystem/flag-category", "clinical")),
                    el("Flag.code", patternCodeableConcept=cc(CS, "high-hip-fracture-risk")),
                    el("Flag.subject", types=reference("Patient")),
                    el("Flag.period", min=1),
                    el("Flag.period.start", min=1),
                    el("Flag.author", min=1, types=reference("Device")),
                ]),
        profile("laterality", "Laterality", "Laterality of a body site", "Extension",
                "Left or right for Observation.bodySite (R4 Observation has no laterality element).", [
                    el("Extension.url", fixedUri=f"{BASE}/StructureDefinition/laterality", must=False),
                    el("Extension.value[x]", min=1, types=[{"code": "CodeableConcept"}], binding=("required", f"{BASE}/ValueSet/laterality")),
                ], kind="complex-type", context=[{"type": "element", "expression": "Observation.bodySite"}]),
        profile("risk-contribution", "RiskContribution", "Contribution of one feature to the risk", "Extension",
                "How much one feature moves the predicted risk: Shapley percentage points at a horizon (the contributions sum to the difference from the baseline risk), the log-hazard term, and the patient's value.", [
                    el("Extension.extension", min=2, must=False),
                    el("Extension.extension:feature", short="Feature id of the model", min=1, max="1"),
                    el("Extension.extension:feature.url", fixedUri="feature", must=False),
                    el("Extension.extension:feature.value[x]", min=1, types=[{"code": "code"}]),
                    el("Extension.extension:label", short="Feature name as shown", min=0, max="1"),
                    el("Extension.extension:label.url", fixedUri="label", must=False),
                    el("Extension.extension:label.value[x]", min=1, types=[{"code": "string"}]),
                    el("Extension.extension:value", short="The patient's value as shown", min=0, max="1"),
                    el("Extension.extension:value.url", fixedUri="value", must=False),
                    el("Extension.extension:value.value[x]", min=1, types=[{"code": "string"}]),
                    el("Extension.extension:modality", short="clinical | comorbidity | medication | falls | serum | ct", min=0, max="1"),
                    el("Extension.extension:modality.url", fixedUri="modality", must=False),
                    el("Extension.extension:modality.value[x]", min=1, types=[{"code": "code"}]),
                    el("Extension.extension:percentagePoints", short="Shapley contribution, percentage points of absolute risk", min=1, max="1"),
                    el("Extension.extension:percentagePoints.url", fixedUri="percentagePoints", must=False),
                    el("Extension.extension:percentagePoints.value[x]", min=1, types=[{"code": "decimal"}]),
                    el("Extension.extension:horizon", short="Horizon of the percentage points (years, UCUM a)", min=1, max="1"),
                    el("Extension.extension:horizon.url", fixedUri="horizon", must=False),
                    el("Extension.extension:horizon.value[x]", min=1, types=[{"code": "Quantity"}]),
                    el("Extension.extension:logHazard", short="The feature's log-hazard term", min=0, max="1"),
                    el("Extension.extension:logHazard.url", fixedUri="logHazard", must=False),
                    el("Extension.extension:logHazard.value[x]", min=1, types=[{"code": "decimal"}]),
                    el("Extension.url", fixedUri=f"{BASE}/StructureDefinition/risk-contribution", must=False),
                    el("Extension.value[x]", max="0", must=False),
                ], kind="complex-type", context=[{"type": "element", "expression": "RiskAssessment"}]),
    ]
    return out


def capability_statement():
    def resource(type, profile, interactions, params):
        r = {"type": type}
        if profile:
            r["supportedProfile"] = [f"{BASE}/StructureDefinition/{p}" for p in (profile if isinstance(profile, list) else [profile])]
        r["interaction"] = [{"code": i} for i in interactions]
        r["searchParam"] = [{"name": n, "type": t} for n, t in params]
        return r
    read = ["read", "search-type"]
    common = [("_id", "token"), ("_lastUpdated", "date"), ("identifier", "token")]
    patient = [("patient", "reference"), ("subject", "reference")]
    return {
        "resourceType": "CapabilityStatement", "id": "osteoct", "url": f"{BASE}/CapabilityStatement/osteoct", "version": VERSION,
        "name": "OsteoCTCapabilityStatement", "title": "OsteoCT decision-support service", "status": "draft", "experimental": False,
        "date": DATE, "publisher": PUBLISHER,
        "description": "What the OsteoCT service (`osteoct serve`, under /fhir) offers over FHIR R4: read and search of the screening results it produced (bone-health report, CT measurements, hip-fracture risk, fracture-liaison referral, alert flag, provenance, strain-map media, the study and device references). Results are also written to the EHR as a transaction Bundle with conditional creates on business identifiers.",
        "kind": "instance", "software": {"name": "OsteoCT", "version": VERSION},
        "implementation": {"description": "OsteoCT service: the resources of its own screenings (read-only)"},
        "fhirVersion": "4.0.1",
        # MIME types (BCP 13, the bound value set); R4 also accepts the short forms "json"/"xml".
        "format": ["application/fhir+json", "application/fhir+xml"],
        "rest": [{
            "mode": "server",
            "documentation": "Read-only. Searches take _id, _lastUpdated (eq, ge, gt, le, lt), identifier (system|value or value), patient and subject (Patient/id or id) where the resource has a subject, _count (at most 200) and _format (json or xml; else the Accept header). Each call needs a bearer JWT of a trusted client with aud equal to the /fhir base URL, unless the service runs in development mode.",
            "security": {"description": "Bearer JWT (ES384 or RS384) from a client in the service's trust file, aud = the /fhir base URL; every disclosure is recorded as an audit record, searchable as AuditEvent by patient."},
            "resource": [
                resource("DiagnosticReport", "bone-health-report", read, common + patient),
                resource("Observation", ["ct-bone-observation", "ct-body-composition-observation"], read, common + patient),
                resource("RiskAssessment", "hip-fracture-risk", read, common + patient),
                resource("ServiceRequest", "fls-referral", read, common + patient),
                resource("Flag", "hip-fracture-risk-flag", read, common + patient),
                resource("Media", None, read, common + patient),
                resource("ImagingStudy", None, read, common + patient),
                resource("Provenance", None, read, common),
                resource("Device", None, read, common),
                resource("AuditEvent", None, ["search-type"], [("patient", "reference")]),
            ],
        }],
    }


def all_resources():
    res = [code_system()] + value_sets() + profiles() + [capability_statement()]
    return {f"{r['resourceType']}-{r['id']}.json": r for r in res}


def dumps(r):
    return json.dumps(r, indent=2, ensure_ascii=False) + "\n"


def swift_source(files):
    lines = [
        "// Generated by Scripts/gen-profiles.py from the same data as Profiles/ — do not edit.",
        "// OsteoCT's conformance resources, embedded so validation needs no files at run time.",
        "",
        "enum EmbeddedConformance {",
        "    /// (file name, JSON) for every file of Profiles/ except examples.",
        "    static let files: [(name: String, json: String)] = [",
    ]
    for name in sorted(files):
        compact = json.dumps(files[name], separators=(",", ":"), ensure_ascii=False)
        assert '"##' not in compact
        lines.append(f'        ("{name}", ##"{compact}"##),')
    lines += ["    ]", "}", ""]
    return "\n".join(lines)


def main():
    check = "--check" in sys.argv
    files = all_resources()
    outputs = {os.path.join(ROOT, "Profiles", n): dumps(r) for n, r in files.items()}
    outputs[os.path.join(ROOT, "Sources", "Screening", "Generated", "EmbeddedConformance.swift")] = swift_source(files)
    stale = []
    for path, text in sorted(outputs.items()):
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            stale.append(os.path.relpath(path, ROOT))
            if not check:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    if check and stale:
        print("out of date (run python3 Scripts/gen-profiles.py):", *stale, sep="\n  ")
        sys.exit(1)
    print(("checked " if check else "wrote ") + f"{len(outputs)} files" + (f", {len(stale)} changed" if stale and not check else ""))


if __name__ == "__main__":
    main()
