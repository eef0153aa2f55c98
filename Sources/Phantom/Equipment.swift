// Things that are not the patient: the CT couch and the calibration phantom under the patient.
// Geometry is assumed (no source needed: only the rods' concentrations carry truth).
import Imaging

struct CalibrationRod: Sendable {
    let index: Int
    /// Rod axis runs along z through (x, y).
    let center: Vec3
    let radius: Double
    let concentration: Double
}

struct EquipmentModel: Sendable {
    let phantomTopY: Double
    let phantomThickness: Double
    let tableTopY: Double
    let rods: [CalibrationRod]
    let hasPhantom: Bool

    /// Couch: a curved slab (radius 1000 mm, 40 mm thick, ±210 mm wide) with 2 mm carbon-fibre skins.
    static let tableRadius = 1000.0
    static let tableThickness = 40.0
    static let tableHalfWidth = 210.0
    static let tableSkin = 2.0
    /// Calibration pad: 30 mm resin, ±160 mm wide; rods Ø 18 mm in 1.5 mm PMMA tubes (assumed).
    static let padThickness = 30.0
    static let padHalfWidth = 160.0
    static let rodRadius = 9.0
    static let tubeWall = 1.5

    init(calibrationPhantom: Bool, concentrations: [Double]) {
        hasPhantom = calibrationPhantom
        phantomTopY = BodyModel.tableContactY
        phantomThickness = calibrationPhantom ? EquipmentModel.padThickness : 0
        tableTopY = BodyModel.tableContactY + phantomThickness
        var rods: [CalibrationRod] = []
        if calibrationPhantom {
            let n = concentrations.count
            let span = 2 * (EquipmentModel.padHalfWidth - 30)
            for (i, c) in concentrations.enumerated() {
                // Rods spread evenly, patient's right (−x) to left.
                let x = n == 1 ? 0 : -span / 2 + span * Double(i) / Double(n - 1)
                rods.append(CalibrationRod(index: i, center: Vec3(x, phantomTopY + EquipmentModel.padThickness / 2, 0),
                                           radius: EquipmentModel.rodRadius, concentration: c))
            }
        }
        self.rods = rods
    }

    func layers(into b: inout SceneBuilder, tissues: TissueTable) {
        let top = tableTopY, R = EquipmentModel.tableRadius, T = EquipmentModel.tableThickness
        let hw = EquipmentModel.tableHalfWidth
        // Height above the table surface; the surface rises toward the edges (concave couch).
        // |∂/∂x| ≤ hw/R ≈ 0.21, so dividing by √(1 + 0.21²) keeps the function 1-Lipschitz.
        let k = 1 / (1 + (hw / R) * (hw / R)).squareRoot()
        func slab(_ inset: Double) -> Shape {
            Shape(bounds: Box(lo: Vec3(-hw, top - 30, -2000), hi: Vec3(hw, top + T + 1, 2000))) { p in
                let surf = top - p.x * p.x / (2 * R)
                let t = (p.y - surf) * k
                return max(abs(t - T / 2) - (T / 2 - inset), abs(p.x) - (hw - inset))
            }
        }
        b.add("table_shell", slab(0), tissues.tableShell)
        b.add("table_foam", slab(EquipmentModel.tableSkin), tissues.tableFoam)
        guard hasPhantom else { return }
        let py = phantomTopY
        b.add("calibration_resin",
              Shape.orientedBox(Frame.axisAligned(Vec3(0, py + EquipmentModel.padThickness / 2, 0)),
                                half: Vec3(EquipmentModel.padHalfWidth, EquipmentModel.padThickness / 2 - 0.01, 2000), round: 4),
              tissues.resin)
        for rod in rods {
            let c = rod.center
            func cylinder(_ r: Double) -> Shape {
                Shape(bounds: Box(lo: Vec3(c.x - r, c.y - r, -2000), hi: Vec3(c.x + r, c.y + r, 2000))) { p in
                    ((p.x - c.x) * (p.x - c.x) + (p.y - c.y) * (p.y - c.y)).squareRoot() - r
                }
            }
            b.add("calibration_tube_\(rod.index)", cylinder(rod.radius + EquipmentModel.tubeWall), tissues.tubeWall)
            b.add("calibration_rod_\(rod.index)", cylinder(rod.radius), tissues.rod(rod.index, concentration: rod.concentration))
        }
    }
}
