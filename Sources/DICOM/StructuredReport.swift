// The measurements as a DICOM Structured Report: a Comprehensive SR holding the TID 1500 Imaging
// Measurement Report, one TID 1501 measurement group per measured value (tracking identifier and
// UID, finding site with laterality, the value with its UCUM unit and its measurement method).
// Measurement concepts and methods that have no standard code use OsteoCT's own coding scheme,
// declared in the Coding Scheme Identification Sequence (PS3.3 C.12.1.1.5).

/// One measured value of a group.
public struct SRMeasurement: Sendable {
    public var concept: CodedConcept
    public var value: Double
    /// UCUM unit (scheme "UCUM").
    public var unit: CodedConcept
    public var method: CodedConcept?
    public init(concept: CodedConcept, value: Double, unit: CodedConcept, method: CodedConcept?) {
        self.concept = concept; self.value = value; self.unit = unit; self.method = method
    }
}

/// A TID 1501 measurement group.
public struct SRMeasurementGroup: Sendable {
    public var trackingIdentifier: String
    public var trackingUID: String
    public var findingSite: CodedConcept?
    public var laterality: CodedConcept?
    public var measurements: [SRMeasurement]
    public init(trackingIdentifier: String, trackingUID: String, findingSite: CodedConcept?, laterality: CodedConcept?, measurements: [SRMeasurement]) {
        self.trackingIdentifier = trackingIdentifier; self.trackingUID = trackingUID; self.findingSite = findingSite
        self.laterality = laterality; self.measurements = measurements
    }
}

/// A private coding scheme used by the report.
public struct PrivateCodingScheme: Sendable {
    public var designator: String
    public var name: String
    public var uid: String
    public init(designator: String, name: String, uid: String) { self.designator = designator; self.name = name; self.uid = uid }
}

extension DerivedObjects {
    public static let comprehensiveSRStorage = "1.2.840.10008.5.1.4.1.1.88.33"

    enum Relationship: String { case contains = "CONTAINS", hasConceptMod = "HAS CONCEPT MOD", hasObsContext = "HAS OBS CONTEXT" }

    static func contentItem(_ rel: Relationship, _ type: String, _ concept: CodedConcept) -> DataSet {
        var d = DataSet()
        d.set(Tag(0x0040, 0xA010), .CS, rel.rawValue)
        d.set(Tag(0x0040, 0xA040), .CS, type)
        d.set(Tag(0x0040, 0xA043), sequence: [concept.item])
        return d
    }

    static func codeItem(_ rel: Relationship, _ concept: CodedConcept, _ value: CodedConcept) -> DataSet {
        var d = contentItem(rel, "CODE", concept)
        d.set(Tag(0x0040, 0xA168), sequence: [value.item])
        return d
    }

    static func container(_ rel: Relationship?, _ concept: CodedConcept, template: String?, children: [DataSet]) -> DataSet {
        var d = DataSet()
        if let rel { d.set(Tag(0x0040, 0xA010), .CS, rel.rawValue) }
        d.set(Tag(0x0040, 0xA040), .CS, "CONTAINER")
        d.set(Tag(0x0040, 0xA043), sequence: [concept.item])
        d.set(Tag(0x0040, 0xA050), .CS, "SEPARATE")
        if let template {
            var t = DataSet()
            t.set(Tag(0x0008, 0x0105), .CS, "DCMR")
            t.set(Tag(0x0040, 0xDB00), .CS, template)
            d.set(Tag(0x0040, 0xA504), sequence: [t])
        }
        if !children.isEmpty { d.set(Tag(0x0040, 0xA730), sequence: children) }
        return d
    }

    /// A TID 1500 measurement report on the source series.
    public static func measurementReport(groups: [SRMeasurementGroup], source: DICOMSourceReference, series: DerivedSeries,
                                         observerUID: String, observerName: String, scheme: PrivateCodingScheme) -> DataSet {
        var ds = common(source, series, sopClass: comprehensiveSRStorage, instance: 1, modality: "SR")
        ds.set(Tag(0x0008, 0x1111), sequence: [])  // Referenced Performed Procedure Step Sequence (type 2)
        ds.set(Tag(0x0040, 0xA491), .CS, "COMPLETE")  // Completion Flag
        ds.set(Tag(0x0040, 0xA493), .CS, "UNVERIFIED")  // Verification Flag
        ds.set(Tag(0x0040, 0xA372), sequence: [])  // Performed Procedure Code Sequence (type 2)
        var cs = DataSet()
        cs.set(Tag(0x0008, 0x0102), .SH, scheme.designator)
        cs.set(Tag(0x0008, 0x010C), .UI, scheme.uid)
        cs.set(Tag(0x0008, 0x0115), .ST, scheme.name)
        ds.set(Tag(0x0008, 0x0110), sequence: [cs])  // Coding Scheme Identification Sequence
        // Evidence: the source images the measurements come from.
        var refs: [DataSet] = []
        for s in source.slices {
            var it = DataSet()
            it.set(Tag(0x0008, 0x1150), .UI, s.sopClassUID)
            it.set(Tag(0x0008, 0x1155), .UI, s.sopInstanceUID)
            refs.append(it)
        }
        var rs = DataSet()
        rs.set(.seriesInstanceUID, .UI, source.seriesInstanceUID)
        rs.set(Tag(0x0008, 0x1199), sequence: refs)  // Referenced SOP Sequence
        var study = DataSet()
        study.set(.studyInstanceUID, .UI, source.studyInstanceUID)
        study.set(Tag(0x0008, 0x1115), sequence: [rs])
        ds.set(Tag(0x0040, 0xA375), sequence: [study])  // Current Requested Procedure Evidence Sequence
        // Content tree.
        var children: [DataSet] = []
        children.append(codeItem(.hasConceptMod, CodedConcept("121049", "DCM", "Language of Content Item and Descendants"),
                                 CodedConcept("en-US", "RFC5646", "English (United States)")))
        children.append(codeItem(.hasObsContext, CodedConcept("121005", "DCM", "Observer Type"), CodedConcept("121007", "DCM", "Device")))
        var uid = contentItem(.hasObsContext, "UIDREF", CodedConcept("121012", "DCM", "Device Observer UID"))
        uid.set(Tag(0x0040, 0xA124), .UI, observerUID)
        children.append(uid)
        var name = contentItem(.hasObsContext, "TEXT", CodedConcept("121013", "DCM", "Device Observer Name"))
        name.set(Tag(0x0040, 0xA160), .UT, observerName)
        children.append(name)
        children.append(codeItem(.hasConceptMod, CodedConcept("121058", "DCM", "Procedure reported"), CodedConcept("77477000", "SCT", "Computed tomography")))
        children.append(container(.contains, CodedConcept("111028", "DCM", "Image Library"), template: nil, children: []))
        var groupItems: [DataSet] = []
        for g in groups {
            var items: [DataSet] = []
            var tid = contentItem(.hasObsContext, "TEXT", CodedConcept("112039", "DCM", "Tracking Identifier"))
            tid.set(Tag(0x0040, 0xA160), .UT, g.trackingIdentifier)
            items.append(tid)
            var tuid = contentItem(.hasObsContext, "UIDREF", CodedConcept("112040", "DCM", "Tracking Unique Identifier"))
            tuid.set(Tag(0x0040, 0xA124), .UI, g.trackingUID)
            items.append(tuid)
            if let site = g.findingSite {
                var f = codeItem(.hasConceptMod, CodedConcept("363698007", "SCT", "Finding Site"), site)
                if let lat = g.laterality {
                    f.set(Tag(0x0040, 0xA730), sequence: [codeItem(.hasConceptMod, CodedConcept("272741003", "SCT", "Laterality"), lat)])
                }
                items.append(f)
            }
            for m in g.measurements {
                var num = contentItem(.contains, "NUM", m.concept)
                var mv = DataSet()
                mv.set(Tag(0x0040, 0x08EA), sequence: [m.unit.item])
                mv.set(Tag(0x0040, 0xA30A), ds: [m.value])
                num.set(Tag(0x0040, 0xA300), sequence: [mv])
                if let method = m.method {
                    num.set(Tag(0x0040, 0xA730), sequence: [codeItem(.hasConceptMod, CodedConcept("370129005", "SCT", "Measurement Method"), method)])
                }
                items.append(num)
            }
            groupItems.append(container(.contains, CodedConcept("125007", "DCM", "Measurement Group"), template: "1501", children: items))
        }
        children.append(container(.contains, CodedConcept("126010", "DCM", "Imaging Measurements"), template: nil, children: groupItems))
        let root = container(nil, CodedConcept("126000", "DCM", "Imaging Measurement Report"), template: "1500", children: children)
        for e in root.elements.values { ds.insert(e) }
        return ds
    }
}
