import Foundation

/// A saved reference for `sockbench check`: per variant, the samples (one per repetition) of
/// every metric the report had. A plain, stable JSON file (sorted keys) meant to be committed,
/// so a pull request's diff shows when someone moved the baseline.
public struct Baseline: Codable, Sendable {
    public static let schemaName = "sockbench/baseline/v1"

    public var schema = Baseline.schemaName
    public var name: String
    /// UTC, ISO 8601: when the baseline was saved.
    public var savedAt: String
    /// When the report it came from was generated, and where it was read.
    public var reportGeneratedAt: String
    public var source: String
    public var tool: Report.ToolInfo
    public var scenario: ScenarioRecord
    public var environment: EnvironmentInfo
    public var variants: [Variant]

    public struct Variant: Codable, Sendable {
        public var name: String
        /// Metric name to its samples, in run order.
        public var samples: [String: [Double]]
    }

    public init(name: String, report: Report, source: String, savedAt: Date = Date()) {
        self.name = name
        self.savedAt = ISO8601DateFormatter().string(from: savedAt)
        reportGeneratedAt = report.generatedAt
        self.source = source
        tool = report.tool
        scenario = report.scenario
        environment = report.environment
        variants = RunResult.byVariant(report.runs).map { variant, runs in
            var samples: [String: [Double]] = [:]
            // Named steps' figures too (`steps.get.p99`), so `check` can compare each step.
            for metric in ReportMetric.catalogue + ReportMetric.stepMetrics(RunResult.stepNames(runs)) {
                let values = runs.compactMap(metric.value)
                if !values.isEmpty { samples[metric.name] = values }
            }
            return Variant(name: variant, samples: samples)
        }
    }

    /// A baseline file, or a report.json (or a folder holding one) used as a baseline directly.
    public static func load(_ path: String) throws(CheckError) -> Baseline {
        let data = try CheckError.read(path)
        let schema = (try? JSONDecoder().decode(SchemaProbe.self, from: data))?.schema
        switch schema {
        case schemaName:
            do {
                return try JSONDecoder.snakeCase.decode(Baseline.self, from: data)
            } catch {
                throw CheckError("\(path) is not a valid sockbench baseline: \(CheckError.describe(error))")
            }
        case Report.schemaName:
            return Baseline(name: path, report: try ReportFile.decode(data, from: path), source: path)
        default:
            throw CheckError("\(path) is neither a sockbench baseline (\(schemaName)) nor a report (\(Report.schemaName))"
                + (schema.map { "; its schema is \($0)" } ?? ""))
        }
    }

    struct SchemaProbe: Decodable { var schema: String }

    /// `baselines/NAME.json` for a bare name; a path (with a slash or `.json`) as it is.
    public static func path(for nameOrFile: String, directory: String = "baselines") -> String {
        nameOrFile.contains("/") || nameOrFile.hasSuffix(".json") ? nameOrFile : "\(directory)/\(nameOrFile).json"
    }

    /// Names that are safe as a file name: letters, digits, `-`, `_`, `.`, not starting with a dot.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 100 && !name.hasPrefix(".")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }
}

/// Reads saved reports for `compare`, `check` and `baseline save`.
public enum ReportFile {
    /// A report.json, or a run's folder that holds one.
    public static func load(_ path: String) throws(CheckError) -> Report {
        var isDirectory: ObjCBool = false
        let file = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
            ? path + "/report.json" : path
        return try decode(try CheckError.read(file), from: file)
    }

    public static func decode(_ data: Data, from file: String) throws(CheckError) -> Report {
        let schema = (try? JSONDecoder().decode(Baseline.SchemaProbe.self, from: data))?.schema
        guard schema == Report.schemaName else {
            throw CheckError("\(file) is not a sockbench report: expected schema \(Report.schemaName), found \(schema ?? "none")")
        }
        do {
            return try JSONDecoder.snakeCase.decode(Report.self, from: data)
        } catch {
            throw CheckError("\(file) is not a valid sockbench report: \(CheckError.describe(error))")
        }
    }
}

/// Why `compare`, `check` or `baseline` cannot go on (exit code 1): one sentence naming the file.
public struct CheckError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    static func read(_ path: String) throws(CheckError) -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckError("cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied or a folder" : "no such file")")
        }
        return data
    }

    /// A decoding error as the JSON key path and what was wrong.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing \(path(context)).\(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            // Foundation names no key when a number does not fit its field (a count past UInt64, or negative).
            guard !context.codingPath.isEmpty else {
                return "\(context.debugDescription.trimmingSuffix(".")) (or it holds a number out of range for its field, such as a count above \(UInt64.max) or below 0)"
            }
            return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

private extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
