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
        .library(name: "FHIR", targets: ["FHIR"]),
        .library(name: "Screening", targets: ["Screening"]),
        .library(name: "QCT", targets: ["QCT"]),
        .library(name: "BoneFE", targets: ["BoneFE"]),
        .library(name: "Reports", targets: ["Reports"]),
        .library(name: "Service", targets: ["Service"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The service (issue 8): HTTP server and client, store, JWTs, metrics, configuration, logs.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.1.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
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
        // libxml2 is seen only by the CFHIRXML shim: its headers pull in the system ICU, which clashes
        // with Foundation's (DESIGN.md). The shim's header declares only OsteoCT's own narrow API.
        .systemLibrary(name: "CLibXML2", path: "Sources/CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .target(name: "CFHIRXML", dependencies: ["CLibXML2"], path: "Sources/CFHIRXML"),
        // FHIR R4: primitives, generated models (Scripts/gen-fhir-models.py), JSON and XML, validator.
        .target(name: "FHIR", dependencies: ["CFHIRXML"], swiftSettings: strictSettings),
        // One screening: EHR record → features, results → the FHIR bundle; OsteoCT's profiles.
        // Quantitative CT: calibration (more steps land with issue 3).
        .target(name: "QCT", dependencies: ["Imaging"], swiftSettings: strictSettings),
        // Finite elements of the femur: voxel mesh, material laws, load cases, matrix-free solver.
        .target(name: "BoneFE", dependencies: ["Imaging"], swiftSettings: strictSettings),
        // The explanation page a clinician reads: HTML with inline SVG charts and pictures.
        .target(name: "Reports", dependencies: ["Screening", "RiskModel"], swiftSettings: strictSettings),
        // The CDS service: HTTP endpoints (CDS Hooks, FHIR, reports, health, metrics), the store and job
        // queue, JWT trust, the EHR and PACS clients.
        .target(
            name: "Service",
            dependencies: [
                "Screening", "RiskModel", "FHIR", "Reports", "DICOM",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strictSettings
        ),
        // A small in-memory FHIR server that plays the EHR in tests and the demo (`osteoct test-ehr`); not an EHR.
        .target(
            name: "TestEHR",
            dependencies: [
                "Service",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .target(name: "Screening", dependencies: ["FHIR", "RiskModel", "DICOM", "Imaging"], swiftSettings: strictSettings),
        .executableTarget(
            name: "osteoct",
            dependencies: [
                "Imaging", "DICOM", "Phantom", "QCT", "BoneFE", "Reports", "RiskModel", "FHIR", "Screening", "Service", "TestEHR",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
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
        .testTarget(name: "QCTTests", dependencies: ["QCT", "Phantom", "Imaging"], swiftSettings: strictSettings),
        .testTarget(name: "BoneFETests", dependencies: ["BoneFE", "Imaging"], swiftSettings: strictSettings),
        .testTarget(
            name: "ServiceTests",
            dependencies: [
                "Service", "Screening", "RiskModel", "FHIR", "TestEHR",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Screening", "RiskModel", "FHIR"], swiftSettings: strictSettings),
        .testTarget(name: "FHIRTests", dependencies: ["FHIR"], swiftSettings: strictSettings),
        .testTarget(name: "ScreeningTests", dependencies: ["Screening", "FHIR", "RiskModel"], swiftSettings: strictSettings),
        .testTarget(name: "OsteoctCLITests", dependencies: ["osteoct", "DICOM", "Imaging"], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
