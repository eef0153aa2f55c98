// swift-tools-version: 6.0
// OsteoCT — opportunistic-CT hip-fracture risk as an HL7 FHIR R4 decision-support service.
// Targets follow ../shared/DESIGN.md: data flows down, never up.
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "OsteoCT",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "osteoct", targets: ["osteoct"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "DICOM", targets: ["DICOM"]),
        .library(name: "Phantom", targets: ["Phantom"]),
        .library(name: "RiskModel", targets: ["RiskModel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // zlib: gzip for .nii.gz, raw deflate for the Deflated Explicit VR Little Endian transfer syntax.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // libopenjp2 is opened at run time (dlopen) so the build never needs it and a site without it
        // gets a clear "install libopenjp2-7" error for JPEG 2000 only.
        .target(name: "COpenJPEG", path: "Sources/COpenJPEG", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "Imaging", dependencies: ["CZlib"], swiftSettings: strictSettings),
        .target(name: "DICOM", dependencies: ["Imaging", "CZlib", "COpenJPEG"], swiftSettings: strictSettings),
        .target(name: "Phantom", dependencies: ["Imaging", "DICOM"], swiftSettings: strictSettings),
        // Risk model: feature values in, probabilities and explanations out; imports no other module.
        .target(name: "RiskModel", swiftSettings: strictSettings),
        .executableTarget(
            name: "osteoct",
            dependencies: [
                "Imaging", "DICOM", "Phantom", "RiskModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // Developer tool: seeded mutation fuzzing of the DICOM reader and codecs (Tests/interop/run.sh runs it).
        .executableTarget(name: "osteoct-fuzz", dependencies: ["DICOM", "Imaging"], swiftSettings: strictSettings),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"], swiftSettings: strictSettings),
        .testTarget(
            name: "DICOMTests", dependencies: ["DICOM", "Imaging"],
            resources: [.copy("Fixtures")], swiftSettings: strictSettings
        ),
        .testTarget(name: "PhantomTests", dependencies: ["Phantom", "DICOM", "Imaging"], swiftSettings: strictSettings),
        .testTarget(name: "RiskModelTests", dependencies: ["RiskModel"], swiftSettings: strictSettings),
        .testTarget(name: "OsteoctCLITests", dependencies: ["osteoct", "DICOM", "Imaging"], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
