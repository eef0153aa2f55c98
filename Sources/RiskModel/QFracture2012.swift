import Foundation

// The QFracture-2012 hip (women) equation, implemented independently from the published
// coefficients (ClinRisk Q74_qnof_2012_2_0.c, LGPL, Hippisley-Cox & Coupland, BMJ 2012;344:e3427;
// figures in shared/reference/qfracture-2012-hip-women.md). Not endorsed by ClinRisk; the original
// authors' disclaimer applies to the equation. "QFracture" is ClinRisk's trade mark.

/// Inputs of the QFracture-2012 hip equation for women.
public struct QFractureInputs: Sendable, Equatable, Codable {
    /// Whole years, 30…100 (the published validated range).
    public var age: Int
    /// kg/m²; clamped into 20…40 as the original does. nil → imputed (ClinRisk BMI predictor).
    public var bmi: Double?
    /// 1 White or not stated, 2 Indian, 3 Pakistani, 4 Bangladeshi, 5 Other Asian, 6 Black Caribbean,
    /// 7 Black African, 8 Chinese, 9 Other.
    public var ethnicity: Int = 1
    /// 0 non, 1 ex, 2 light (< 10/day), 3 moderate (10–19/day), 4 heavy (≥ 20/day).
    public var smoking: Int = 0
    /// 0 none, 1 < 1 unit/day, 2 1–2, 3 3–6, 4 7–9, 5 > 9 units/day.
    public var alcohol: Int = 0
    public var antidepressant = false
    public var anyCancer = false
    public var asthmaCOPD = false
    public var corticosteroids = false
    public var cvd = false
    public var dementia = false
    public var endocrine = false
    public var epilepsy = false
    public var falls = false
    public var priorFracture = false
    public var hrtOestrogenOnly = false
    public var liver = false
    public var parkinsons = false
    public var raSLE = false
    public var renal = false
    public var type1Diabetes = false
    public var type2Diabetes = false
    /// Only for BMI imputation when BMI is missing.
    public var treatedHypertension = false

    public init(age: Int, bmi: Double? = nil) {
        self.age = age
        self.bmi = bmi
    }
}

public enum QFracture2012 {
    /// Validated ranges of the original (qfracture-2012-hip-women.md "Form").
    public static let ageRange = 30...100
    public static let bmiRange = 20.0...40.0
    public static let horizonRange = 1...18

    // Coefficients (qfracture-2012-hip-women.md). Full published precision.
    static let ageSquared = 0.2707690096878486700, ageSquaredCentre = 26.304763793945313
    static let ageCubed = -0.0178911237651764690, ageCubedCentre = 134.912322998046870
    static let bmiInverseSquared = 5.7829320185166670000, bmiInverseSquaredCentre = 0.148731395602226
    static let alcohol: [Double] = [
        0, -0.1286446642326926600, -0.0997737785682041020, 0.0542649888398008330, 0.4431543152512633600,
        0.6633035785016026000,
    ]
    static let smoking: [Double] = [
        0, 0.0794965480333605090, 0.2835141126936128200, 0.3121458383725539400, 0.4798404329218986000,
    ]
    static let ethnicity: [Double] = [
        0, 0, -0.5145680493118204300, -0.7809041138976792200, -0.5845922612624047100, -0.5418443926512139800,
        -1.3017049081958438000, -2.3170037513024733000, -1.0406259543469680000, -0.7087921758363630000,
    ]
    /// Boolean terms: (name, β). Order is the reference file's.
    // Immutable; key paths are not Sendable, hence the annotation.
    nonisolated(unsafe) static let booleans: [(String, Double, WritableKeyPath<QFractureInputs, Bool>)] = [
        ("antidepressant", 0.3327369489309151000, \.antidepressant),
        ("anycancer", 0.2685285338413267400, \.anyCancer),
        ("asthmacopd", 0.2109878042448810100, \.asthmaCOPD),
        ("corticosteroids", 0.1700600172324418800, \.corticosteroids),
        ("cvd", 0.2023318326470322500, \.cvd),
        ("dementia", 0.9427384234437306000, \.dementia),
        ("endocrine", 0.2873219609276543900, \.endocrine),
        ("epilepsy2", 0.4800826666037592000, \.epilepsy),
        ("falls", 0.4341031983222869400, \.falls),
        ("fracture4", 0.5498089896441453700, \.priorFracture),
        ("hrt_oest", -0.2717838245725980300, \.hrtOestrogenOnly),
        ("liver", 0.6449388096998517300, \.liver),
        ("parkinsons", 0.7086700991849171900, \.parkinsons),
        ("ra_sle", 0.5226829686337491900, \.raSLE),
        ("renal", 0.4121883090139577500, \.renal),
        ("type1", 1.5320881578751737000, \.type1Diabetes),
        ("type2", 0.4487045379402456700, \.type2Diabetes),
    ]
    /// Baseline survival S0(t), t = 1…18 years (female hip).
    public static let baselineSurvival: [Double] = [
        0.999910116195679, 0.999807536602020, 0.999693453311920, 0.999558806419373, 0.999401748180389,
        0.999216556549072, 0.999019324779511, 0.998785734176636, 0.998515725135803, 0.998187243938446,
        0.997814238071442, 0.997377276420593, 0.996870458126068, 0.996309578418732, 0.995707631111145,
        0.995065331459045, 0.994253218173981, 0.993366956710815,
    ]

    // ClinRisk BMI predictor, female (Z3_value_predictor_bmi_0.c; reference §"Missing BMI").
    static let bmiIntercept = 26.9197720894885530
    static let bmiEthnicity: [Double] = [0, 0, -0.9703, 0.8832, -0.6051, -1.3697, 1.4641, 2.2112, -3.6494, 0.3763]
    static let bmiAgeSquared = 0.1713808254697129800, bmiAgeSquaredCentre = 25.016422271728516
    static let bmiAgeCubed = -0.0197852889247459970, bmiAgeCubedCentre = 125.123191833496090
    static let bmiCVD = 0.4032865359038771, bmiHypertension = 2.0018830167096011
    static let bmiType2 = 3.1712226528496901, bmiCurrentSmoker = -0.4242604288233053

    /// BMI predicted from age, ethnicity, CVD, treated hypertension, type 2 diabetes and current smoking.
    public static func imputedBMI(_ x: QFractureInputs) -> Double {
        let dage = Double(x.age) / 10
        var b = bmiIntercept + bmiEthnicity[clampIndex(x.ethnicity, bmiEthnicity.count)]
        b += bmiAgeSquared * (dage * dage - bmiAgeSquaredCentre)
        b += bmiAgeCubed * (dage * dage * dage - bmiAgeCubedCentre)
        if x.cvd { b += bmiCVD }
        if x.treatedHypertension { b += bmiHypertension }
        if x.type2Diabetes { b += bmiType2 }
        if x.smoking >= 2 { b += bmiCurrentSmoker }  // light, moderate or heavy = current smoker
        return b
    }

    /// The BMI the equation uses: given (clamped into 20…40) or imputed.
    public static func effectiveBMI(_ x: QFractureInputs) -> Double {
        let b = x.bmi ?? imputedBMI(x)
        return min(bmiRange.upperBound, max(bmiRange.lowerBound, b))
    }

    /// The age, BMI, categorical and boolean parts of the linear predictor, by term name. Their sum
    /// is the linear predictor `a` (0 for the derivation cohort's average woman, ≈ 51.3 y, BMI 25.9).
    public static func terms(_ x: QFractureInputs) throws(RiskError) -> [(name: String, value: Double)] {
        try validate(x)
        let dage = Double(x.age) / 10
        let dbmi = effectiveBMI(x) / 10
        var out: [(String, Double)] = []
        out.append(("age", ageSquared * (dage * dage - ageSquaredCentre) + ageCubed * (dage * dage * dage - ageCubedCentre)))
        out.append(("bmi", bmiInverseSquared * (1 / (dbmi * dbmi) - bmiInverseSquaredCentre)))
        out.append(("ethnicity", ethnicity[x.ethnicity]))
        out.append(("smoking", smoking[x.smoking]))
        out.append(("alcohol", alcohol[x.alcohol]))
        for (name, beta, key) in booleans { out.append((name, x[keyPath: key] ? beta : 0)) }
        return out
    }

    /// Linear predictor a.
    public static func linearPredictor(_ x: QFractureInputs) throws(RiskError) -> Double {
        try terms(x).reduce(0) { $0 + $1.value }
    }

    /// Risk (%) of hip fracture within `years` (1…18): 100·(1 − S0(t)^exp(a)).
    public static func risk(_ x: QFractureInputs, years: Int) throws(RiskError) -> Double {
        guard horizonRange.contains(years) else {
            throw .outOfRange(feature: "horizon", value: "\(years)", valid: "1…18 years")
        }
        let a = try linearPredictor(x)
        return 100 * (1 - pow(baselineSurvival[years - 1], exp(a)))
    }

    static func validate(_ x: QFractureInputs) throws(RiskError) {
        guard ageRange.contains(x.age) else {
            throw .outsidePopulation("age \(x.age): the QFracture-2012 hip equation is validated for women aged 30–100")
        }
        guard (1...9).contains(x.ethnicity) else {
            throw .outOfRange(feature: "ethnicity", value: "\(x.ethnicity)", valid: "1…9 (1 White or not stated, 2 Indian, 3 Pakistani, 4 Bangladeshi, 5 Other Asian, 6 Black Caribbean, 7 Black African, 8 Chinese, 9 Other)")
        }
        guard (0...4).contains(x.smoking) else {
            throw .outOfRange(feature: "smoking", value: "\(x.smoking)", valid: "0…4 (non, ex, light, moderate, heavy)")
        }
        guard (0...5).contains(x.alcohol) else {
            throw .outOfRange(feature: "alcohol", value: "\(x.alcohol)", valid: "0…5 (none, <1, 1–2, 3–6, 7–9, >9 units/day)")
        }
        if let b = x.bmi, !(b.isFinite && b > 0) {
            throw .outOfRange(feature: "bmi", value: "\(b)", valid: "a positive number of kg/m² (values outside 20–40 are clamped, as in the original)")
        }
    }

    static func clampIndex(_ i: Int, _ count: Int) -> Int { max(0, min(count - 1, i)) }
}
