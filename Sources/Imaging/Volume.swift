/// Size of a voxel grid (number of voxels along i, j, k).
public struct Dim3: Hashable, Sendable, Codable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var z: Int

    public init(_ x: Int, _ y: Int, _ z: Int) {
        self.x = x; self.y = y; self.z = z
    }

    /// Number of voxels, or nil if it overflows `Int`.
    public var count: Int? {
        let (xy, o1) = x.multipliedReportingOverflow(by: y)
        let (xyz, o2) = xy.multipliedReportingOverflow(by: z)
        return o1 || o2 ? nil : xyz
    }

    public var description: String { "\(x)×\(y)×\(z)" }
}

/// A 3D image: voxels stored x-fastest (then y, then z) with its place in patient space.
///
/// CT volumes hold HU as `Int16`; label maps `UInt8`.
public struct Volume<Voxel: Sendable>: Sendable {
    public let size: Dim3
    public var geometry: VolumeGeometry
    /// `size.x * size.y * size.z` voxels, index `x + size.x * (y + size.y * z)`.
    public var voxels: [Voxel]

    /// Creates a volume from existing voxels; the count must match the size.
    public init(size: Dim3, geometry: VolumeGeometry, voxels: [Voxel]) throws(ImagingError) {
        guard size.x > 0, size.y > 0, size.z > 0, let n = size.count else {
            throw .invalidSize(size)
        }
        guard voxels.count == n else {
            throw .voxelCountMismatch(expected: n, got: voxels.count)
        }
        self.size = size
        self.geometry = geometry
        self.voxels = voxels
    }

    /// A volume filled with one value. Sizes above `ImagingLimits.maxVoxels` are refused before allocating.
    public init(size: Dim3, geometry: VolumeGeometry, filling value: Voxel) throws(ImagingError) {
        guard size.x > 0, size.y > 0, size.z > 0, let n = size.count else {
            throw .invalidSize(size)
        }
        guard n <= ImagingLimits.maxVoxels else { throw .tooLarge(size, limit: ImagingLimits.maxVoxels) }
        self.size = size
        self.geometry = geometry
        self.voxels = Array(repeating: value, count: n)
    }

    @inline(__always)
    public func linearIndex(_ x: Int, _ y: Int, _ z: Int) -> Int { x + size.x * (y + size.y * z) }

    public subscript(x: Int, y: Int, z: Int) -> Voxel {
        get { voxels[linearIndex(x, y, z)] }
        set { voxels[linearIndex(x, y, z)] = newValue }
    }

    public func contains(_ x: Int, _ y: Int, _ z: Int) -> Bool {
        x >= 0 && y >= 0 && z >= 0 && x < size.x && y < size.y && z < size.z
    }

    /// Same grid, new voxel values computed per voxel.
    public func map<T: Sendable>(_ transform: (Voxel) throws -> T) rethrows -> Volume<T> {
        Volume<T>(unchecked: size, geometry, try voxels.map(transform))
    }

    /// Internal initializer for already-validated sizes.
    init(unchecked size: Dim3, _ geometry: VolumeGeometry, _ voxels: [Voxel]) {
        self.size = size
        self.geometry = geometry
        self.voxels = voxels
    }
}

/// Hard limits checked before any allocation driven by outside input.
public enum ImagingLimits {
    /// 2^31 voxels: a 1024×1024×2048 volume; far above any clinical CT series.
    public static let maxVoxels = 1 << 31
}

/// Errors of the Imaging module; each says what was wrong and what to do.
public enum ImagingError: Error, Equatable, CustomStringConvertible {
    case invalidSize(Dim3)
    case tooLarge(Dim3, limit: Int)
    case voxelCountMismatch(expected: Int, got: Int)
    case io(path: String, reason: String)
    case nifti(path: String, reason: String)
    case gzip(path: String, reason: String)
    case png(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidSize(let s):
            return "invalid volume size \(s): every dimension must be at least 1"
        case .tooLarge(let s, let limit):
            return "volume \(s) exceeds the limit of \(limit) voxels; crop or downsample the input"
        case .voxelCountMismatch(let e, let g):
            return "voxel count \(g) does not match the volume size (\(e) expected)"
        case .io(let p, let r):
            return "\(p): \(r)"
        case .nifti(let p, let r):
            return "\(p): not a usable NIfTI file: \(r)"
        case .gzip(let p, let r):
            return "\(p): gzip error: \(r)"
        case .png(let p, let r):
            return "\(p): PNG error: \(r)"
        }
    }
}
