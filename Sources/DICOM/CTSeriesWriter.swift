public import Imaging
import Foundation

/// Who and what a written CT series is about. Everything that lands in the files is here, so the
/// same description and volume always give the same bytes.
public struct CTSeriesDescription: Sendable, Codable, Equatable {
    public var patientName = "OSTEOCT^PHANTOM"
    public var patientID = "PHANTOM"
    public var patientBirthDate = ""
    public var patientSex = "F"
    public var patientAge: String?
    public var patientSize_m: Double?
    public var patientWeight_kg: Double?
    public var studyInstanceUID: String
    public var seriesInstanceUID: String
    public var frameOfReferenceUID: String
    /// Prefix for SOP Instance UIDs; the instance number is appended.
    public var sopInstanceUIDPrefix: String
    public var studyDate = "20260101"
    public var studyTime = "120000"
    public var studyID = "1"
    public var accessionNumber = ""
    public var studyDescription = "CT ABDOMEN PELVIS"
    public var seriesNumber = 1
    public var seriesDescription = "AXIAL 1.25 STANDARD"
    public var bodyPartExamined = "PELVIS"
    public var manufacturer = "OsteoCT"
    public var manufacturerModelName = "Digital hip phantom"
    public var stationName = "PHANTOM"
    public var deviceSerialNumber = "0"
    public var softwareVersions = "osteoct"
    public var kvp = 120.0
    public var convolutionKernel = "STANDARD"
    public var sliceThickness_mm: Double
    public var contrastAgent: String?
    public var contrastRoute: String?
    /// Pixel Padding Value in HU (outside the reconstructed field of view), if any voxel holds it.
    public var paddingHU: Int16?
    public var derivationDescription: String?

    public init(
        studyInstanceUID: String, seriesInstanceUID: String, frameOfReferenceUID: String,
        sopInstanceUIDPrefix: String, sliceThickness_mm: Double
    ) {
        self.studyInstanceUID = studyInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.frameOfReferenceUID = frameOfReferenceUID
        self.sopInstanceUIDPrefix = sopInstanceUIDPrefix
        self.sliceThickness_mm = sliceThickness_mm
    }
}

/// Writes a HU volume as a CT Image Storage series, one Part 10 file per slice, with the modules
/// of the CT Image IOD (PS3.3 A.3) so `dciodvfy` reports no errors.
public enum CTSeriesWriter {
    public static let ctImageStorage = "1.2.840.10008.5.1.4.1.1.2"
    /// Stored = HU + 1024 (Rescale Intercept −1024, slope 1), signed 16-bit: a common scanner convention.
    static let rescaleIntercept: Int = -1024

    /// The data set of slice `k` (0-based, along the volume's k axis).
    public static func slice(_ volume: Volume<Int16>, _ k: Int, _ d: CTSeriesDescription) throws(DICOMError) -> DataSet {
        let g = volume.geometry
        guard g.direction.isOrthonormal(tolerance: 1e-3) else {
            throw .series(reason: "only orthogonal volumes can be written as a CT series")
        }
        let nx = volume.size.x, ny = volume.size.y
        guard nx <= 65535, ny <= 65535 else { throw .series(reason: "slice \(nx)×\(ny) exceeds the 65535 DICOM limit") }
        var ds = DataSet()
        let instance = k + 1
        // SOP Common
        ds.set(.specificCharacterSet, .CS, "ISO_IR 192")
        ds.set(.sopClassUID, .UI, ctImageStorage)
        ds.set(.sopInstanceUID, .UI, "\(d.sopInstanceUIDPrefix).\(instance)")
        ds.set(.instanceCreationDate, .DA, d.studyDate)
        ds.set(.instanceCreationTime, .TM, d.studyTime)
        // Patient
        ds.set(.patientName, .PN, d.patientName)
        ds.set(.patientID, .LO, d.patientID)
        ds.set(.patientBirthDate, .DA, d.patientBirthDate)
        ds.set(.patientSex, .CS, d.patientSex)
        // Patient Study
        if let a = d.patientAge { ds.set(.patientAge, .AS, a) }
        if let s = d.patientSize_m { ds.set(.patientSize, ds: [s]) }
        if let w = d.patientWeight_kg { ds.set(.patientWeight, ds: [w]) }
        // General Study
        ds.set(.studyInstanceUID, .UI, d.studyInstanceUID)
        ds.set(.studyDate, .DA, d.studyDate)
        ds.set(.studyTime, .TM, d.studyTime)
        ds.set(.referringPhysicianName, .PN, "")
        ds.set(.studyID, .SH, d.studyID)
        ds.set(.accessionNumber, .SH, d.accessionNumber)
        ds.set(.studyDescription, .LO, d.studyDescription)
        // General Series
        ds.set(.modality, .CS, "CT")
        ds.set(.seriesInstanceUID, .UI, d.seriesInstanceUID)
        ds.set(.seriesNumber, .IS, "\(d.seriesNumber)")
        ds.set(.seriesDescription, .LO, d.seriesDescription)
        ds.set(.seriesDate, .DA, d.studyDate)
        ds.set(.seriesTime, .TM, d.studyTime)
        ds.set(.bodyPartExamined, .CS, d.bodyPartExamined)
        ds.set(.patientPosition, .CS, "HFS")
        // Frame of Reference
        ds.set(.frameOfReferenceUID, .UI, d.frameOfReferenceUID)
        ds.set(.positionReferenceIndicator, .LO, "")
        // General Equipment
        ds.set(.manufacturer, .LO, d.manufacturer)
        ds.set(.manufacturerModelName, .LO, d.manufacturerModelName)
        ds.set(.stationName, .SH, d.stationName)
        ds.set(.deviceSerialNumber, .LO, d.deviceSerialNumber)
        ds.set(.softwareVersions, .LO, d.softwareVersions)
        // General Image / General Acquisition
        ds.set(.imageType, .CS, ["ORIGINAL", "PRIMARY", "AXIAL"])
        ds.set(.instanceNumber, .IS, "\(instance)")
        ds.set(.acquisitionNumber, .IS, "1")
        ds.set(.contentDate, .DA, d.studyDate)
        ds.set(.contentTime, .TM, d.studyTime)
        ds.set(.acquisitionDate, .DA, d.studyDate)
        ds.set(.acquisitionTime, .TM, d.studyTime)
        ds.set(.burnedInAnnotation, .CS, "NO")
        // Image Plane
        let p = g.world(0, 0, Double(k))
        ds.set(.imagePositionPatient, ds: [p.x, p.y, p.z])
        let r = g.direction.c0, c = g.direction.c1
        ds.set(.imageOrientationPatient, ds: [r.x, r.y, r.z, c.x, c.y, c.z])
        ds.set(.pixelSpacing, ds: [g.spacing.y, g.spacing.x])  // row spacing \ column spacing
        ds.set(.sliceThickness, ds: [d.sliceThickness_mm])
        ds.set(.spacingBetweenSlices, ds: [g.spacing.z])
        ds.set(.sliceLocation, ds: [g.direction.c2.dot(p)])
        // Image Pixel + CT Image
        ds.set(.samplesPerPixel, us: [1])
        ds.set(.photometricInterpretation, .CS, "MONOCHROME2")
        ds.set(.rows, us: [UInt16(ny)])
        ds.set(.columns, us: [UInt16(nx)])
        ds.set(.bitsAllocated, us: [16])
        ds.set(.bitsStored, us: [16])
        ds.set(.highBit, us: [15])
        ds.set(.pixelRepresentation, us: [1])
        ds.set(.rescaleIntercept, ds: [Double(rescaleIntercept)])
        ds.set(.rescaleSlope, ds: [1])
        ds.set(.rescaleType, .LO, "HU")
        ds.set(.kvp, ds: [d.kvp])
        ds.set(.convolutionKernel, .SH, d.convolutionKernel)
        ds.set(.reconstructionDiameter, ds: [Double(max(nx, ny)) * max(g.spacing.x, g.spacing.y)])
        ds.set(.windowCenter, ds: [40])
        ds.set(.windowWidth, ds: [400])
        if let pad = d.paddingHU {
            ds.set(.pixelPaddingValue, ss: [Int16(clamping: Int(pad) - rescaleIntercept)])
        }
        // Contrast/Bolus module only when contrast was given (PS3.3 A.3.4: C, required if used).
        if d.contrastAgent != nil || d.contrastRoute != nil {
            ds.set(.contrastBolusAgent, .LO, d.contrastAgent ?? "")
            if let route = d.contrastRoute { ds.set(.contrastBolusRoute, .LO, route) }
        }
        // Pixel data: stored = HU − intercept, little endian.
        var pixels = [UInt8](repeating: 0, count: nx * ny * 2)
        let base = k * nx * ny
        var overflow = 0
        for i in 0..<(nx * ny) {
            let stored = Int(volume.voxels[base + i]) - rescaleIntercept
            let v = Int16(clamping: stored)
            if Int(v) != stored { overflow += 1 }
            let u = UInt16(bitPattern: v)
            pixels[2 * i] = UInt8(u & 0xFF)
            pixels[2 * i + 1] = UInt8(u >> 8)
        }
        if overflow > 0 {
            throw .series(reason: "\(overflow) voxel(s) of slice \(instance) exceed \(Int(Int16.max) + rescaleIntercept) HU and cannot be stored with intercept \(rescaleIntercept)")
        }
        ds.set(.pixelData, .OW, bytes: pixels)
        return ds
    }

    /// Writes `IM00001.dcm`, `IM00002.dcm`, … into `directory`, one file per slice, slices in
    /// parallel. The series is written into a temporary folder beside it and renamed into place
    /// when complete, so a failure never leaves a partial series that looks whole; an existing
    /// non-empty `directory` is refused (stale slices of another series would mix in). Returns the paths.
    @discardableResult
    public static func write(_ volume: Volume<Int16>, _ d: CTSeriesDescription, to directory: String) throws(DICOMError) -> [String] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: directory, isDirectory: &isDir) {
            guard isDir.boolValue, (try? fm.contentsOfDirectory(atPath: directory))?.isEmpty ?? false else {
                throw .io(path: directory, reason: "already exists and is not an empty folder; remove it or write elsewhere")
            }
        }
        let parent = (directory as NSString).deletingLastPathComponent
        do { try FileIO.makeDirectory(parent.isEmpty ? "." : parent) } catch { throw .io(path: parent, reason: error.reason) }
        let staging = (parent.isEmpty ? "." : parent) + "/." + (directory as NSString).lastPathComponent + ".partial-\(getpid())"
        try? fm.removeItem(atPath: staging)
        do { try FileIO.makeDirectory(staging) } catch { throw .io(path: staging, reason: error.reason) }
        let width = max(5, String(volume.size.z).count)
        let names = (0..<volume.size.z).map { k -> String in
            let n = String(k + 1)
            return "IM" + String(repeating: "0", count: width - n.count) + n + ".dcm"
        }
        let failure = FirstError<DICOMError>()
        Parallel.forEach(volume.size.z) { k in
            if failure.isSet { return }
            do throws(DICOMError) {
                let bytes = try DICOMWriter.part10(try slice(volume, k, d))
                do throws(FileIO.Failure) { try FileIO.writeAtomically(bytes, to: staging + "/" + names[k]) } catch {
                    throw DICOMError.io(path: staging + "/" + names[k], reason: error.reason)
                }
            } catch {
                failure.record(error)
            }
        }
        if let e = failure.value {
            try? fm.removeItem(atPath: staging)
            throw e
        }
        if fm.fileExists(atPath: directory) { try? fm.removeItem(atPath: directory) }  // empty, checked above
        guard rename(staging, directory) == 0 else {
            let reason = String(cString: strerror(errno))
            try? fm.removeItem(atPath: staging)
            throw .io(path: directory, reason: "cannot move the finished series into place: \(reason)")
        }
        return names.map { directory + "/" + $0 }
    }
}
