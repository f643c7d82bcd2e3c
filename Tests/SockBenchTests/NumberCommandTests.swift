import Foundation
import Testing
@testable import SockBench

/// The commands that read numbers from files and flags, run as a user would: `compare`, `check`
/// and `baseline save` on reports whose figures are 9.3e18, UInt64.max, 1e308 or "infinite"
/// (1e999), and the flags of `run`, `serve` and `proxy` at their limits. Each ends with a result
/// or one clean error line, never a trap.
@Suite("numbers: compare, check, baseline and flags on extreme values", .serialized)
struct NumberCommandTests {
    /// Figures with a recognisable text in report.json, replaced by the extreme ones below.
    static let rateMarker = "12345.25", latencyMarker = "987654321", errorMarker = "424242"

    /// A report of 5 repetitions, as report.json text.
    static func reportText() throws -> String {
        let runs = (1...5).map { index in
            var run = SyntheticRuns.run(repetition: index, messagesPerSecond: 12_345.25, latencyNs: 500_000)
            run.latencyNs.p99 = 987_654_321
            run.errors.reset = 424_242
            return run
        }
        let text = String(decoding: try JSONEncoder.snakeCase.encode(SyntheticRuns.report(runs)), as: UTF8.self)
        #expect(text.components(separatedBy: rateMarker).count == 6 && text.components(separatedBy: latencyMarker).count == 6)
        #expect(text.components(separatedBy: ": \(errorMarker)").count + text.components(separatedBy: ":\(errorMarker)").count > 5)
        return text
    }

    /// A status the command documents (0 ok, 1 bad input, 2 regression), and at most one line of error.
    static func expectClean(_ result: TestSupport.CommandResult, _ what: String) {
        #expect([0, 1, 2].contains(result.status), "\(what): status \(result.status)\n\(result.stderr)")
        let errors = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("sockbench: warning:") }
        #expect(errors.count <= 1, "\(what): one error line at most:\n\(result.stderr)")
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"), "\(what): \(result.stderr)")
    }

    @Test("compare, check and baseline save on figures of 9.3e18, UInt64.max, 2^64, 1e308, 1e999, -1: a result or one clean error")
    func extremeReports() throws {
        let directory = TestSupport.temporaryDirectory()
        let text = try Self.reportText()
        let base = directory + "/base.json"
        try text.write(toFile: base, atomically: true, encoding: .utf8)
        var results: [Int32] = []
        for (index, extreme) in ["9300000000000000000", "18446744073709551615", "18446744073709551616", "1e308", "-1e308", "1e999", "-1", "9.3e18"].enumerated() {
            // The throughput (a Double in the report) alone, then the counts (UInt64) alone.
            let doubles = text.replacingOccurrences(of: Self.rateMarker, with: extreme)
            let counts = text.replacingOccurrences(of: Self.latencyMarker, with: extreme)
                .replacingOccurrences(of: ": \(Self.errorMarker)", with: ": \(extreme)").replacingOccurrences(of: ":\(Self.errorMarker)", with: ":\(extreme)")
            for (kind, body) in [("doubles", doubles), ("counts", counts)] {
                let file = directory + "/extreme-\(index)-\(kind).json"
                try body.write(toFile: file, atomically: true, encoding: .utf8)
                let what = "\(extreme) in the \(kind)"
                for arguments in [["compare", base, file], ["check", file, "--baseline", base], ["check", base, "--baseline", file],
                                  ["baseline", "save", file, "--name", "x\(index)\(kind)", "--dir", directory + "/baselines"]] {
                    let result = try TestSupport.sockbench(arguments, timeout: 30)
                    Self.expectClean(result, "\(arguments.prefix(2).joined(separator: " ")) with \(what)")
                    results.append(result.status)
                }
                // A saved baseline of extreme figures is checked against too.
                let saved = directory + "/baselines/x\(index)\(kind).json"
                if FileManager.default.fileExists(atPath: saved) {
                    Self.expectClean(try TestSupport.sockbench(["check", base, "--baseline", saved], timeout: 30), "check against a baseline with \(what)")
                }
            }
        }
        // Both outcomes happen: figures that fit their field are compared, the rest refused.
        #expect(results.contains(0) && results.contains(1), "\(results)")
    }

    @Test("flags at their limits: run --duration, serve --threads/--max-connections/--max-buffered/sizes, proxy's impairments")
    func flags() throws {
        let refusals: [([String], String)] = [
            (["run", "scenarios/quickstart.yaml", "--duration", "1e300s"], "--duration"),
            (["run", "scenarios/quickstart.yaml", "--duration", "-1s"], "--duration"),
            (["serve", "tcp-echo", "--threads", "9223372036854775807"], "--threads"),
            (["serve", "tcp-echo", "--max-connections", "0"], "--max-connections"),
            (["serve", "tcp-echo", "--max-connections", "9223372036854775807"], "--max-connections"),
            (["serve", "tcp-echo", "--max-buffered", "999999999999999"], "--max-buffered"),
            (["serve", "tcp-rr", "--request-size", "999999999999999"], "--request-size"),
            (["serve", "tcp-rr", "--response-size", "1e300"], "--response-size"),
            (["serve", "udp-echo", "--drop-every", "-1"], "--drop-every"),
            (["serve", "tcp-echo", "--greeting", String(repeating: "x", count: 5000)], "--greeting"),
            (["proxy", "--upstream", "127.0.0.1:9", "--rate", "1e20gbit"], "--rate"),
            (["proxy", "--upstream", "127.0.0.1:9", "--delay", "2h"], "--delay"),
            (["proxy", "--upstream", "127.0.0.1:9", "--protocol", "udp", "--loss", "every 99999999999999999999"], "--loss"),
            (["proxy", "--upstream", "127.0.0.1:9", "--seed", "18446744073709551616"], "--seed"),
            (["check", "x.json", "--baseline", "y.json", "--tolerance", "p99=+1e308%"], "--tolerance"),
        ]
        for (arguments, flag) in refusals {
            let result = try TestSupport.sockbench(arguments, timeout: 30)
            #expect(result.status == 1 || result.status == 64, "\(arguments.joined(separator: " ")): status \(result.status)\n\(result.stderr)")
            #expect(result.stderr.contains(flag) || result.stderr.contains(flag.dropFirst(2)), "\(arguments.joined(separator: " ")): \(result.stderr)")
            #expect(!result.stderr.contains("Fatal error"), "\(result.stderr)")
        }
    }
}
