// The phantom as a painter's list of layers: each layer is an implicit solid with a material, and a
// point belongs to the highest layer (latest in the list) whose solid contains it; air is underneath.
import Imaging

/// What a point of the phantom is made of.
struct TissueSample: Sendable, Equatable {
    /// Label id (PhantomLabel).
    var label: UInt8
    /// True attenuation (HU), before blur, noise and clipping.
    var hu: Double
    /// Mineral density, mg/cm³ K2HPO4-equivalent (QCT-apparent for bone; 0 for soft tissue).
    var density: Double
}

/// A layer's material: one tissue everywhere, or a tissue that depends on position (bone sub-regions,
/// density gradients).
enum Material: Sendable {
    case uniform(TissueSample)
    case field(@Sendable (Vec3) -> TissueSample)

    @inline(__always) func sample(_ p: Vec3) -> TissueSample {
        switch self {
        case .uniform(let t): return t
        case .field(let f): return f(p)
        }
    }
}

struct Layer: Sendable {
    let name: String
    let shape: Shape
    let material: Material
}

struct Scene: Sendable {
    /// Bottom (index 0) to top.
    let layers: [Layer]
    let background: TissueSample

    /// Tissue at a point: the topmost layer containing it (no partial volume).
    func classify(_ p: Vec3) -> TissueSample {
        var i = layers.count - 1
        while i >= 0 {
            let l = layers[i]
            if l.shape.bounds.contains(p) && l.shape.f(p) < 0 { return l.material.sample(p) }
            i -= 1
        }
        return background
    }
}

/// Collects layers in painting order while the anatomy is built.
struct SceneBuilder {
    private(set) var layers: [Layer] = []

    mutating func add(_ name: String, _ shape: Shape, _ t: TissueSample) {
        guard !shape.bounds.isEmpty else { return }
        layers.append(Layer(name: name, shape: shape, material: .uniform(t)))
    }
    mutating func add(_ name: String, _ shape: Shape, field: @escaping @Sendable (Vec3) -> TissueSample) {
        guard !shape.bounds.isEmpty else { return }
        layers.append(Layer(name: name, shape: shape, material: .field(field)))
    }
}
