// EHR record → risk-model features. Reads Patient, Observation, Condition, MedicationStatement,
// MedicationRequest and FamilyMemberHistory resources, matches them against the code table
// (CodeTable.swift), converts units, and keeps for every feature where it came from and when.
// Stale values are flagged; several values for one feature are resolved by recency.
public import FHIR
public import RiskModel

/// How the mapping treats time.
public struct EHRMappingOptions: Sendable {
    /// The day the risk is assessed for (the CT study date, or today).
    public var asOf: FHIRDay
    /// Values older than this many days are flagged stale, by feature id; `defaultStaleDays` for others.
    public var staleDays: [String: Int]
    public var defaultStaleDays: Int
    /// Stale values are still used (and flagged) unless this is false.
    public var useStaleValues: Bool
    /// A medication counts as current when a prescription or statement lies within this many days.
    public var currentMedicationDays: Int

    public init(asOf: FHIRDay, staleDays: [String: Int] = EHRMappingOptions.recommendedStaleDays, defaultStaleDays: Int = 730, useStaleValues: Bool = true, currentMedicationDays: Int = 183) {
        self.asOf = asOf
        self.staleDays = staleDays
        self.defaultStaleDays = defaultStaleDays
        self.useStaleValues = useStaleValues
        self.currentMedicationDays = currentMedicationDays
    }

    /// Windows by feature: serum markers change within a year; falls are counted over 12 months by
    /// definition; weight and habits drift over a few years.
    public static let recommendedStaleDays: [String: Int] = [
        "weight": 730, "height": 3650, "bmi": 730, "smoking": 1095, "alcohol": 1095,
        "vitamin_d_25oh": 365, "ctx": 365, "p1np": 365, "falls_count_12m": 365, "glucocorticoid_dose": 183,
    ]
}

/// Where one feature value came from.
public struct FeatureEvidence: Sendable, Equatable, Codable {
    public struct Alternative: Sendable, Equatable, Codable {
        public var value: Double
        public var source: String
        public var date: String?
    }
    public var feature: String
    /// Canonical value (the risk model's unit).
    public var value: Double
    /// What the record said, e.g. "25 ng/mL (LOINC 1989-3)".
    public var recorded: String
    /// `Type/id` (or the entry's fullUrl) of the resource it came from; several for derived values.
    public var sources: [String]
    /// Date of the value (effective, onset, recorded or authored), as written.
    public var date: String?
    public var ageDays: Int?
    public var stale: Bool
    /// Values for the same feature that lost to this one (older, or same date but later in the record).
    public var superseded: [Alternative]
    public var note: String?
}

/// A value seen in the record but not a model feature (calcium, HbA1c, eGFR…), kept for the report.
public struct SupportingValue: Sendable, Equatable, Codable {
    public var id: String
    public var label: String
    public var value: Double
    public var unit: String
    public var source: String
    public var date: String?
    public var stale: Bool
}

/// The features of one patient from the EHR, with provenance.
public struct EHRFeatures: Sendable {
    public var features: PatientFeatures
    public var evidence: [FeatureEvidence]
    public var supporting: [SupportingValue]
    /// What could not be used and why (unknown units, unparseable dates, refuted conditions…).
    public var notes: [String]
    /// The Patient's reference (`Patient/id`) and business identifiers.
    public var patientReference: String?
    public var patient: Patient?
    /// Every resource the features were read from (for Provenance.entity).
    public var usedSources: [String] { Array(Set(evidence.flatMap(\.sources) + supporting.map(\.source))).sorted() }
}

/// One candidate value for a feature before conflicts are resolved.
struct Candidate {
    var feature: String
    var value: Double
    var recorded: String
    var sources: [String]
    var dateText: String?
    var day: FHIRDay?
    /// Position in the record, to make same-day ties deterministic (later wins).
    var order: Int
    var note: String?
}

public enum EHRMapper {
    /// Maps the resources of a Bundle (searchset, collection, transaction…) to features.
    public static func map(bundle: Bundle, options: EHRMappingOptions) -> EHRFeatures {
        var resources: [(AnyResource, String)] = []
        for (k, entry) in bundle.entry.enumerated() {
            guard let r = entry.resource else { continue }
            let ref = r.id.map { "\(r.resourceType)/\($0)" } ?? entry.fullUrl?.value?.value ?? "\(r.resourceType)#entry\(k)"
            resources.append((r, ref))
        }
        return map(resources: resources, options: options)
    }

    /// Maps resources with their references (`Type/id`).
    public static func map(resources: [(AnyResource, String)], options: EHRMappingOptions) -> EHRFeatures {
        var m = Mapping(options: options)
        // Medications referenced by MedicationRequest/Statement (Medication is kept as an element tree).
        for (r, ref) in resources {
            if case .unknown(let e) = r, e.name == "Medication" {
                m.medications[ref] = e
                if let id = e.text("id") { m.medications["#" + id] = e }
            }
        }
        for (order, (r, ref)) in resources.enumerated() {
            switch r {
            case .patient(let p): m.patient(p, ref)
            case .observation(let o): m.observation(o, ref, order)
            case .condition(let c): m.condition(c, ref, order)
            case .medicationStatement(let s): m.medicationStatement(s, ref, order)
            case .medicationRequest(let q): m.medicationRequest(q, ref, order)
            case .familyMemberHistory(let f): m.familyHistory(f, ref)
            default: break
            }
        }
        return m.finish()
    }
}

struct Mapping {
    let options: EHRMappingOptions
    var candidates: [Candidate] = []
    var supporting: [SupportingValue] = []
    var notes: [String] = []
    var patientRef: String?
    var patientResource: Patient?
    var medications: [String: FHIRElement] = [:]
    var conditionsSeen = 0
    var medicationsSeen = 0
    /// Prescriptions (requests) per medication feature within the current window.
    var prescriptions: [String: [(Candidate)]] = [:]
    var glucocorticoidDoses: [Candidate] = []

    init(options: EHRMappingOptions) { self.options = options }

    // MARK: Patient

    mutating func patient(_ p: Patient, _ ref: String) {
        if patientRef != nil {
            notes.append("more than one Patient in the record; used the first (\(patientRef!)), ignored \(ref)")
            return
        }
        patientRef = ref
        patientResource = p
        if let birth = p.birthDate?.value, let day = FHIRDay(birth.lexical) {
            let age = day.years(until: options.asOf)
            let note = day.precision == .day ? nil : "birth date \(birth.lexical) has only \(day.precision) precision; mid-period assumed"
            candidates.append(Candidate(feature: "age", value: age, recorded: "born \(birth.lexical), assessed \(options.asOf)", sources: [ref], dateText: birth.lexical, day: nil, order: 0, note: note))
        } else {
            notes.append("\(ref) has no usable birthDate: age is required by the model")
        }
        switch p.gender?.value {
        case .female?: candidates.append(Candidate(feature: "sex", value: 1, recorded: "gender female", sources: [ref], order: 0))
        case .male?: candidates.append(Candidate(feature: "sex", value: 2, recorded: "gender male", sources: [ref], order: 0))
        case let g?: notes.append("\(ref) gender '\(g.rawValue)': the model is for women; sex left unset (assumed female, see the model card)")
        case nil: break
        }
        if let (code, recorded) = Ethnicity.qfractureGroup(p.extension) {
            candidates.append(Candidate(feature: "ethnicity", value: Double(code), recorded: recorded, sources: [ref], order: 0))
        }
    }

    // MARK: Observation

    mutating func observation(_ o: Observation, _ ref: String, _ order: Int) {
        switch o.status.value {
        case .enteredInError?, .cancelled?:
            notes.append("\(ref) ignored: status \(o.status.value!.rawValue)")
            return
        default: break
        }
        let (dateText, day) = Self.date(of: o)
        let codes = o.code.coding.compactMap { c -> CodeKey? in
            guard let s = c.system?.value?.value, let k = c.code?.value?.value else { return nil }
            return CodeKey(system: s, code: k)
        }
        for rule in CodeTable.observations where codes.contains(where: { rule.matches($0) }) {
            let loinc = codes.first { rule.matches($0) }!
            switch rule.kind {
            case .quantity(let unitFactors), .supporting(_, let unitFactors):
                guard case .quantity(let q)? = o.value, let v = q.value?.value?.value, v.isFinite else {
                    notes.append("\(ref) (\(rule.label)) has no numeric valueQuantity; ignored")
                    continue
                }
                let unit = q.code?.value?.value ?? q.unit?.value?.value ?? ""
                guard let f = unitFactors.first(where: { $0.unit == unit }) else {
                    notes.append("\(ref) (\(rule.label)) unit '\(unit)' is not one of \(unitFactors.map(\.unit).joined(separator: ", ")); ignored")
                    continue
                }
                let canonical = v * f.factor + f.offset
                let recorded = "\(q.value?.value?.lexical ?? "") \(unit) (\(loinc.system == CodeSystems.loinc ? "LOINC" : loinc.system) \(loinc.code))"
                if case .supporting(let id, _) = rule.kind {
                    supporting.append(SupportingValue(id: id, label: rule.label, value: canonical, unit: unitFactors[0].unit, source: ref, date: dateText, stale: isStale(id, day)))
                    if let derived = rule.derive?(canonical) {
                        candidates.append(Candidate(feature: derived.feature, value: derived.value, recorded: recorded, sources: [ref], dateText: dateText, day: day, order: order, note: derived.note))
                    }
                } else {
                    candidates.append(Candidate(feature: rule.feature, value: canonical, recorded: recorded, sources: [ref], dateText: dateText, day: day, order: order))
                }
            case .smokingStatus:
                guard case .codeableConcept(let cc)? = o.value else { continue }
                if let (category, label) = CodeTable.smokingCategory(cc) {
                    candidates.append(Candidate(feature: "smoking", value: Double(category), recorded: label, sources: [ref], dateText: dateText, day: day, order: order))
                } else {
                    notes.append("\(ref) smoking status \(Self.describe(cc)) not in the code table; ignored")
                }
            case .cigarettesPerDay:
                guard let n = Self.number(o.value) else { continue }
                let category = n <= 0 ? 0 : (n < 10 ? 2 : (n < 20 ? 3 : 4))
                candidates.append(Candidate(feature: "smoking", value: Double(category), recorded: "\(formatNumber(n)) cigarettes/day", sources: [ref], dateText: dateText, day: day, order: order + 1_000_000))
            case .alcoholUnitsPerDay(let unitsPerRecorded):
                guard let n = Self.number(o.value) else { continue }
                let unitsPerDay = n * unitsPerRecorded
                candidates.append(Candidate(feature: "alcohol", value: Double(CodeTable.alcoholCategory(unitsPerDay: unitsPerDay)), recorded: "\(formatNumber(n)) (\(formatNumber(unitsPerDay)) UK units/day)", sources: [ref], dateText: dateText, day: day, order: order))
            case .fallsCount:
                guard let n = Self.number(o.value) else { continue }
                candidates.append(Candidate(feature: "falls_count_12m", value: min(n, 100), recorded: "\(formatNumber(n)) falls in 12 months", sources: [ref], dateText: dateText, day: day, order: order))
                if n >= 1 {
                    candidates.append(Candidate(feature: "falls_history", value: 1, recorded: "\(formatNumber(n)) falls in 12 months", sources: [ref], dateText: dateText, day: day, order: order))
                }
            case .finding:
                // Coded findings recorded as Observations (history of falls, fracture history).
                candidates.append(Candidate(feature: rule.feature, value: 1, recorded: Self.describe(o.code), sources: [ref], dateText: dateText, day: day, order: order))
            }
        }
        // A fall or fracture finding coded in Observation.code (SNOMED findings are used both ways).
        for rule in CodeTable.conditions where codes.contains(where: { rule.matches($0) }) {
            conditionLike(rule, codes: codes, ref: ref, dateText: dateText, day: day, order: order, display: Self.describe(o.code))
        }
    }

    static func number(_ v: Observation.Value?) -> Double? {
        switch v {
        case .quantity(let q)?: return q.value?.value?.value
        case .integer(let i)?: return i.value.map { Double($0.value) }
        default: return nil
        }
    }

    static func date(of o: Observation) -> (String?, FHIRDay?) {
        var text: String?
        switch o.effective {
        case .dateTime(let d)?: text = d.value?.lexical
        case .instant(let d)?: text = d.value?.lexical
        case .period(let p)?: text = p.end?.value?.lexical ?? p.start?.value?.lexical
        default: text = nil
        }
        if text == nil { text = o.issued?.value?.lexical }
        return (text, text.flatMap(FHIRDay.init))
    }

    // MARK: Condition

    mutating func condition(_ c: Condition, _ ref: String, _ order: Int) {
        conditionsSeen += 1
        let verification = c.verificationStatus?.coding.compactMap { $0.code?.value?.value } ?? []
        if verification.contains("refuted") || verification.contains("entered-in-error") {
            notes.append("\(ref) ignored: verification status \(verification.joined(separator: ","))")
            return
        }
        guard let code = c.code else { return }
        let codes = code.coding.compactMap { k -> CodeKey? in
            guard let s = k.system?.value?.value, let v = k.code?.value?.value else { return nil }
            return CodeKey(system: s, code: v)
        }
        var dateText: String?
        switch c.onset {
        case .dateTime(let d)?: dateText = d.value?.lexical
        case .period(let p)?: dateText = p.start?.value?.lexical
        default: break
        }
        if dateText == nil { dateText = c.recordedDate?.value?.lexical }
        let day = dateText.flatMap(FHIRDay.init)
        let matched = CodeTable.conditions.filter { rule in codes.contains { rule.matches($0) } }
        for rule in matched {
            conditionLike(rule, codes: codes, ref: ref, dateText: dateText, day: day, order: order, display: Self.describe(code))
        }
    }

    mutating func conditionLike(_ rule: CodeTable.ConditionRule, codes: [CodeKey], ref: String, dateText: String?, day: FHIRDay?, order: Int, display: String) {
        candidates.append(Candidate(feature: rule.feature, value: 1, recorded: "\(display) (\(rule.label))", sources: [ref], dateText: dateText, day: day, order: order))
        if rule.feature == "prior_fracture" {
            if let day {
                let years = max(0, day.years(until: options.asOf))
                candidates.append(Candidate(feature: "prior_fracture_years_ago", value: years, recorded: "\(display) on \(dateText ?? "")", sources: [ref], dateText: dateText, day: day, order: order))
            } else {
                notes.append("\(ref) fracture has no onset or recorded date: years since fracture unknown")
            }
        }
    }

    // MARK: Medication

    mutating func medicationStatement(_ s: MedicationStatement, _ ref: String, _ order: Int) {
        medicationsSeen += 1
        switch s.status.value {
        case .active?, .completed?, .intended?, .onHold?: break
        default:
            notes.append("\(ref) ignored: status \(s.status.value?.rawValue ?? "?")")
            return
        }
        var dateText: String?
        switch s.effective {
        case .dateTime(let d)?: dateText = d.value?.lexical
        case .period(let p)?: dateText = p.end?.value?.lexical ?? (s.status.value == .active ? options.asOf.description : p.start?.value?.lexical)
        default: dateText = s.dateAsserted?.value?.lexical
        }
        // An active statement describes current use.
        if s.status.value == .active { dateText = dateText.map { max($0, options.asOf.description) } ?? options.asOf.description }
        let concept = medicationConcept(s.medication)
        medication(concept, ref: ref, dateText: dateText, dosage: s.dosage, order: order, isStatement: true)
    }

    mutating func medicationRequest(_ q: MedicationRequest, _ ref: String, _ order: Int) {
        medicationsSeen += 1
        switch q.status.value {
        case .active?, .completed?, .onHold?: break
        default:
            notes.append("\(ref) ignored: status \(q.status.value?.rawValue ?? "?")")
            return
        }
        if q.doNotPerform?.value?.value == true { return }
        let concept = medicationConcept(q.medication)
        medication(concept, ref: ref, dateText: q.authoredOn?.value?.lexical, dosage: q.dosageInstruction, order: order, isStatement: false)
    }

    /// Codes and text of the medication, following a reference to a Medication resource.
    func medicationConcept(_ m: MedicationRequest.Medication) -> (codes: [CodeKey], text: String) {
        switch m {
        case .codeableConcept(let cc): return concept(cc)
        case .reference(let r): return referenced(r)
        }
    }

    func medicationConcept(_ m: MedicationStatement.Medication) -> (codes: [CodeKey], text: String) {
        switch m {
        case .codeableConcept(let cc): return concept(cc)
        case .reference(let r): return referenced(r)
        }
    }

    func concept(_ cc: CodeableConcept) -> (codes: [CodeKey], text: String) {
        var codes: [CodeKey] = []
        var text = ""
        for c in cc.coding {
            if let s = c.system?.value?.value, let k = c.code?.value?.value { codes.append(CodeKey(system: s, code: k)) }
            text += " " + (c.display?.value?.value ?? "")
        }
        text += " " + (cc.text?.value?.value ?? "")
        return (codes, text.lowercased())
    }

    func referenced(_ r: Reference) -> (codes: [CodeKey], text: String) {
        var codes: [CodeKey] = []
        var text = ""
        addReferenced(r, &codes, &text)
        return (codes, text.lowercased())
    }

    func addReferenced(_ r: Reference, _ codes: inout [CodeKey], _ text: inout String) {
        guard let ref = r.reference?.value?.value, let med = medications[ref] ?? medications[ref.split(separator: "/").suffix(2).joined(separator: "/")] else {
            text += " " + (r.display?.value?.value ?? "")
            return
        }
        for c in med.first("code")?.all("coding") ?? [] {
            if let s = c.text("system"), let k = c.text("code") { codes.append(CodeKey(system: s, code: k)) }
            text += " " + (c.text("display") ?? "")
        }
        text += " " + (med.first("code")?.text("text") ?? "")
    }

    mutating func medication(_ concept: (codes: [CodeKey], text: String), ref: String, dateText: String?, dosage: [Dosage], order: Int, isStatement: Bool) {
        let day = dateText.flatMap(FHIRDay.init)
        let recent = day.map { $0.days(until: options.asOf) <= options.currentMedicationDays && $0.days(until: options.asOf) >= -1 } ?? false
        for rule in CodeTable.medications where rule.matches(concept.codes, text: concept.text) {
            guard recent else {
                notes.append("\(ref) (\(rule.label)) dated \(dateText ?? "unknown") is not current (window \(options.currentMedicationDays) days); not counted")
                continue
            }
            // QFracture counts ≥ 2 prescriptions; an active statement stands for ongoing use.
            let c = Candidate(feature: rule.feature, value: 1, recorded: "\(rule.label): \(concept.text.trimmed.prefix(60))", sources: [ref], dateText: dateText, day: day, order: order)
            prescriptions[rule.feature + (isStatement ? "#statement" : ""), default: []].append(c)
            if rule.feature == "corticosteroids", let factor = rule.prednisoloneFactor(concept.codes, concept.text),
                let mgPerDay = Self.dailyDoseMg(dosage) {
                glucocorticoidDoses.append(Candidate(feature: "glucocorticoid_dose", value: mgPerDay * factor, recorded: "\(formatNumber(mgPerDay)) mg/day × \(formatNumber(factor)) prednisolone-equivalent", sources: [ref], dateText: dateText, day: day, order: order))
            }
        }
    }

    /// mg per day from the first dosage with a mg dose and a frequency per period.
    static func dailyDoseMg(_ dosage: [Dosage]) -> Double? {
        for d in dosage {
            for dr in d.doseAndRate {
                guard case .quantity(let q)? = dr.dose, let v = q.value?.value?.value else { continue }
                let unit = q.code?.value?.value ?? q.unit?.value?.value ?? ""
                let mg: Double
                switch unit {
                case "mg": mg = v
                case "g": mg = v * 1000
                case "ug", "µg", "mcg": mg = v / 1000
                default: continue
                }
                guard let r = d.timing?.`repeat` else { return mg }
                let frequency = Double(r.frequency?.value?.value ?? 1)
                let period = r.period?.value?.value ?? 1
                let perDay: Double
                switch r.periodUnit?.value {
                case .day?: perDay = frequency / period
                case .hour?: perDay = frequency / period * 24
                case .week?: perDay = frequency / period / 7
                case .month?: perDay = frequency / period / 30.4375
                default: perDay = frequency / period
                }
                return mg * perDay
            }
        }
        return nil
    }

    // MARK: Family history

    mutating func familyHistory(_ f: FamilyMemberHistory, _ ref: String) {
        // The hip model has no family-history term (QFracture-2012 women); a parental hip fracture
        // is reported for the clinician.
        for c in f.condition {
            let codes = c.code.coding.compactMap { k -> CodeKey? in
                guard let s = k.system?.value?.value, let v = k.code?.value?.value else { return nil }
                return CodeKey(system: s, code: v)
            }
            if CodeTable.conditions.contains(where: { $0.feature == "prior_fracture" && codes.contains(where: $0.matches) }) {
                notes.append("\(ref): family history of fracture (\(Self.describe(c.code))); not a term of the hip model, shown for the clinician")
            }
        }
    }

    // MARK: Resolution

    /// Measurements and habits go stale; diagnoses and history (booleans) do not.
    func isStale(_ feature: String, _ day: FHIRDay?) -> Bool {
        guard let day else { return false }
        if let def = FeatureSchema.definition(feature), def.kind == .boolean { return false }
        return day.days(until: options.asOf) > (options.staleDays[feature] ?? options.defaultStaleDays)
    }

    mutating func finish() -> EHRFeatures {
        // Medication features: ≥ 2 current prescriptions, or a current statement.
        var meds = Set<String>()
        for (key, list) in prescriptions {
            let feature = key.replacingSuffix("#statement")
            let isStatement = key.hasSuffix("#statement")
            if isStatement || list.count >= 2 || (prescriptions[feature + "#statement"]?.isEmpty == false) {
                meds.insert(feature)
            }
        }
        for feature in meds.sorted() {
            let all = (prescriptions[feature] ?? []) + (prescriptions[feature + "#statement"] ?? [])
            var c = all.max { ($0.day?.daysSince1970 ?? Int.min, $0.order) < ($1.day?.daysSince1970 ?? Int.min, $1.order) }!
            c.sources = all.map(\.sources).flatMap { $0 }
            c.note = "\(all.count) current prescription(s)/statement(s)"
            candidates.append(c)
        }
        for (feature, list) in prescriptions where !meds.contains(feature.replacingSuffix("#statement")) {
            notes.append("\(feature): only \(list.count) current prescription; QFracture requires at least 2 (or an active statement)")
        }
        if meds.contains("corticosteroids") { candidates += glucocorticoidDoses }

        var byFeature: [String: [Candidate]] = [:]
        for c in candidates { byFeature[c.feature, default: []].append(c) }
        var features = PatientFeatures()
        var evidence: [FeatureEvidence] = []
        for def in FeatureSchema.all {
            guard var list = byFeature[def.id], !list.isEmpty else { continue }
            // Most recent first; undated values rank last; same day: later in the record wins.
            list.sort { ($0.day?.daysSince1970 ?? Int.min, $0.order) > ($1.day?.daysSince1970 ?? Int.min, $1.order) }
            var chosen = list[0]
            let stale = isStale(def.id, chosen.day)
            if stale && !options.useStaleValues {
                notes.append("\(def.id): the only values are older than \(options.staleDays[def.id] ?? options.defaultStaleDays) days; not used")
                continue
            }
            // Booleans: any positive record counts; several records are corroboration, not conflict.
            if def.kind == .boolean {
                chosen.sources = Array(Set(list.flatMap(\.sources))).sorted()
            }
            var superseded: [FeatureEvidence.Alternative] = []
            if def.kind != .boolean {
                superseded = list.dropFirst().map { FeatureEvidence.Alternative(value: $0.value, source: $0.sources.first ?? "", date: $0.dateText) }
                if let second = list.dropFirst().first, second.day == chosen.day, chosen.day != nil, second.value != chosen.value {
                    notes.append("\(def.id): conflicting values on \(chosen.dateText ?? "the same day") (\(formatNumber(chosen.value)) from \(chosen.sources.joined(separator: ",")) vs \(formatNumber(second.value)) from \(second.sources.joined(separator: ","))); used the one later in the record")
                }
            }
            do {
                try features.set(def.id, chosen.value)
            } catch {
                notes.append("\(def.id): \(error) (from \(chosen.sources.joined(separator: ","))); not used")
                continue
            }
            evidence.append(FeatureEvidence(
                feature: def.id, value: chosen.value, recorded: chosen.recorded, sources: chosen.sources, date: chosen.dateText,
                ageDays: chosen.day.map { $0.days(until: options.asOf) }, stale: stale, superseded: superseded, note: chosen.note))
        }
        // Booleans with no positive record: absent when the record has that kind of data at all.
        for def in FeatureSchema.all where def.kind == .boolean && features[def.id] == nil {
            let searched: Int
            switch def.modality {
            case .comorbidity, .falls: searched = conditionsSeen
            case .medication: searched = medicationsSeen
            default: continue
            }
            guard searched > 0 else { continue }
            try? features.set(def.id, 0)
            evidence.append(FeatureEvidence(
                feature: def.id, value: 0, recorded: "no matching record among \(searched) \(def.modality == .medication ? "medication" : "condition") resource(s)",
                sources: [], date: nil, ageDays: nil, stale: false, superseded: [], note: nil))
        }
        if features["bmi"] == nil, let w = features["weight"], let h = features["height"] {
            let bmi = w / ((h / 100) * (h / 100))
            if (try? features.set("bmi", bmi)) != nil {
                let ws = evidence.first { $0.feature == "weight" }
                let hs = evidence.first { $0.feature == "height" }
                evidence.append(FeatureEvidence(
                    feature: "bmi", value: bmi, recorded: "weight \(formatNumber(w)) kg / height \(formatNumber(h / 100)) m squared",
                    sources: (ws?.sources ?? []) + (hs?.sources ?? []), date: ws?.date, ageDays: ws?.ageDays, stale: ws?.stale ?? false,
                    superseded: [], note: "computed from weight and height"))
            }
        }
        return EHRFeatures(features: features, evidence: evidence, supporting: supporting, notes: notes, patientReference: patientRef, patient: patientResource)
    }

    static func describe(_ cc: CodeableConcept) -> String {
        if let t = cc.text?.value?.value { return t }
        if let c = cc.coding.first { return c.display?.value?.value ?? "\(c.system?.value?.value ?? "")|\(c.code?.value?.value ?? "")" }
        return "(no code)"
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }

    func replacingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}

/// Compact number text for notes (up to 3 decimals, no trailing zeros).
func formatNumber(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e15 { return String(Int(v)) }
    var s = FHIRDecimal(v, digits: 3).lexical
    while s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }
    return s
}
