// The features the risk model reads: what each is, its unit and range, where it comes from, how a
// missing value is handled and why, whether a patient can change it, and where its effect size
// comes from. One table, so documentation, validation and explanations agree.

/// Where a feature comes from, for grouping explanations.
public enum Modality: String, Codable, Sendable, CaseIterable {
    case clinical, comorbidity, medication, falls, serum, ct
    /// Not a patient feature: a recalibration shift, or a fitted model's raw covariate.
    case other
}

/// The kind of value a feature holds.
public enum FeatureKind: String, Codable, Sendable {
    /// true/false (also 0/1).
    case boolean
    /// A numbered category (codes in `categories`).
    case category
    /// A number in `unit` (other accepted units are converted).
    case number
}

/// A unit a feature may be given in, and how to convert it to the canonical unit:
/// canonical = value × factor + offset.
public struct UnitConversion: Codable, Sendable, Equatable {
    public var unit: String
    public var factor: Double
    public var offset: Double
    public init(_ unit: String, factor: Double = 1, offset: Double = 0) {
        self.unit = unit
        self.factor = factor
        self.offset = offset
    }
}

public struct FeatureDefinition: Codable, Sendable, Equatable {
    public var id: String
    public var description: String
    public var kind: FeatureKind
    public var modality: Modality
    /// Canonical unit (numbers), e.g. "kg/m2", "nmol/L", "N", "HU".
    public var unit: String?
    /// Other units accepted, with their conversion.
    public var alternativeUnits: [UnitConversion]
    /// Valid range in the canonical unit (numbers) or of the codes (categories).
    public var minimum: Double?
    public var maximum: Double?
    /// Category codes and their meaning.
    public var categories: [String: String]?
    /// What happens when the value is absent, and why.
    public var missing: String
    /// Whether the patient or treatment can change it (what-if candidates).
    public var modifiable: Bool
    /// Where the effect size comes from.
    public var effectSource: String
    /// Value a woman "without risk factors" of the same age has (Shapley and relative-risk reference);
    /// nil for age-relative CT and serum measures, whose reference is their age-expected value.
    public var reference: Double?
}

extension FeatureDefinition {
    static func boolean(
        _ id: String, _ description: String, _ modality: Modality, modifiable: Bool = false,
        source: String, missing: String = "treated as absent, as QFracture and FRAX treat unanswered risk factors (risk-model.md §4.4); listed as missing"
    ) -> FeatureDefinition {
        FeatureDefinition(
            id: id, description: description, kind: .boolean, modality: modality, unit: nil, alternativeUnits: [],
            minimum: 0, maximum: 1, categories: nil, missing: missing, modifiable: modifiable, effectSource: source,
            reference: 0)
    }

    static func number(
        _ id: String, _ description: String, _ modality: Modality, unit: String, alternatives: [UnitConversion] = [],
        range: ClosedRange<Double>, missing: String, modifiable: Bool = false, source: String, reference: Double? = nil
    ) -> FeatureDefinition {
        FeatureDefinition(
            id: id, description: description, kind: .number, modality: modality, unit: unit,
            alternativeUnits: alternatives, minimum: range.lowerBound, maximum: range.upperBound, categories: nil,
            missing: missing, modifiable: modifiable, effectSource: source, reference: reference)
    }
}

public enum FeatureSchema {
    static let qf = "QFracture-2012 hip (women), Hippisley-Cox & Coupland BMJ 2012;344:e3427 (coefficient in qfracture-2012-hip-women.md)"
    static let ctMissing = "CT measure not available: its term is not applied (contribution 0) and it is listed as missing; the next measure of the CT-bone hierarchy is used if present"

    /// Every feature, in display order.
    public static let all: [FeatureDefinition] = [
        // Clinical
        .number("age", "Age (the model applies to 30–100; other ages get an \"outside the population\" result)", .clinical, unit: "years", range: 0...125,
                missing: "required: the model cannot be applied without age", source: qf + "; fractional-polynomial age terms"),
        FeatureDefinition(
            id: "sex", description: "Sex (the model is for women)", kind: .category, modality: .clinical, unit: nil,
            alternativeUnits: [], minimum: 1, maximum: 2, categories: ["1": "female", "2": "male"],
            missing: "assumed female (the intended population); men are refused", modifiable: false,
            effectSource: "QFracture-2012 female equation only", reference: 1),
        .number("bmi", "Body-mass index", .clinical, unit: "kg/m2", range: 10...70,
                missing: "imputed from age, ethnicity, CVD, treated hypertension, type 2 diabetes and smoking (ClinRisk BMI predictor, as QFracture does), or computed from height and weight when given; clamped into 20–40 like the original",
                source: qf + "; (BMI/10)^−2 term", reference: 25),
        .number("height", "Height (only to compute BMI)", .clinical, unit: "cm",
                alternatives: [UnitConversion("m", factor: 100), UnitConversion("in", factor: 2.54)], range: 100...230,
                missing: "BMI imputed if weight or height is missing", source: "used only through BMI"),
        .number("weight", "Weight (only to compute BMI)", .clinical, unit: "kg",
                alternatives: [UnitConversion("lb", factor: 0.45359237), UnitConversion("g", factor: 0.001)], range: 20...300,
                missing: "BMI imputed if weight or height is missing", modifiable: true, source: "used only through BMI"),
        FeatureDefinition(
            id: "ethnicity", description: "Ethnic group (QFracture codes)", kind: .category, modality: .clinical, unit: nil,
            alternativeUnits: [], minimum: 1, maximum: 9,
            categories: ["1": "White or not stated", "2": "Indian", "3": "Pakistani", "4": "Bangladeshi", "5": "Other Asian",
                         "6": "Black Caribbean", "7": "Black African", "8": "Chinese", "9": "Other"],
            missing: "code 1 'White or not stated', as QFracture defines it", modifiable: false, effectSource: qf, reference: 1),
        FeatureDefinition(
            id: "smoking", description: "Smoking status", kind: .category, modality: .clinical, unit: nil, alternativeUnits: [],
            minimum: 0, maximum: 4,
            categories: ["0": "non-smoker", "1": "ex-smoker", "2": "light (< 10/day)", "3": "moderate (10–19/day)", "4": "heavy (≥ 20/day)"],
            missing: "non-smoker (reference), listed as missing", modifiable: true, effectSource: qf, reference: 0),
        FeatureDefinition(
            id: "alcohol", description: "Alcohol intake", kind: .category, modality: .clinical, unit: nil, alternativeUnits: [],
            minimum: 0, maximum: 5,
            categories: ["0": "none", "1": "< 1 unit/day", "2": "1–2 units/day", "3": "3–6 units/day", "4": "7–9 units/day", "5": "> 9 units/day"],
            missing: "none (reference), listed as missing", modifiable: true, effectSource: qf, reference: 0),
        // Comorbidities (QFracture booleans)
        .boolean("any_cancer", "Any cancer", .comorbidity, source: qf),
        .boolean("asthma_copd", "Asthma or COPD", .comorbidity, source: qf),
        .boolean("cvd", "Cardiovascular disease", .comorbidity, source: qf),
        .boolean("dementia", "Dementia", .comorbidity, source: qf),
        .boolean("endocrine", "Thyrotoxicosis, hyperparathyroidism or Cushing's syndrome", .comorbidity, source: qf),
        .boolean("epilepsy", "Epilepsy or anticonvulsant use", .comorbidity, source: qf),
        .boolean("liver", "Chronic liver disease", .comorbidity, source: qf),
        .boolean("parkinsons", "Parkinson's disease", .comorbidity, source: qf),
        .boolean("ra_sle", "Rheumatoid arthritis or SLE", .comorbidity, source: qf),
        .boolean("renal", "Chronic kidney disease", .comorbidity, source: qf),
        .boolean("type1_diabetes", "Type 1 diabetes", .comorbidity, source: qf),
        .boolean("type2_diabetes", "Type 2 diabetes", .comorbidity, source: qf),
        .boolean("treated_hypertension", "Treated hypertension (only for BMI imputation)", .comorbidity,
                 source: "ClinRisk BMI predictor; no term in the hip equation"),
        // Medication
        .boolean("antidepressant", "Antidepressants (≥ 2 prescriptions)", .medication, modifiable: true, source: qf),
        .boolean("corticosteroids", "Systemic corticosteroids (≥ 2 prescriptions)", .medication, modifiable: true, source: qf),
        .number("glucocorticoid_dose", "Glucocorticoid dose, prednisolone-equivalent", .medication, unit: "mg/day", range: 0...200,
                missing: "no dose adjustment: the QFracture corticosteroid term alone (a medium dose, as FRAX assumes)",
                modifiable: true, source: "FRAX dose adjustment for hip fracture: low < 2.5 mg/day −35 %, high ≥ 7.5 mg/day +20 % (Kanis et al., Osteoporos Int 2011;22:809; risk-model.md §2.2)"),
        .boolean("hrt_oestrogen_only", "Oestrogen-only HRT", .medication, modifiable: true, source: qf),
        // Falls and fractures
        .boolean("falls_history", "History of falls", .falls, source: qf),
        .number("falls_count_12m", "Falls in the past 12 months (3 means 3 or more)", .falls, unit: "falls", range: 0...100,
                missing: "only the yes/no falls history of the baseline is used", modifiable: true,
                source: "Leslie et al., Osteoporos Int (Manitoba, ~25,000 people): fracture RR 1.49 / 1.74 / 2.6 for 1 / 2 / ≥ 3 falls in the past year, independent of age, BMI and FRAX", reference: 0),
        .boolean("prior_fracture", "Prior wrist, spine, hip or shoulder fracture", .falls, source: qf),
        .number("prior_fracture_years_ago", "Years since the most recent fragility fracture", .falls, unit: "years", range: 0...80,
                missing: "no imminent-risk adjustment: the QFracture prior-fracture term alone",
                source: "Johansson et al., Osteoporos Int 2017;28:775: after a major fracture, 2.7× population risk in year 1 and 1.4× at 10 years; Kanis et al., Bone 2004: prior fracture RR 1.86 averaged over time"),
        // Serum markers
        .number("vitamin_d_25oh", "Serum 25-hydroxyvitamin D", .serum, unit: "nmol/L",
                alternatives: [UnitConversion("ng/mL", factor: 2.496), UnitConversion("ug/L", factor: 2.496)], range: 2...500,
                missing: "term not applied (contribution 0), listed as missing", modifiable: true,
                source: "Osteoporos Int 2017;28:1641 (16 cohorts): hip RR 1.40 per SD decrease; Lv et al., Oncotarget 2017: effect only below ~60 nmol/L"),
        .number("ctx", "Serum C-terminal telopeptide of type I collagen (β-CTX)", .serum, unit: "ng/mL",
                alternatives: [UnitConversion("pg/mL", factor: 0.001), UnitConversion("ug/L", factor: 1)], range: 0.01...10,
                missing: "term not applied (contribution 0), listed as missing", modifiable: true,
                source: "Johansson et al., Calcif Tissue Int 2014: hip GR 1.23 per SD (unadjusted for BMD)"),
        .number("p1np", "Serum procollagen type I N-terminal propeptide", .serum, unit: "ng/mL",
                alternatives: [UnitConversion("ug/L", factor: 1)], range: 1...2000,
                missing: "term not applied (contribution 0), listed as missing", modifiable: true,
                source: "Johansson et al., Calcif Tissue Int 2014: GR 1.23 per SD for any fracture (no hip-specific figure)"),
        // CT
        .number("fe_strength_sideways_fall", "Femoral strength in a sideways fall (finite elements)", .ct, unit: "N",
                alternatives: [UnitConversion("kN", factor: 1000)], range: 200...20_000, missing: ctMissing,
                source: "gradient of FN BMD (Johnell 2005) assumed; FE strength is at least as predictive (Orwoll et al., JBMR 2009;24:475, men: HR/SD 6.5 adjusted); scale from side-impact failure loads 3951 ± 1659 N of femora from donors aged 79 (Eckstein et al., JBMR 2004)"),
        .number("ctxa_fn_tscore", "CTXA femoral-neck T-score (NHANES III white women 20–29)", .ct, unit: "SD",
                range: -8...6, missing: ctMissing,
                source: "Johnell et al., JBMR 2005: hip fracture RR 2.88 (2.31–3.59) per SD lower FN BMD in women at 65"),
        .number("femur_trabecular_hu", "Proximal-femur trabecular attenuation", .ct, unit: "HU", range: -300...1000,
                missing: ctMissing, source: "Liu et al., Osteoporos Int 2020 (CT colonography): ≤ 112 HU, OR 2.5 (1.7–) for fracture"),
        .number("l1_hu", "L1 vertebral trabecular attenuation", .ct, unit: "HU", range: -300...1000, missing: ctMissing,
                source: "Marshall et al., BMJ 1996: hip fracture RR ≈ 1.5 per SD for BMD at sites other than the hip; age-expected L1 HU 226 − 2.5/year after 25, SD ≈ 42 (Jang 2019; Hendrickson 2018)"),
        .number("muscle_attenuation", "Skeletal-muscle attenuation (L3 or thigh)", .ct, unit: "HU", range: -100...150,
                missing: "term not applied (contribution 0), listed as missing", modifiable: true,
                source: "Lang et al., JBMR 2010;25:513 (Health ABC): hip fracture RR 1.58 per SD lower thigh-muscle attenuation, independent of BMD; age-expected L3 muscle HU in women from Framingham (PMC10920396)"),
        .number("muscle_area", "Skeletal-muscle area at L3", .ct, unit: "cm2", range: 10...400,
                missing: "no effect either way (see source)", modifiable: true,
                source: "Lang et al., JBMR 2010: muscle cross-sectional area was not independently associated with hip fracture → coefficient 0"),
        .number("visceral_fat_area", "Visceral fat area at L3", .ct, unit: "cm2", range: 0...800,
                missing: "no effect either way (see source)",
                source: "no reliable pooled hip-fracture estimate found (risk-model.md §3) → coefficient 0"),
    ]

    public static func definition(_ id: String) -> FeatureDefinition? { byID[id] }

    /// A feature's name for people: its description without the parenthesised notes (the id when unknown).
    public static func name(_ id: String) -> String {
        guard let d = byID[id]?.description else { return id }
        var i = d.startIndex
        while i < d.endIndex {
            let next = d.index(after: i)
            if d[i] == " ", next < d.endIndex, d[next] == "(" { return String(d[..<i]) }
            i = next
        }
        return d
    }

    static let byID: [String: FeatureDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })
}
