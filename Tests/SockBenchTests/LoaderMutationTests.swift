import Foundation
import Testing
@testable import SockBench

/// Thousands of mutated scenario files (fixed seed, so every run checks the same cases):
/// the loader must load each or refuse it with one located line, never crash or hang.
@Suite("Scenario loader under mutated input")
struct LoaderMutationTests {
    static let fragments = [":", " ", "\n", "\t", "-", "{", "}", "[", "]", "\"", "'", "#", "&a", "*a", "!!str", "0", "999999999999999999999",
                            "-1", "1e9", "ms", "KiB", "0x", "~", "null", "true", "\u{0}", "é", "\u{FEFF}", "%", "|", ">", ",", "?", "<<: *a"]

    static func mutate(_ text: String, using generator: inout SeededGenerator) -> String {
        var characters = Array(text)
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            let position = characters.isEmpty ? 0 : Int.random(in: 0..<characters.count, using: &generator)
            switch Int.random(in: 0..<6, using: &generator) {
            case 0 where !characters.isEmpty: characters.remove(at: position)
            case 1: characters.insert(contentsOf: fragments.randomElement(using: &generator)!, at: position)
            case 2 where !characters.isEmpty: characters = Array(characters[..<position])
            case 3:
                let lines = String(characters).split(separator: "\n", omittingEmptySubsequences: false)
                guard let line = lines.randomElement(using: &generator) else { break }
                characters.insert(contentsOf: "\n" + line, at: position)
            case 4 where !characters.isEmpty:
                if let digit = "0123456789".randomElement(using: &generator) { characters[position] = digit }
            default:
                characters.insert(contentsOf: ["load", "server", "client", "kind", "depth", "so_linger", "tcp_keepidle"]
                    .randomElement(using: &generator)! + ": ", at: position)
            }
        }
        return String(characters)
    }

    @Test("4,000 mutations of the example and fixture scenarios: loaded or one located error")
    func mutations() throws {
        let folders = [TestSupport.packageRoot + "/scenarios", TestSupport.packageRoot + "/Tests/SockBenchTests/Fixtures/bad"]
        var seeds: [String] = []
        for folder in folders {
            // Scenario files only: scenarios/nginx/ holds a server's configuration for the examples.
            for file in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() where file.hasSuffix(".yaml") || file.hasSuffix(".json") {
                seeds.append(try String(contentsOfFile: "\(folder)/\(file)", encoding: .utf8))
            }
        }
        #expect(seeds.count >= 20)
        var generator = SeededGenerator(state: 0x50C4_BE4C)
        var loaded = 0, refused = 0
        for _ in 0..<4_000 {
            let text = Self.mutate(seeds.randomElement(using: &generator)!, using: &generator)
            do {
                _ = try ScenarioLoader.load(text: text, path: "mutant.yaml")
                loaded += 1
            } catch {
                refused += 1
                #expect(error.description.hasPrefix("mutant.yaml:\(error.line):\(error.column): "))
                #expect(error.line >= 1 && error.column >= 1)
                #expect(!error.message.isEmpty)
                #expect(!error.description.contains("\n"), "one line: \(error.description)")
            }
        }
        #expect(loaded + refused == 4_000)
        #expect(loaded > 0 && refused > 0, "the mutations exercise both outcomes: \(loaded) loaded, \(refused) refused")
    }
}
