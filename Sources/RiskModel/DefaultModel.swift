import Foundation

// The default multimodal hip-fracture model, shipped inside the binary (nothing is downloaded at run
// time). `osteoct model show` prints it; a site may pass its own file with --model. Coefficients are
// natural logs of the published hazard/relative/odds ratios; SEs from their 95 % CIs as
// (ln upper − ln lower)/3.92, or stated assumptions where no CI was available.

extension ModelDefinition {
    /// The default model file, as JSON.
    public static let defaultJSON = #"""
{
  "schema": "osteoct.riskmodel/1",
  "id": "osteoct-hip-multimodal",
  "version": "1.0.0",
  "name": "OsteoCT multimodal hip-fracture model (QFracture-2012 hip, women, plus CT, falls, fracture recency, glucocorticoid dose, serum markers and body composition)",
  "outcome": "hip fracture",
  "horizons": [2, 5, 10],
  "baseline": { "kind": "qfracture-2012-hip-women" },
  "terms": [
    { "id": "ct_fe_strength", "feature": "fe_strength_sideways_fall", "label": "FE femoral strength (sideways fall)",
      "coefficient": 1.0577902941478545, "se": 0.11247568315471562,
      "transform": { "kind": "linear", "centre": 3951, "scale": -1659 },
      "source": "per SD lower strength, the FN-BMD gradient RR 2.88 (2.31–3.59) of Johnell et al., JBMR 2005 — an assumption: FE strength predicted hip fracture at least as well as DXA aBMD (Orwoll et al., JBMR 2009;24:475, men, adjusted HR/SD 6.5 vs 4.4); SD and centre from side-impact failure loads 3951 ± 1659 N of femora from donors aged 79 ± 11 (Eckstein et al., JBMR 2004, doi 10.1359/JBMR.0301247)",
      "evidence": "A" },
    { "id": "ct_fn_tscore", "feature": "ctxa_fn_tscore", "label": "CTXA femoral-neck T-score",
      "coefficient": 1.0577902941478545, "se": 0.11247568315471562,
      "transform": { "kind": "age-relative", "intercept": 0, "slope": 0, "referenceAge": 0, "scale": -1,
        "byAge": [ { "fromAge": 0, "centre": 0 }, { "fromAge": 30, "centre": -0.092 }, { "fromAge": 40, "centre": -0.383 },
                   { "fromAge": 50, "centre": -0.983 }, { "fromAge": 60, "centre": -1.442 }, { "fromAge": 70, "centre": -1.933 },
                   { "fromAge": 80, "centre": -2.508 } ] },
      "source": "RR 2.88 (2.31–3.59) per SD lower femoral-neck BMD, women at 65 (Johnell et al., JBMR 2005); counted relative to the mean T-score of women of the same age decade (NHANES III non-Hispanic white women, femoral neck, young mean 0.858 ± 0.120 g/cm², Looker et al. 1998; decade means recalled, to be verified), because QFracture's age terms already carry the average bone loss",
      "evidence": "S" },
    { "id": "ct_femur_hu", "feature": "femur_trabecular_hu", "label": "Proximal-femur attenuation ≤ 112 HU",
      "coefficient": 0.9162907318741551, "se": 0.19676657184284935,
      "transform": { "kind": "at-or-below", "threshold": 112 },
      "source": "Liu et al., Osteoporos Int 2020 (doi 10.1007/s00198-020-05477-y; CT colonography, 3711 patients, 10-year follow-up): proximal femur ≤ 112 HU, OR 2.5 (lower limit 1.7); 10-year hip fracture 2.7 % vs 0.07 %",
      "evidence": "S" },
    { "id": "ct_l1_hu", "feature": "l1_hu", "label": "L1 attenuation",
      "coefficient": 0.4054651081081644, "se": 0.1,
      "transform": { "kind": "age-relative", "intercept": 226, "slope": -2.5, "referenceAge": 25, "scale": -42 },
      "source": "RR ≈ 1.5 per SD lower BMD at sites other than the hip, for hip fracture (Marshall et al., BMJ 1996;312:1254); age-expected L1 HU 226 − 2.5 HU/year after 25 (Jang 2019) and SD 42 HU (Hendrickson 2018: 236 ± 42 in women 20–30); SE assumed",
      "evidence": "S" },
    { "id": "falls_count", "feature": "falls_count_12m", "label": "Number of falls in the past year",
      "coefficient": 1, "se": 0.1,
      "transform": { "kind": "levels", "levels": { "0": 0, "1": 0, "2": 0.15510899326906996, "3": 0.5567353250700686 } },
      "source": "beyond QFracture's yes/no falls term: RR 1.49 / 1.74 / 2.6 for 1 / 2 / ≥ 3 falls in the past year (Leslie et al., Osteoporos Int, Manitoba registry ~25,000 people, independent of age, BMI and FRAX); values are ln(1.74/1.49) and ln(2.6/1.49) so 1 fall adds nothing to the baseline's falls term; SE assumed",
      "evidence": "S" },
    { "id": "fracture_recency", "feature": "prior_fracture_years_ago", "label": "Fragility fracture in the past 2 years (imminent risk)",
      "coefficient": 0.3726752852851735, "se": 0.15,
      "transform": { "kind": "at-or-below", "threshold": 2 },
      "durationYears": 2, "durationCountsFromFeature": true,
      "source": "risk after a major osteoporotic fracture is 2.7× that of the population in year 1 (Johansson et al., Osteoporos Int 2017;28:775) against a time-averaged prior-fracture RR of 1.86 (Kanis et al., Bone 2004): ln(2.7/1.86) added for the rest of the first 2 years after the fracture; SE assumed",
      "evidence": "S" },
    { "id": "glucocorticoid_dose", "feature": "glucocorticoid_dose", "label": "Glucocorticoid dose",
      "coefficient": 1, "se": 0.1,
      "transform": { "kind": "levels", "levels": { "0": 0, "0.001": -0.4307829160924542, "2.5": 0, "7.5": 0.1823215567939546 } },
      "source": "FRAX hip adjustment by prednisolone-equivalent dose (Kanis et al., Osteoporos Int 2011;22:809): low < 2.5 mg/day −35 %, medium none, high ≥ 7.5 mg/day +20 %, applied to the hazard on top of QFracture's corticosteroid term (small-risk approximation); SE assumed",
      "evidence": "S" },
    { "id": "vitamin_d", "feature": "vitamin_d_25oh", "label": "Low 25-hydroxyvitamin D",
      "coefficient": 0.3364722366212129, "se": 0.07497770974551457,
      "transform": { "kind": "below", "threshold": 60, "scale": 25 },
      "source": "hip RR 1.40 (1.20–1.61) per SD lower 25(OH)D (Osteoporos Int 2017;28:1641, 16 cohorts), applied only below 60 nmol/L where an effect was seen (Lv et al., Oncotarget 2017); SD 25 nmol/L assumed",
      "evidence": "S" },
    { "id": "ctx", "feature": "ctx", "label": "Serum CTX",
      "coefficient": 0.20701416938432612, "se": 0.08827594072381723,
      "transform": { "kind": "linear", "centre": 0.45, "scale": 0.2 },
      "source": "hip GR 1.23 (1.04–1.47) per SD higher s-CTX (Johansson et al., Calcif Tissue Int 2014; unadjusted for BMD; WHI found no association after adjustment, Crandall 2018); centre 0.45 and SD 0.20 ng/mL for postmenopausal women assumed",
      "evidence": "A" },
    { "id": "p1np", "feature": "p1np", "label": "Serum P1NP",
      "coefficient": 0.20701416938432612, "se": 0.06202195176059895,
      "transform": { "kind": "linear", "centre": 55, "scale": 25 },
      "source": "GR 1.23 (1.09–1.39) per SD higher s-PINP for any fracture (Johansson et al., Calcif Tissue Int 2014; no hip-specific figure); centre 55 and SD 25 ng/mL assumed",
      "evidence": "A" },
    { "id": "muscle_attenuation", "feature": "muscle_attenuation", "label": "Low muscle attenuation (fatty muscle)",
      "coefficient": 0.4574248470388755, "se": 0.15123072931940718,
      "transform": { "kind": "age-relative", "intercept": 0, "slope": 0, "referenceAge": 0, "scale": -6.6,
        "byAge": [ { "fromAge": 0, "centre": 42.6 }, { "fromAge": 45, "centre": 38.1 }, { "fromAge": 55, "centre": 33.4 },
                   { "fromAge": 65, "centre": 29.3 }, { "fromAge": 75, "centre": 25.2 } ] },
      "source": "hip RR 1.58 (1.10–1.99) per SD lower thigh-muscle attenuation, independent of BMD (Lang et al., JBMR 2010;25:513, Health ABC); age-expected L3 muscle HU of women and SD 6.6 HU from Framingham (Invest Radiol 2023, PMC10920396); applying the thigh gradient to L3 muscle is an assumption",
      "evidence": "S" },
    { "id": "muscle_area", "feature": "muscle_area", "label": "Muscle area (no independent effect)",
      "coefficient": 0, "se": null,
      "transform": { "kind": "linear", "centre": 105, "scale": 16 },
      "source": "muscle cross-sectional area was not independently associated with hip fracture (Lang et al., JBMR 2010): coefficient 0, kept so the measure is shown, not silently dropped",
      "evidence": "S" },
    { "id": "visceral_fat", "feature": "visceral_fat_area", "label": "Visceral fat (no established effect)",
      "coefficient": 0, "se": null,
      "transform": { "kind": "linear", "centre": 130, "scale": 50 },
      "source": "no reliable pooled hip-fracture estimate was found (risk-model.md §3): coefficient 0",
      "evidence": "S" }
  ],
  "hierarchies": [
    { "group": "ct_bone", "order": ["ct_fe_strength", "ct_fn_tscore", "ct_femur_hu", "ct_l1_hu"],
      "why": "FE strength, CTXA T-score, femoral HU and L1 HU all measure bone fragility and are strongly correlated; only the most direct available measure is used (strength > hip density > hip attenuation > spine attenuation), the others are shown as 'not used'" }
  ],
  "categories": {
    "highRisk10yPercent": 3,
    "highRisk10ySource": "10-year hip-fracture probability ≥ 3 %: the US treatment threshold (National Osteoporosis Foundation / BHOF Clinician's Guide, Cosman et al., Osteoporos Int 2014;25:2359) — recalled, to be verified; configurable",
    "lowStrengthNewton": 3000,
    "lowStrengthSource": "'low femoral strength' < 3000 N for women (Keaveny et al., JBMR 2010, age-dependence of femoral strength, Rochester cohort; the BCT 'fragile bone strength' cut-off)",
    "tScore": -2.5,
    "tScoreSource": "femoral-neck T-score ≤ −2.5: the WHO densitometric definition of osteoporosis (WHO 1994)"
  },
  "whatIf": [
    { "id": "vitamin_d_corrected", "label": "25(OH)D corrected to 75 nmol/L", "set": { "vitamin_d_25oh": 75 },
      "when": "vitamin_d_25oh", "whenBelow": 60,
      "source": "removes the low-vitamin-D term (effect only below ~60 nmol/L, Lv et al. 2017); supplementation trials do not all show fracture reduction" },
    { "id": "falls_prevented", "label": "No further falls (falls history and count set to none)", "set": { "falls_count_12m": 0, "falls_history": 0 },
      "when": "falls_history", "whenAbove": 0.5,
      "source": "scenario: the fall terms removed (QFracture falls term and the count term)" },
    { "id": "stop_smoking", "label": "Stops smoking (becomes an ex-smoker)", "set": { "smoking": 1 },
      "when": "smoking", "whenAbove": 1.5, "source": "QFracture-2012 ex-smoker coefficient" },
    { "id": "reduce_alcohol", "label": "Alcohol reduced to 1–2 units/day", "set": { "alcohol": 2 },
      "when": "alcohol", "whenAbove": 2.5, "source": "QFracture-2012 alcohol coefficients" },
    { "id": "glucocorticoid_reduced", "label": "Glucocorticoid dose reduced below 7.5 mg/day", "set": { "glucocorticoid_dose": 5 },
      "when": "glucocorticoid_dose", "whenAbove": 7.49, "source": "FRAX dose adjustment (Kanis et al. 2011)" },
    { "id": "osteoporosis_treatment", "label": "Osteoporosis drug treatment (bisphosphonate)", "hazardRatio": 0.6,
      "source": "hip fracture RR ≈ 0.6 with zoledronic acid (HORIZON, Black et al., NEJM 2007: RR 0.59) — recalled, to be verified; an average treatment effect, not a prediction for this patient" }
  ],
  "card": {
    "intendedUse": "Decision support for clinicians and fracture-liaison services: flags women aged 50 and over whose routine CT and record suggest a high 10-year hip-fracture risk, with the reasons, so they can be offered assessment (DXA, falls review, treatment). Not a diagnosis; not for men; not for women already on osteoporosis treatment.",
    "population": "Women aged 30–100 (the QFracture-2012 validated range); the CT terms come from studies of women and men mostly aged 65 and over.",
    "sources": [
      "Hippisley-Cox J, Coupland C. Derivation and validation of updated QFracture algorithm. BMJ 2012;344:e3427 (coefficients from ClinRisk's LGPL source Q74_qnof_2012_2_0.c)",
      "Johnell O et al. Predictive value of BMD for hip and other fractures. JBMR 2005",
      "Orwoll ES et al. Finite element analysis of the proximal femur and hip fracture risk in older men. JBMR 2009;24:475",
      "Eckstein F et al. Reproducibility and side differences of mechanical tests for determining the structural strength of the proximal femur. JBMR 2004",
      "Liu D et al. Ten-year fracture risk predicted by proximal femur Hounsfield units. Osteoporos Int 2020",
      "Marshall D, Johnell O, Wedel H. Meta-analysis of how well measures of BMD predict fractures. BMJ 1996;312:1254",
      "Leslie WD et al. Number of falls and fracture risk, Manitoba. Osteoporos Int",
      "Johansson H et al. Imminent risk of fracture after fracture. Osteoporos Int 2017;28:775",
      "Kanis JA et al. Guidance for the adjustment of FRAX according to the dose of glucocorticoids. Osteoporos Int 2011;22:809",
      "Serum 25(OH)D and hip fracture meta-analysis. Osteoporos Int 2017;28:1641; Lv et al. Oncotarget 2017",
      "Johansson H et al. Bone turnover markers and fracture. Calcif Tissue Int 2014",
      "Lang T et al. Computed tomographic measurements of thigh muscle cross-sectional area and attenuation coefficient predict hip fracture. JBMR 2010;25:513"
    ],
    "assumptions": [
      "The added terms multiply the QFracture hazard (proportional hazards) and are independent of the baseline's factors given the baseline; correlated CT bone measures are not added together (the ct_bone hierarchy).",
      "Effect sizes measured as odds or relative ratios are used as hazard ratios (rare outcome).",
      "CT bone and muscle measures are counted relative to women of the same age, because QFracture's age terms already carry the average age-related loss (except FE strength, centred on donors aged 79).",
      "The FE-strength gradient equals the femoral-neck BMD gradient; FE strength in newtons depends on the FE method: values from another method need their own centre and scale.",
      "Imminent fracture risk: the extra hazard applies only for the rest of the first two years after a fracture.",
      "Missing QFracture risk factors are absent; missing CT, serum and body-composition measures add nothing."
    ],
    "limitations": [
      "Not validated as a combined model: the terms come from different cohorts; calibration of the combination is unknown.",
      "QFracture's coefficients have no published standard errors here, so the interval reflects only the added terms and CT measurement error.",
      "Several reference values are recalled or assumed (marked A in the terms): CTX/P1NP centres and SDs, the vitamin-D SD, the NHANES III decade means, the treatment effect, the 3 % threshold source.",
      "QFracture predicts incidence without competing mortality (unlike FRAX probabilities).",
      "Bone-turnover markers lost their association with hip fracture after adjustment in WHI (Crandall 2018).",
      "Multiplying many literature effects on top of QFracture can give implausibly high probabilities for women with many risk factors (part of the BMD and falls effects is already carried by QFracture's factors); above about 30 % read the figure as 'very high', not as a calibrated probability."
    ],
    "validationStatus": "Not validated. The QFracture-2012 component reproduces the published equation (test vectors); the multimodal terms have not been evaluated on any cohort. Use `osteoct model validate` on local data before clinical use.",
    "disclaimer": "This implementation of the QFracture-2012 hip (women) equation is independent and not endorsed by ClinRisk Ltd; the original authors' disclaimer applies to the equation. QFracture is a registered trade mark of ClinRisk Ltd."
  }
}
"""#

    /// The default model, decoded and checked.
    public static func defaultModel() throws(RiskError) -> ModelDefinition {
        try load(Data(defaultJSON.utf8))
    }
}
