# One-off generator for Sources/DICOM/DataDictionary.swift from a table of PS3.6 entries.
rows = """
0002,0000 UL FileMetaInformationGroupLength
0002,0001 OB FileMetaInformationVersion
0002,0002 UI MediaStorageSOPClassUID
0002,0003 UI MediaStorageSOPInstanceUID
0002,0010 UI TransferSyntaxUID
0002,0012 UI ImplementationClassUID
0002,0013 SH ImplementationVersionName
0002,0016 AE SourceApplicationEntityTitle
0008,0005 CS SpecificCharacterSet
0008,0008 CS ImageType
0008,0012 DA InstanceCreationDate
0008,0013 TM InstanceCreationTime
0008,0016 UI SOPClassUID
0008,0018 UI SOPInstanceUID
0008,0020 DA StudyDate
0008,0021 DA SeriesDate
0008,0022 DA AcquisitionDate
0008,0023 DA ContentDate
0008,002A DT AcquisitionDateTime
0008,0030 TM StudyTime
0008,0031 TM SeriesTime
0008,0032 TM AcquisitionTime
0008,0033 TM ContentTime
0008,0050 SH AccessionNumber
0008,0060 CS Modality
0008,0064 CS ConversionType
0008,0070 LO Manufacturer
0008,0080 LO InstitutionName
0008,0090 PN ReferringPhysicianName
0008,1010 SH StationName
0008,1030 LO StudyDescription
0008,103E LO SeriesDescription
0008,1090 LO ManufacturerModelName
0008,1140 SQ ReferencedImageSequence
0008,1150 UI ReferencedSOPClassUID
0008,1155 UI ReferencedSOPInstanceUID
0008,2112 SQ SourceImageSequence
0008,9007 CS FrameType
0008,9205 CS PixelPresentation
0008,9206 CS VolumetricProperties
0008,9207 CS VolumeBasedCalculationTechnique
0010,0010 PN PatientName
0010,0020 LO PatientID
0010,0030 DA PatientBirthDate
0010,0040 CS PatientSex
0010,1010 AS PatientAge
0010,1020 DS PatientSize
0010,1030 DS PatientWeight
0018,0010 LO ContrastBolusAgent
0018,0012 SQ ContrastBolusAgentSequence
0018,0015 CS BodyPartExamined
0018,0022 CS ScanOptions
0018,0050 DS SliceThickness
0018,0060 DS KVP
0018,0088 DS SpacingBetweenSlices
0018,0090 DS DataCollectionDiameter
0018,1000 LO DeviceSerialNumber
0018,1020 LO SoftwareVersions
0018,1030 LO ProtocolName
0018,1040 LO ContrastBolusRoute
0018,1041 DS ContrastBolusVolume
0018,1042 TM ContrastBolusStartTime
0018,1100 DS ReconstructionDiameter
0018,1120 DS GantryDetectorTilt
0018,1130 DS TableHeight
0018,1140 CS RotationDirection
0018,1150 IS ExposureTime
0018,1151 IS XRayTubeCurrent
0018,1152 IS Exposure
0018,1160 SH FilterType
0018,1170 IS GeneratorPower
0018,1190 DS FocalSpots
0018,1210 SH ConvolutionKernel
0018,5100 CS PatientPosition
0018,9004 CS ContentQualification
0018,9301 SQ CTAcquisitionTypeSequence
0018,9302 CS AcquisitionType
0018,9314 SQ CTReconstructionSequence
0018,9315 CS ReconstructionAlgorithm
0018,9316 CS ConvolutionKernelGroup
0018,9329 SQ CTImageFrameTypeSequence
0018,9341 SQ ContrastBolusUsageSequence
0018,9345 FD CTDIvol
0020,000D UI StudyInstanceUID
0020,000E UI SeriesInstanceUID
0020,0010 SH StudyID
0020,0011 IS SeriesNumber
0020,0012 IS AcquisitionNumber
0020,0013 IS InstanceNumber
0020,0020 CS PatientOrientation
0020,0032 DS ImagePositionPatient
0020,0037 DS ImageOrientationPatient
0020,0052 UI FrameOfReferenceUID
0020,0060 CS Laterality
0020,1040 LO PositionReferenceIndicator
0020,1041 DS SliceLocation
0020,9056 SH StackID
0020,9057 UL InStackPositionNumber
0020,9111 SQ FrameContentSequence
0020,9113 SQ PlanePositionSequence
0020,9116 SQ PlaneOrientationSequence
0020,9157 UL DimensionIndexValues
0020,9221 SQ DimensionOrganizationSequence
0020,9222 SQ DimensionIndexSequence
0028,0002 US SamplesPerPixel
0028,0004 CS PhotometricInterpretation
0028,0006 US PlanarConfiguration
0028,0008 IS NumberOfFrames
0028,0010 US Rows
0028,0011 US Columns
0028,0030 DS PixelSpacing
0028,0100 US BitsAllocated
0028,0101 US BitsStored
0028,0102 US HighBit
0028,0103 US PixelRepresentation
0028,0120 US PixelPaddingValue
0028,0121 US PixelPaddingRangeLimit
0028,0301 CS BurnedInAnnotation
0028,1050 DS WindowCenter
0028,1051 DS WindowWidth
0028,1052 DS RescaleIntercept
0028,1053 DS RescaleSlope
0028,1054 LO RescaleType
0028,2110 CS LossyImageCompression
0028,2112 DS LossyImageCompressionRatio
0028,2114 CS LossyImageCompressionMethod
0028,9110 SQ PixelMeasuresSequence
0028,9145 SQ PixelValueTransformationSequence
0032,1060 LO RequestedProcedureDescription
0040,0244 DA PerformedProcedureStepStartDate
0040,0254 LO PerformedProcedureStepDescription
5200,9229 SQ SharedFunctionalGroupsSequence
5200,9230 SQ PerFrameFunctionalGroupsSequence
7FE0,0001 OV ExtendedOffsetTable
7FE0,0002 OV ExtendedOffsetTableLengths
7FE0,0010 OW PixelData
FFFE,E000 UN Item
FFFE,E00D UN ItemDelimitationItem
FFFE,E0DD UN SequenceDelimitationItem
"""
entries = [r.split() for r in rows.strip().splitlines()]
out = ["// Generated from a table of PS3.6 data dictionary entries (the subset OsteoCT reads or writes).",
       "// Tags not listed are still parsed: in explicit VR files with their own VR, in implicit VR files as UN.",
       "", "extension Tag {"]
for t, vr, kw in entries:
    g, e = t.split(",")
    if g == "FFFE": continue
    name = kw[0].lower() + kw[1:]
    # lower-case leading acronyms: SOPClassUID -> sopClassUID, KVP -> kvp, CTDIvol -> ctdiVol
    special = {"SOPClassUID":"sopClassUID","SOPInstanceUID":"sopInstanceUID","KVP":"kvp","CTDIvol":"ctdiVol",
               "CTAcquisitionTypeSequence":"ctAcquisitionTypeSequence","CTReconstructionSequence":"ctReconstructionSequence",
               "CTImageFrameTypeSequence":"ctImageFrameTypeSequence","MediaStorageSOPClassUID":"mediaStorageSOPClassUID",
               "MediaStorageSOPInstanceUID":"mediaStorageSOPInstanceUID","StudyID":"studyID","PatientID":"patientID",
               "StackID":"stackID","ReferencedSOPClassUID":"referencedSOPClassUID","ReferencedSOPInstanceUID":"referencedSOPInstanceUID"}
    name = special.get(kw, name)
    out.append(f"    public static let {name} = Tag(0x{g}, 0x{e})")
out.append("}")
out.append("")
out.append("/// VR and keyword of the tags in the dictionary, keyed by `Tag.raw`.")
out.append("let dataDictionary: [UInt32: (vr: VR, keyword: String)] = [")
for t, vr, kw in entries:
    g, e = t.split(",")
    out.append(f"    0x{g}{e}: (.{vr}, \"{kw}\"),")
out.append("]")
out.append("")
out.append("extension Tag {")
out.append("    /// The PS3.6 keyword, when the tag is in OsteoCT's dictionary.")
out.append("    public var keyword: String? {")
out.append("        if element == 0 { return \"GroupLength\" }")
out.append("        return dataDictionary[raw]?.keyword")
out.append("    }")
out.append("")
out.append("    /// The dictionary VR (used for implicit VR data sets and UN elements); group lengths are UL.")
out.append("    public var dictionaryVR: VR? {")
out.append("        if element == 0 { return .UL }")
out.append("        return dataDictionary[raw]?.vr")
out.append("    }")
out.append("}")
open(__import__("os").path.join(__import__("os").path.dirname(__file__), "..", "Sources/DICOM/DataDictionary.swift"), "w").write("\n".join(out)+"\n")
