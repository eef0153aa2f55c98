/// Finding the one stack a command should work on.
public enum StackLookup {
    /// Which stack: by Series Instance UID, by series number, or the hip-analysis choice ("hip").
    /// With no selector the input must hold exactly one volume.
    public static func find(in scan: ScanResult, selector: String?) throws(DICOMError) -> ImageStack {
        var all: [(ImageStack, String)] = []
        var problems: [String] = []
        var hipChoices: [(ImageStack, String)] = []
        for study in scan.studies {
            if selector == "hip" {
                let (choice, considered) = SeriesSelection.choose(study)
                if let choice {
                    hipChoices.append((choice.stack, "study \(study.studyInstanceUID) (\(study.studyDate ?? "no date")): \(SeriesSelection.describe(choice.stack.series, choice.stack))"))
                } else {
                    problems += considered.map { "\($0.description): \($0.eligibility.problems.joined(separator: "; "))" }
                }
                continue
            }
            for series in study.series {
                if let selector, series.seriesInstanceUID != selector, series.seriesNumber.map(String.init) != selector {
                    continue
                }
                do {
                    for stack in try VolumeAssembly.stacks(of: series) {
                        all.append((stack, SeriesSelection.describe(series, stack) + " \(series.seriesInstanceUID)"))
                    }
                } catch {
                    problems.append(error.description)
                }
            }
        }
        if selector == "hip" {
            if hipChoices.count == 1 { return hipChoices[0].0 }
            if hipChoices.count > 1 {
                // Several studies (a prior and a current exam): never pick one silently.
                throw .series(
                    reason: "the input holds \(hipChoices.count) studies with a series eligible for hip analysis; pass one study:\n  "
                        + hipChoices.map(\.1).joined(separator: "\n  "))
            }
            throw .series(reason: "no series is eligible for hip analysis:\n  " + problems.joined(separator: "\n  "))
        }
        if all.count == 1 { return all[0].0 }
        if all.isEmpty {
            if let selector {
                throw .series(reason: "no series matches '\(selector)' (give a Series Instance UID or series number; `osteoct inspect` lists them)"
                    + (problems.isEmpty ? "" : ":\n  " + problems.joined(separator: "\n  ")))
            }
            let unread = scan.unreadable.prefix(3).map { "\($0.path): \($0.reason)" }
            throw .series(reason: "no image volume found" + (problems + unread).map { "\n  " + $0 }.joined())
        }
        throw .series(
            reason: "the input holds \(all.count) volumes; choose one with --series (UID, number, or 'hip' for the hip-analysis choice):\n  "
                + all.map { "\($0.1): \($0.0.frames.count) images" }.joined(separator: "\n  "))
    }
}
