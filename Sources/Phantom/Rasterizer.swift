// Scene → voxels: each voxel's mean HU and mineral density over its box (partial volume), and the label
// of the tissue at its centre.
//
// Work is split by slice: slice k goes to chunk k mod 16 (a fixed partition, so results never depend on the
// number of threads); each chunk builds its own copy of the scene. Within a slice, 16×16 tiles are
// subdivided recursively; at every node each candidate layer is
// evaluated once at the node centre and, because every shape function is 1-Lipschitz, a layer whose
// |f| exceeds the node's half-diagonal either covers the whole node or misses it. Nodes with no surface
// left are filled directly; voxels that still contain surfaces get their mean from the planar model
// (PartialVolume.swift), after an optional split into sub-boxes for coarse voxels.
import Dispatch
import Imaging

/// Per-label sums over voxels (label taken at the voxel centre).
struct LabelSums: Sendable {
    var count = [Int](repeating: 0, count: 256)
    var sumHU = [Double](repeating: 0, count: 256)
    var sumDensity = [Double](repeating: 0, count: 256)

    mutating func add(_ o: LabelSums) {
        for i in 0..<256 {
            count[i] += o.count[i]
            sumHU[i] += o.sumHU[i]
            sumDensity[i] += o.sumDensity[i]
        }
    }
}

/// Raw pointer shared by workers that write disjoint parts.
struct SharedPointer<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
}

struct RasterGrid: Sendable {
    let nx: Int, ny: Int, nz: Int
    /// Centre of voxel (0, 0, 0), LPS mm (direction is the identity).
    let origin: Vec3
    let dx: Double, dy: Double, dz: Double
    /// Extent of the box each voxel averages over along z (the slice thickness).
    let boxZ: Double

    func centre(_ i: Int, _ j: Int, _ k: Int) -> Vec3 {
        Vec3(origin.x + Double(i) * dx, origin.y + Double(j) * dy, origin.z + Double(k) * dz)
    }
}

struct Rasterizer: Sendable {
    /// Builds a private copy of the scene for each work chunk: the same geometry, but closure contexts
    /// of its own, so that threads never share reference counts (which dominate unoptimised builds).
    let makeScene: @Sendable () -> Scene
    let grid: RasterGrid
    /// Sub-boxes per voxel along x, y, z for voxels that contain surfaces.
    let sub: (Int, Int, Int)
    /// Lines per transverse axis in the several-surfaces rule.
    let lines: Int
    /// Whether a voxel centre lies inside the reconstruction field of view.
    let insideFOV: @Sendable (Double, Double) -> Bool
    let paddingLabel: UInt8
    let paddingHU: Double

    static let tile = 16
    static let chunkCount = 16
    /// Forward-difference step for surface normals, mm.
    static let fdStep = 1e-3

    /// Fills `hu` (true HU, partial volume, before blur) and `labels`; returns per-slice label sums.
    func run(hu: SharedPointer<Float>, labels: SharedPointer<UInt8>) -> LabelSums {
        let nz = grid.nz
        let sums = UnsafeMutablePointer<LabelSums>.allocate(capacity: nz)
        sums.initialize(repeating: LabelSums(), count: nz)
        let shared = SharedPointer(p: sums)
        let me = self
        // A fixed partition (slice k goes to chunk k mod C), independent of the number of threads.
        let chunks = min(nz, Rasterizer.chunkCount)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let w = Worker(r: me, scene: me.makeScene(), hu: hu.p, labels: labels.p)
            defer { w.release() }
            for k in stride(from: c, to: nz, by: chunks) {
                shared.p[k] = me.slice(k, worker: w)
            }
        }
        var total = LabelSums()
        for k in 0..<nz { total.add(sums[k]) }
        sums.deinitialize(count: nz)
        sums.deallocate()
        return total
    }

    private func slice(_ k: Int, worker w: Worker) -> LabelSums {
        w.start(slice: k)
        // Layers touching this slab.
        let zc = w.zc
        let slab = Box(lo: Vec3(-1e9, -1e9, zc - grid.boxZ / 2), hi: Vec3(1e9, 1e9, zc + grid.boxZ / 2))
        var slabLayers: [Int32] = []
        for i in 0..<w.layerCount where w.layers[i].shape.bounds.intersects(slab) { slabLayers.append(Int32(i)) }
        let t = Rasterizer.tile
        var j0 = 0
        while j0 < grid.ny {
            let j1 = min(grid.ny, j0 + t)
            var i0 = 0
            while i0 < grid.nx {
                let i1 = min(grid.nx, i0 + t)
                let box = w.nodeBox(i0, i1, j0, j1)
                var n = 0
                for li in slabLayers where w.layers[Int(li)].shape.bounds.intersects(box) {
                    w.stack[n] = li
                    n += 1
                }
                w.node(i0, i1, j0, j1, candStart: 0, candCount: n, base: -1)
                i0 = i1
            }
            j0 = j1
        }
        return w.sums
    }

    /// One chunk's working state (reused slice after slice). A class, and layers in a raw buffer, so that unoptimised builds
    /// do not copy (and reference-count) the scene on every call.
    final class Worker {
        let r: Rasterizer
        let grid: RasterGrid
        let layers: UnsafeMutablePointer<Layer>
        let layerCount: Int
        let background: TissueSample
        var k = 0
        let hu: UnsafeMutablePointer<Float>
        let labels: UnsafeMutablePointer<UInt8>
        /// Per-label count, ΣHU, Σdensity for the current slice (raw, to keep the inner loop cheap).
        let counts: UnsafeMutablePointer<Int>
        let sumHU: UnsafeMutablePointer<Double>
        let sumDen: UnsafeMutablePointer<Double>
        let stack: UnsafeMutablePointer<Int32>
        let fvals: UnsafeMutablePointer<Double>
        var planes = PlaneSet()
        var zc = 0.0
        static let stackCapacity = 1 << 16

        init(r: Rasterizer, scene: Scene, hu: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<UInt8>) {
            self.r = r
            grid = r.grid
            layerCount = scene.layers.count
            layers = .allocate(capacity: max(1, layerCount))
            layers.initialize(from: scene.layers, count: layerCount)
            background = scene.background; self.hu = hu; self.labels = labels
            stack = .allocate(capacity: Worker.stackCapacity)
            fvals = .allocate(capacity: Worker.stackCapacity)
            counts = .allocate(capacity: 256)
            sumHU = .allocate(capacity: 256)
            sumDen = .allocate(capacity: 256)
        }
        func start(slice: Int) {
            k = slice
            zc = grid.origin.z + Double(k) * grid.dz
            counts.initialize(repeating: 0, count: 256)
            sumHU.initialize(repeating: 0, count: 256)
            sumDen.initialize(repeating: 0, count: 256)
        }

        var sums: LabelSums {
            var s = LabelSums()
            for i in 0..<256 { s.count[i] = counts[i]; s.sumHU[i] = sumHU[i]; s.sumDensity[i] = sumDen[i] }
            return s
        }

        func release() {
            stack.deallocate(); fvals.deallocate(); planes.free()
            counts.deallocate(); sumHU.deallocate(); sumDen.deallocate()
            layers.deinitialize(count: layerCount)
            layers.deallocate()
        }

        func nodeBox(_ i0: Int, _ i1: Int, _ j0: Int, _ j1: Int) -> Box {
            let g = grid
            return Box(lo: Vec3(g.origin.x + (Double(i0) - 0.5) * g.dx, g.origin.y + (Double(j0) - 0.5) * g.dy, zc - g.boxZ / 2),
                       hi: Vec3(g.origin.x + (Double(i1) - 0.5) * g.dx, g.origin.y + (Double(j1) - 0.5) * g.dy, zc + g.boxZ / 2))
        }

        /// Culls the candidates at stack[candStart ..< candStart+candCount] (ascending priority) against
        /// the node; writes the surviving (uncertain) ones right after, in ascending order.
        func node(_ i0: Int, _ i1: Int, _ j0: Int, _ j1: Int, candStart: Int, candCount: Int, base: Int) {
            let g = grid
            let box = nodeBox(i0, i1, j0, j1)
            let c = Vec3((box.lo.x + box.hi.x) / 2, (box.lo.y + box.hi.y) / 2, zc)
            let hx = (box.hi.x - box.lo.x) / 2, hy = (box.hi.y - box.lo.y) / 2, hz = g.boxZ / 2
            let radius = (hx * hx + hy * hy + hz * hz).squareRoot()
            var newBase = base
            // Scan from the top; stop at the first layer that covers the node.
            let outStart = candStart + candCount
            var nUnc = 0
            var idx = candCount - 1
            while idx >= 0 {
                let li = Int(stack[candStart + idx])
                let layer = layers[li]
                if layer.shape.bounds.intersects(box) {
                    let f = layer.shape.f(c)
                    if f < -radius { newBase = li; break }
                    if f <= radius {
                        // Store in descending order for now.
                        stack[outStart + nUnc] = Int32(li)
                        fvals[outStart + nUnc] = f
                        nUnc += 1
                    }
                }
                idx -= 1
            }
            // Reverse to ascending priority.
            var a = 0, b = nUnc - 1
            while a < b {
                let t = stack[outStart + a]; stack[outStart + a] = stack[outStart + b]; stack[outStart + b] = t
                let tf = fvals[outStart + a]; fvals[outStart + a] = fvals[outStart + b]; fvals[outStart + b] = tf
                a += 1; b -= 1
            }
            if nUnc == 0 {
                fill(i0, i1, j0, j1, base: newBase)
                return
            }
            if i1 - i0 == 1 && j1 - j0 == 1 {
                voxel(i0, j0, c: c, uncStart: outStart, uncCount: nUnc, base: newBase)
                return
            }
            if i1 - i0 >= j1 - j0 {
                let im = (i0 + i1) / 2
                node(i0, im, j0, j1, candStart: outStart, candCount: nUnc, base: newBase)
                node(im, i1, j0, j1, candStart: outStart, candCount: nUnc, base: newBase)
            } else {
                let jm = (j0 + j1) / 2
                node(i0, i1, j0, jm, candStart: outStart, candCount: nUnc, base: newBase)
                node(i0, i1, jm, j1, candStart: outStart, candCount: nUnc, base: newBase)
            }
        }

        @inline(__always) func material(_ li: Int, _ p: Vec3) -> TissueSample {
            li < 0 ? background : layers[li].material.sample(p)
        }

        func store(_ i: Int, _ j: Int, hu h: Double, density: Double, label: UInt8) {
            let g = grid
            let lin = i + g.nx * (j + g.ny * k)
            hu[lin] = Float(h)
            let inside = r.insideFOV(g.origin.x + Double(i) * g.dx, g.origin.y + Double(j) * g.dy)
            let lab = inside ? label : r.paddingLabel
            labels[lin] = lab
            let li = Int(lab)
            counts[li] += 1
            if inside {
                sumHU[li] += h
                sumDen[li] += density
            } else {
                sumHU[li] += r.paddingHU
            }
        }

        func fill(_ i0: Int, _ i1: Int, _ j0: Int, _ j1: Int, base: Int) {
            let g = grid
            if base >= 0, case .field = layers[base].material {
                for j in j0..<j1 {
                    for i in i0..<i1 {
                        let t = material(base, g.centre(i, j, k))
                        store(i, j, hu: t.hu, density: t.density, label: t.label)
                    }
                }
            } else {
                let t = material(base, Vec3(0, 0, 0))
                for j in j0..<j1 {
                    for i in i0..<i1 { store(i, j, hu: t.hu, density: t.density, label: t.label) }
                }
            }
        }

        /// A voxel still crossed by surfaces: label at the centre, mean over the box.
        func voxel(_ i: Int, _ j: Int, c: Vec3, uncStart: Int, uncCount: Int, base: Int) {
            // Label: topmost uncertain layer containing the centre, else the base.
            var top = base
            var u = uncCount - 1
            while u >= 0 {
                if fvals[uncStart + u] < 0 { top = Int(stack[uncStart + u]); break }
                u -= 1
            }
            let label = material(top, c).label
            let g = grid
            let (sx, sy, sz) = r.sub
            var h = 0.0, d = 0.0
            // One surface: its planar model over the whole voxel. Several: split coarse voxels first.
            if sx * sy * sz == 1 || uncCount == 1 {
                (h, d) = leaf(c: c, wx: g.dx, wy: g.dy, wz: g.boxZ, uncStart: uncStart, uncCount: uncCount,
                              base: base)
            } else {
                let wx = g.dx / Double(sx), wy = g.dy / Double(sy), wz = g.boxZ / Double(sz)
                for a in 0..<sx {
                    for b in 0..<sy {
                        for e in 0..<sz {
                            let p = Vec3(c.x + (Double(a) + 0.5) * wx - g.dx / 2,
                                         c.y + (Double(b) + 0.5) * wy - g.dy / 2,
                                         c.z + (Double(e) + 0.5) * wz - g.boxZ / 2)
                            let (hh, dd) = subBox(p: p, wx: wx, wy: wy, wz: wz, uncStart: uncStart,
                                                  uncCount: uncCount, base: base)
                            h += hh; d += dd
                        }
                    }
                }
                let n = Double(sx * sy * sz)
                h /= n; d /= n
            }
            store(i, j, hu: h, density: d, label: label)
        }

        /// A sub-box of a voxel: cull again, then the planar model.
        func subBox(p: Vec3, wx: Double, wy: Double, wz: Double, uncStart: Int, uncCount: Int, base: Int) -> (Double, Double) {
            let radius = 0.5 * (wx * wx + wy * wy + wz * wz).squareRoot()
            let outStart = uncStart + uncCount
            var n = 0
            var newBase = base
            var idx = uncCount - 1
            while idx >= 0 {
                let li = Int(stack[uncStart + idx])
                let f = layers[li].shape.f(p)
                if f < -radius { newBase = li; break }
                if f <= radius {
                    stack[outStart + n] = Int32(li)
                    fvals[outStart + n] = f
                    n += 1
                }
                idx -= 1
            }
            if n == 0 {
                let t = material(newBase, p)
                return (t.hu, t.density)
            }
            // Back to ascending order.
            var a = 0, b = n - 1
            while a < b {
                let t = stack[outStart + a]; stack[outStart + a] = stack[outStart + b]; stack[outStart + b] = t
                let tf = fvals[outStart + a]; fvals[outStart + a] = fvals[outStart + b]; fvals[outStart + b] = tf
                a += 1; b -= 1
            }
            return leaf(c: p, wx: wx, wy: wy, wz: wz, uncStart: outStart, uncCount: n, base: newBase)
        }

        /// Mean over a box with the planar model of each uncertain surface (values in fvals are f at c).
        func leaf(c: Vec3, wx: Double, wy: Double, wz: Double, uncStart: Int, uncCount: Int, base: Int) -> (Double, Double) {
            let bt = material(base, c)
            let hstep = Rasterizer.fdStep
            let nUse = min(uncCount, PlaneSet.capacity)
            planes.count = 0
            // Planes ordered top first.
            var u = uncCount - 1
            while u >= uncCount - nUse {
                let li = Int(stack[uncStart + u])
                let shape = layers[li].shape
                let f0 = fvals[uncStart + u]
                let gx = (shape.f(Vec3(c.x + hstep, c.y, c.z)) - f0) / hstep
                let gy = (shape.f(Vec3(c.x, c.y + hstep, c.z)) - f0) / hstep
                let gz = (shape.f(Vec3(c.x, c.y, c.z + hstep)) - f0) / hstep
                let gl = (gx * gx + gy * gy + gz * gz).squareRoot()
                let t = material(li, c)
                let m = planes.count
                if gl > 1e-6 {
                    planes.d[m] = f0 / gl
                    planes.n0[m] = gx / gl; planes.n1[m] = gy / gl; planes.n2[m] = gz / gl
                } else {
                    // Flat function (a medial point): treat as a point sample at the centre.
                    planes.d[m] = f0 < 0 ? -1e9 : 1e9
                    planes.n0[m] = 1; planes.n1[m] = 0; planes.n2[m] = 0
                }
                planes.hu[m] = t.hu
                planes.den[m] = t.density
                planes.count += 1
                u -= 1
            }
            if planes.count == 1 {
                let a = boxFractionInside(d: planes.d[0], nx: planes.n0[0], ny: planes.n1[0], nz: planes.n2[0],
                                          wx: wx, wy: wy, wz: wz)
                return (a * planes.hu[0] + (1 - a) * bt.hu, a * planes.den[0] + (1 - a) * bt.density)
            }
            return planes.paintedMean(wx: wx, wy: wy, wz: wz, baseHU: bt.hu, baseDen: bt.density, lines: r.lines)
        }
    }
}
