import Foundation

/// A shard report as one line of a pod's log (`run --report-line`): where a Kubernetes Job leaves
/// nothing else to collect, `kubectl logs` of every pod, saved to a file, is what `merge` reads.
public enum ReportLine {
    public static let marker = "sockbench-report "

    /// The report as JSON on one line, after the marker.
    public static func render(_ report: Report) throws(DistributedError) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return marker + String(decoding: try encoder.encode(report), as: UTF8.self)
        } catch {
            throw DistributedError("cannot encode the report: \(error)")
        }
    }

    /// Every report line in a log (a line may carry a prefix, as `kubectl logs --prefix` adds);
    /// each named `FILE:LINE`. Empty when the text holds none.
    public static func reports(inLog text: String, file: String) throws(DistributedError) -> [(path: String, report: Report)] {
        var found: [(path: String, report: Report)] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard let range = line.range(of: marker + "{") else { continue }
            let json = line[line.index(range.upperBound, offsetBy: -1)...]
            let place = "\(file):\(number + 1)"
            do {
                found.append((place, try ReportFile.decode(Data(json.utf8), from: place)))
            } catch {
                throw DistributedError(error.message)
            }
        }
        return found
    }
}
