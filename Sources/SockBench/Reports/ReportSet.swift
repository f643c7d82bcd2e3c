/// Several saved reports of one scenario, set side by side by `sockbench compare`.
public enum ReportSet {
    /// Each report is one column (the first the baseline); each variant the reports share is a group.
    public static func comparison(of paths: [String], metrics: [String] = Comparison.defaultMetrics) throws(CheckError) -> Comparison {
        var reports: [Report] = []
        for path in paths { reports.append(try ReportFile.load(path)) }
        for (index, report) in reports.enumerated().dropFirst() {
            let problems = ReportCompatibility.problems(reports[0].scenario, report.scenario)
            guard problems.isEmpty else {
                throw CheckError("cannot compare \(paths[0]) with \(paths[index]): they measured different workloads (\(problems.joined(separator: "; ")))")
            }
        }
        let variantSets = reports.map { RunResult.byVariant($0.runs).map(\.name) }
        let shared = variantSets[0].filter { name in variantSets.allSatisfy { $0.contains(name) } }
        guard !shared.isEmpty else {
            throw CheckError("cannot compare: the reports share no variant (\(zip(paths, variantSets).map { "\($0): \($1.joined(separator: "; "))" }.joined(separator: " / ")))")
        }
        let labels = labels(for: paths)
        var entries: [Comparison.Entry] = []
        for variant in shared {
            for (index, report) in reports.enumerated() {
                entries.append(Comparison.Entry(group: variant == "default" ? "" : variant, label: labels[index],
                                                runs: report.runs.filter { $0.variant == variant }))
            }
        }
        return Comparison(compared: "report", entries: entries, metrics: metrics)
    }

    /// Short, distinct column names: the run folder's name when those differ, else the whole path.
    static func labels(for paths: [String]) -> [String] {
        let trimmed = paths.map { path in
            var folder = path.hasSuffix("/report.json") ? String(path.dropLast("/report.json".count)) : path
            while folder.hasSuffix("/") { folder.removeLast() }
            return folder
        }
        let short = trimmed.map { $0.split(separator: "/").suffix(2).joined(separator: "/") }
        let chosen = Set(short).count == short.count ? short : trimmed
        return Set(chosen).count == chosen.count ? chosen : chosen.enumerated().map { "#\($0 + 1) \($1)" }
    }
}
