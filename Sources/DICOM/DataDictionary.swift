// Generated from a table of PS3.6 data dictionary entries (the subset OsteoCT reads or writes).
// Tags not listed are still parsed: in explicit VR files with their own VR, in implicit VR files as UN.

extension Tag {
    public static let fileMetaInformationGroupLength = Tag(0x0002, 0x0000)
    public static let fileMetaInformationVersion = Tag(0x0002, 0x0001)
    public static let mediaStorageSOPClassUID = Tag(0x0002, 0x0002)
    public static let mediaStorageSOPInstanceUID = Tag(0x0002, 0x0003)
    public static let transferSyntaxUID = Tag(0x0002, 0x0010)
    public static let implementationClassUID = Tag(0x0002, 0x0012)
    public static let implementationVersionName = Tag(0x0002, 0x0013)
    public static let sourceApplicationEntityTitle = Tag(0x0002, 0x0016)
    public static let specificCharacterSet = Tag(0x0008, 0x0005)
    public static let imageType = Tag(0x0008, 0x0008)
    public static let instanceCreationDate = Tag(0x0008, 0x0012)
    public static let instanceCreationTime = Tag(0x0008, 0x0013)
    public static let sopClassUID = Tag(0x0008, 0x0016)
    public static let sopInstanceUID = Tag(0x0008, 0x0018)
    public static let studyDate = Tag(0x0008, 0x0020)
    public static let seriesDate = Tag(0x0008, 0x0021)
    public static let acquisitionDate = Tag(0x0008, 0x0022)
    public static let contentDate = Tag(0x0008, 0x0023)
    public static let acquisitionDateTime = Tag(0x0008, 0x002A)
    public static let studyTime = Tag(0x0008, 0x0030)
    public static let seriesTime = Tag(0x0008, 0x0031)
    public static let acquisitionTime = Tag(0x0008, 0x0032)
    public static let contentTime = Tag(0x0008, 0x0033)
    public static let accessionNumber = Tag(0x0008, 0x0050)
    public static let modality = Tag(0x0008, 0x0060)
    public static let conversionType = Tag(0x0008, 0x0064)
    public static let manufacturer = Tag(0x0008, 0x0070)
    public static let institutionName = Tag(0x0008, 0x0080)
    public static let referringPhysicianName = Tag(0x0008, 0x0090)
    public static let stationName = Tag(0x0008, 0x1010)
    public static let studyDescription = Tag(0x0008, 0x1030)
    public static let seriesDescription = Tag(0x0008, 0x103E)
    public static let manufacturerModelName = Tag(0x0008, 0x1090)
    public static let referencedImageSequence = Tag(0x0008, 0x1140)
    public static let referencedSOPClassUID = Tag(0x0008, 0x1150)
    public static let referencedSOPInstanceUID = Tag(0x0008, 0x1155)
    public static let sourceImageSequence = Tag(0x0008, 0x2112)
    public static let frameType = Tag(0x0008, 0x9007)
    public static let pixelPresentation = Tag(0x0008, 0x9205)
    public static let volumetricProperties = Tag(0x0008, 0x9206)
    public static let volumeBasedCalculationTechnique = Tag(0x0008, 0x9207)
    public static let patientName = Tag(0x0010, 0x0010)
    public static let patientID = Tag(0x0010, 0x0020)
    public static let patientBirthDate = Tag(0x0010, 0x0030)
    public static let patientSex = Tag(0x0010, 0x0040)
    public static let patientAge = Tag(0x0010, 0x1010)
    public static let patientSize = Tag(0x0010, 0x1020)
    public static let patientWeight = Tag(0x0010, 0x1030)
    public static let contrastBolusAgent = Tag(0x0018, 0x0010)
    public static let contrastBolusAgentSequence = Tag(0x0018, 0x0012)
    public static let bodyPartExamined = Tag(0x0018, 0x0015)
    public static let scanOptions = Tag(0x0018, 0x0022)
    public static let sliceThickness = Tag(0x0018, 0x0050)
    public static let kvp = Tag(0x0018, 0x0060)
    public static let spacingBetweenSlices = Tag(0x0018, 0x0088)
    public static let dataCollectionDiameter = Tag(0x0018, 0x0090)
    public static let deviceSerialNumber = Tag(0x0018, 0x1000)
    public static let softwareVersions = Tag(0x0018, 0x1020)
    public static let protocolName = Tag(0x0018, 0x1030)
    public static let contrastBolusRoute = Tag(0x0018, 0x1040)
    public static let contrastBolusVolume = Tag(0x0018, 0x1041)
    public static let contrastBolusStartTime = Tag(0x0018, 0x1042)
    public static let reconstructionDiameter = Tag(0x0018, 0x1100)
    public static let gantryDetectorTilt = Tag(0x0018, 0x1120)
    public static let tableHeight = Tag(0x0018, 0x1130)
    public static let rotationDirection = Tag(0x0018, 0x1140)
    public static let exposureTime = Tag(0x0018, 0x1150)
    public static let xRayTubeCurrent = Tag(0x0018, 0x1151)
    public static let exposure = Tag(0x0018, 0x1152)
    public static let filterType = Tag(0x0018, 0x1160)
    public static let generatorPower = Tag(0x0018, 0x1170)
    public static let focalSpots = Tag(0x0018, 0x1190)
    public static let convolutionKernel = Tag(0x0018, 0x1210)
    public static let patientPosition = Tag(0x0018, 0x5100)
    public static let contentQualification = Tag(0x0018, 0x9004)
    public static let ctAcquisitionTypeSequence = Tag(0x0018, 0x9301)
    public static let acquisitionType = Tag(0x0018, 0x9302)
    public static let ctReconstructionSequence = Tag(0x0018, 0x9314)
    public static let reconstructionAlgorithm = Tag(0x0018, 0x9315)
    public static let convolutionKernelGroup = Tag(0x0018, 0x9316)
    public static let ctImageFrameTypeSequence = Tag(0x0018, 0x9329)
    public static let contrastBolusUsageSequence = Tag(0x0018, 0x9341)
    public static let ctdiVol = Tag(0x0018, 0x9345)
    public static let studyInstanceUID = Tag(0x0020, 0x000D)
    public static let seriesInstanceUID = Tag(0x0020, 0x000E)
    public static let studyID = Tag(0x0020, 0x0010)
    public static let seriesNumber = Tag(0x0020, 0x0011)
    public static let acquisitionNumber = Tag(0x0020, 0x0012)
    public static let instanceNumber = Tag(0x0020, 0x0013)
    public static let patientOrientation = Tag(0x0020, 0x0020)
    public static let imagePositionPatient = Tag(0x0020, 0x0032)
    public static let imageOrientationPatient = Tag(0x0020, 0x0037)
    public static let frameOfReferenceUID = Tag(0x0020, 0x0052)
    public static let laterality = Tag(0x0020, 0x0060)
    public static let positionReferenceIndicator = Tag(0x0020, 0x1040)
    public static let sliceLocation = Tag(0x0020, 0x1041)
    public static let stackID = Tag(0x0020, 0x9056)
    public static let inStackPositionNumber = Tag(0x0020, 0x9057)
    public static let frameContentSequence = Tag(0x0020, 0x9111)
    public static let planePositionSequence = Tag(0x0020, 0x9113)
    public static let planeOrientationSequence = Tag(0x0020, 0x9116)
    public static let dimensionIndexValues = Tag(0x0020, 0x9157)
    public static let dimensionOrganizationSequence = Tag(0x0020, 0x9221)
    public static let dimensionIndexSequence = Tag(0x0020, 0x9222)
    public static let samplesPerPixel = Tag(0x0028, 0x0002)
    public static let photometricInterpretation = Tag(0x0028, 0x0004)
    public static let planarConfiguration = Tag(0x0028, 0x0006)
    public static let numberOfFrames = Tag(0x0028, 0x0008)
    public static let rows = Tag(0x0028, 0x0010)
    public static let columns = Tag(0x0028, 0x0011)
    public static let pixelSpacing = Tag(0x0028, 0x0030)
    public static let bitsAllocated = Tag(0x0028, 0x0100)
    public static let bitsStored = Tag(0x0028, 0x0101)
    public static let highBit = Tag(0x0028, 0x0102)
    public static let pixelRepresentation = Tag(0x0028, 0x0103)
    public static let pixelPaddingValue = Tag(0x0028, 0x0120)
    public static let pixelPaddingRangeLimit = Tag(0x0028, 0x0121)
    public static let burnedInAnnotation = Tag(0x0028, 0x0301)
    public static let windowCenter = Tag(0x0028, 0x1050)
    public static let windowWidth = Tag(0x0028, 0x1051)
    public static let rescaleIntercept = Tag(0x0028, 0x1052)
    public static let rescaleSlope = Tag(0x0028, 0x1053)
    public static let rescaleType = Tag(0x0028, 0x1054)
    public static let lossyImageCompression = Tag(0x0028, 0x2110)
    public static let lossyImageCompressionRatio = Tag(0x0028, 0x2112)
    public static let lossyImageCompressionMethod = Tag(0x0028, 0x2114)
    public static let pixelMeasuresSequence = Tag(0x0028, 0x9110)
    public static let pixelValueTransformationSequence = Tag(0x0028, 0x9145)
    public static let requestedProcedureDescription = Tag(0x0032, 0x1060)
    public static let performedProcedureStepStartDate = Tag(0x0040, 0x0244)
    public static let performedProcedureStepDescription = Tag(0x0040, 0x0254)
    public static let sharedFunctionalGroupsSequence = Tag(0x5200, 0x9229)
    public static let perFrameFunctionalGroupsSequence = Tag(0x5200, 0x9230)
    public static let extendedOffsetTable = Tag(0x7FE0, 0x0001)
    public static let extendedOffsetTableLengths = Tag(0x7FE0, 0x0002)
    public static let pixelData = Tag(0x7FE0, 0x0010)
}

/// VR and keyword of the tags in the dictionary, keyed by `Tag.raw`.
let dataDictionary: [UInt32: (vr: VR, keyword: String)] = [
    0x00020000: (.UL, "FileMetaInformationGroupLength"),
    0x00020001: (.OB, "FileMetaInformationVersion"),
    0x00020002: (.UI, "MediaStorageSOPClassUID"),
    0x00020003: (.UI, "MediaStorageSOPInstanceUID"),
    0x00020010: (.UI, "TransferSyntaxUID"),
    0x00020012: (.UI, "ImplementationClassUID"),
    0x00020013: (.SH, "ImplementationVersionName"),
    0x00020016: (.AE, "SourceApplicationEntityTitle"),
    0x00080005: (.CS, "SpecificCharacterSet"),
    0x00080008: (.CS, "ImageType"),
    0x00080012: (.DA, "InstanceCreationDate"),
    0x00080013: (.TM, "InstanceCreationTime"),
    0x00080016: (.UI, "SOPClassUID"),
    0x00080018: (.UI, "SOPInstanceUID"),
    0x00080020: (.DA, "StudyDate"),
    0x00080021: (.DA, "SeriesDate"),
    0x00080022: (.DA, "AcquisitionDate"),
    0x00080023: (.DA, "ContentDate"),
    0x0008002A: (.DT, "AcquisitionDateTime"),
    0x00080030: (.TM, "StudyTime"),
    0x00080031: (.TM, "SeriesTime"),
    0x00080032: (.TM, "AcquisitionTime"),
    0x00080033: (.TM, "ContentTime"),
    0x00080050: (.SH, "AccessionNumber"),
    0x00080060: (.CS, "Modality"),
    0x00080064: (.CS, "ConversionType"),
    0x00080070: (.LO, "Manufacturer"),
    0x00080080: (.LO, "InstitutionName"),
    0x00080090: (.PN, "ReferringPhysicianName"),
    0x00081010: (.SH, "StationName"),
    0x00081030: (.LO, "StudyDescription"),
    0x0008103E: (.LO, "SeriesDescription"),
    0x00081090: (.LO, "ManufacturerModelName"),
    0x00081140: (.SQ, "ReferencedImageSequence"),
    0x00081150: (.UI, "ReferencedSOPClassUID"),
    0x00081155: (.UI, "ReferencedSOPInstanceUID"),
    0x00082112: (.SQ, "SourceImageSequence"),
    0x00089007: (.CS, "FrameType"),
    0x00089205: (.CS, "PixelPresentation"),
    0x00089206: (.CS, "VolumetricProperties"),
    0x00089207: (.CS, "VolumeBasedCalculationTechnique"),
    0x00100010: (.PN, "PatientName"),
    0x00100020: (.LO, "PatientID"),
    0x00100030: (.DA, "PatientBirthDate"),
    0x00100040: (.CS, "PatientSex"),
    0x00101010: (.AS, "PatientAge"),
    0x00101020: (.DS, "PatientSize"),
    0x00101030: (.DS, "PatientWeight"),
    0x00180010: (.LO, "ContrastBolusAgent"),
    0x00180012: (.SQ, "ContrastBolusAgentSequence"),
    0x00180015: (.CS, "BodyPartExamined"),
    0x00180022: (.CS, "ScanOptions"),
    0x00180050: (.DS, "SliceThickness"),
    0x00180060: (.DS, "KVP"),
    0x00180088: (.DS, "SpacingBetweenSlices"),
    0x00180090: (.DS, "DataCollectionDiameter"),
    0x00181000: (.LO, "DeviceSerialNumber"),
    0x00181020: (.LO, "SoftwareVersions"),
    0x00181030: (.LO, "ProtocolName"),
    0x00181040: (.LO, "ContrastBolusRoute"),
    0x00181041: (.DS, "ContrastBolusVolume"),
    0x00181042: (.TM, "ContrastBolusStartTime"),
    0x00181100: (.DS, "ReconstructionDiameter"),
    0x00181120: (.DS, "GantryDetectorTilt"),
    0x00181130: (.DS, "TableHeight"),
    0x00181140: (.CS, "RotationDirection"),
    0x00181150: (.IS, "ExposureTime"),
    0x00181151: (.IS, "XRayTubeCurrent"),
    0x00181152: (.IS, "Exposure"),
    0x00181160: (.SH, "FilterType"),
    0x00181170: (.IS, "GeneratorPower"),
    0x00181190: (.DS, "FocalSpots"),
    0x00181210: (.SH, "ConvolutionKernel"),
    0x00185100: (.CS, "PatientPosition"),
    0x00189004: (.CS, "ContentQualification"),
    0x00189301: (.SQ, "CTAcquisitionTypeSequence"),
    0x00189302: (.CS, "AcquisitionType"),
    0x00189314: (.SQ, "CTReconstructionSequence"),
    0x00189315: (.CS, "ReconstructionAlgorithm"),
    0x00189316: (.CS, "ConvolutionKernelGroup"),
    0x00189329: (.SQ, "CTImageFrameTypeSequence"),
    0x00189341: (.SQ, "ContrastBolusUsageSequence"),
    0x00189345: (.FD, "CTDIvol"),
    0x0020000D: (.UI, "StudyInstanceUID"),
    0x0020000E: (.UI, "SeriesInstanceUID"),
    0x00200010: (.SH, "StudyID"),
    0x00200011: (.IS, "SeriesNumber"),
    0x00200012: (.IS, "AcquisitionNumber"),
    0x00200013: (.IS, "InstanceNumber"),
    0x00200020: (.CS, "PatientOrientation"),
    0x00200032: (.DS, "ImagePositionPatient"),
    0x00200037: (.DS, "ImageOrientationPatient"),
    0x00200052: (.UI, "FrameOfReferenceUID"),
    0x00200060: (.CS, "Laterality"),
    0x00201040: (.LO, "PositionReferenceIndicator"),
    0x00201041: (.DS, "SliceLocation"),
    0x00209056: (.SH, "StackID"),
    0x00209057: (.UL, "InStackPositionNumber"),
    0x00209111: (.SQ, "FrameContentSequence"),
    0x00209113: (.SQ, "PlanePositionSequence"),
    0x00209116: (.SQ, "PlaneOrientationSequence"),
    0x00209157: (.UL, "DimensionIndexValues"),
    0x00209221: (.SQ, "DimensionOrganizationSequence"),
    0x00209222: (.SQ, "DimensionIndexSequence"),
    0x00280002: (.US, "SamplesPerPixel"),
    0x00280004: (.CS, "PhotometricInterpretation"),
    0x00280006: (.US, "PlanarConfiguration"),
    0x00280008: (.IS, "NumberOfFrames"),
    0x00280010: (.US, "Rows"),
    0x00280011: (.US, "Columns"),
    0x00280030: (.DS, "PixelSpacing"),
    0x00280100: (.US, "BitsAllocated"),
    0x00280101: (.US, "BitsStored"),
    0x00280102: (.US, "HighBit"),
    0x00280103: (.US, "PixelRepresentation"),
    0x00280120: (.US, "PixelPaddingValue"),
    0x00280121: (.US, "PixelPaddingRangeLimit"),
    0x00280301: (.CS, "BurnedInAnnotation"),
    0x00281050: (.DS, "WindowCenter"),
    0x00281051: (.DS, "WindowWidth"),
    0x00281052: (.DS, "RescaleIntercept"),
    0x00281053: (.DS, "RescaleSlope"),
    0x00281054: (.LO, "RescaleType"),
    0x00282110: (.CS, "LossyImageCompression"),
    0x00282112: (.DS, "LossyImageCompressionRatio"),
    0x00282114: (.CS, "LossyImageCompressionMethod"),
    0x00289110: (.SQ, "PixelMeasuresSequence"),
    0x00289145: (.SQ, "PixelValueTransformationSequence"),
    0x00321060: (.LO, "RequestedProcedureDescription"),
    0x00400244: (.DA, "PerformedProcedureStepStartDate"),
    0x00400254: (.LO, "PerformedProcedureStepDescription"),
    0x52009229: (.SQ, "SharedFunctionalGroupsSequence"),
    0x52009230: (.SQ, "PerFrameFunctionalGroupsSequence"),
    0x7FE00001: (.OV, "ExtendedOffsetTable"),
    0x7FE00002: (.OV, "ExtendedOffsetTableLengths"),
    0x7FE00010: (.OW, "PixelData"),
    0xFFFEE000: (.UN, "Item"),
    0xFFFEE00D: (.UN, "ItemDelimitationItem"),
    0xFFFEE0DD: (.UN, "SequenceDelimitationItem"),
]

extension Tag {
    /// The PS3.6 keyword, when the tag is in OsteoCT's dictionary.
    public var keyword: String? {
        if element == 0 { return "GroupLength" }
        return dataDictionary[raw]?.keyword
    }

    /// The dictionary VR (used for implicit VR data sets and UN elements); group lengths are UL.
    public var dictionaryVR: VR? {
        if element == 0 { return .UL }
        return dataDictionary[raw]?.vr
    }
}
