import Foundation

/// A fingerprint of a resolved scenario (before any shard split): every shard of one run carries
/// the same one, and `merge` refuses reports whose fingerprints differ. Not cryptographic: it
/// tells apart scenarios, it does not guard against forgery.
public enum ScenarioIdentity {
    /// `fnv1a64:` and 16 hex digits of FNV-1a over the scenario as its report records it (file
    /// path and command line left out: shards run from different folders with different flags),
    /// its variants, repetitions and thresholds.
    public static func hash(of scenario: Scenario) -> String {
        var record = ScenarioRecord(scenario)
        record.source = ""
        record.command = nil
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        var bytes = [UInt8]((try? encoder.encode(record)) ?? Data())
        // The record leaves some keys out (impair, error_budget, payload, reconnect): the load, the
        // impairment and the steps in full too (their descriptions hold no dictionary, whose order
        // would differ between processes).
        var load = scenario.load
        load.connections = 0
        let extra = scenario.runVariants.map(\.name).joined(separator: "\n") + "\n#\(scenario.repetitions)\n"
            + scenario.thresholds.map(\.expression).joined(separator: "\n")
            + "\n" + String(reflecting: load) + "\n" + String(reflecting: scenario.impairment) + "\n" + String(reflecting: scenario.conversation)
        bytes += Array(extra.utf8)
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01b3
        }
        return "fnv1a64:" + String(value, radix: 16).leftPadded(to: 16)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
