import Foundation
import Testing
@testable import SockBench

/// Shell completions (argument-parser's `--generate-completion-script`) and the man page
/// (docs/man/sockbench.1, made by scripts/man.sh), checked against the command-line definitions
/// themselves (`--experimental-dump-help`), so a new subcommand or flag cannot go missing from either.
@Suite("shell completions and the man page")
struct ShellIntegrationTests {
    /// Every subcommand path (`baseline save`) and every long option shown in `--help`.
    static func commandLine() throws -> (commands: [String], options: Set<String>) {
        let dump = try TestSupport.sockbench(["--experimental-dump-help"])
        #expect(dump.status == 0, "\(dump.stderr)")
        let root = try #require((try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])?["command"] as? [String: Any])
        var commands: [String] = []
        var options = Set<String>()
        func visit(_ command: [String: Any], path: [String]) {
            for argument in command["arguments"] as? [[String: Any]] ?? [] where argument["shouldDisplay"] as? Bool != false {
                for name in argument["names"] as? [[String: Any]] ?? [] where name["kind"] as? String == "long" {
                    if let long = name["name"] as? String { options.insert(long) }
                }
            }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] where sub["shouldDisplay"] as? Bool != false {
                guard let name = sub["commandName"] as? String, name != "help" else { continue }
                commands.append((path + [name]).joined(separator: " "))
                visit(sub, path: path + [name])
            }
        }
        visit(root, path: [])
        return (commands, options)
    }

    @Test("bash completion offers the subcommands and a subcommand's flags, as bash itself runs it")
    func bashCompletes() throws {
        let script = try TestSupport.sockbench(["--generate-completion-script", "bash"])
        #expect(script.status == 0, "\(script.stderr)")
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        try script.stdout.write(toFile: work + "/sockbench.bash", atomically: true, encoding: .utf8)
        // Bash's programmable completion, by hand: the words so far, then the function `complete -F` names.
        let probe = """
        source "$1"
        ask() { COMPREPLY=(); COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _sockbench sockbench "${@: -1}" "${@: -2:1}"; printf '%s\\n' "${COMPREPLY[@]}"; echo --; }
        ask sockbench ''
        ask sockbench run --jun
        ask sockbench baseline ''
        """
        let result = try TestSupport.program("/bin/bash", ["-c", probe, "probe", work + "/sockbench.bash"])
        #expect(result.status == 0, "\(result.stderr)")
        let answers = result.stdout.components(separatedBy: "--\n").map { Set($0.split(separator: "\n").map(String.init)) }
        let (commands, _) = try Self.commandLine()
        let top = Set(commands.filter { !$0.contains(" ") })
        #expect(answers.count >= 3)
        #expect(top.isSubset(of: answers[0]), "missing: \(top.subtracting(answers[0]))")
        #expect(answers[1].contains("--junit"), "\(answers[1])")
        #expect(answers[2].contains("save") && !answers[2].contains("run"), "\(answers[2])")
    }

    @Test("zsh and fish scripts name every subcommand")
    func zshAndFish() throws {
        let (commands, _) = try Self.commandLine()
        for shell in ["zsh", "fish"] {
            let script = try TestSupport.sockbench(["--generate-completion-script", shell])
            #expect(script.status == 0, "\(shell): \(script.stderr)")
            for command in commands { #expect(script.stdout.contains(command.split(separator: " ").last!), "\(shell): \(command)") }
        }
    }

    @Test("docs/man/sockbench.1 has every subcommand and every long option (else: bash scripts/man.sh)")
    func manualIsCurrent() throws {
        let page = try String(contentsOfFile: TestSupport.packageRoot + "/docs/man/sockbench.1", encoding: .utf8)
        #expect(page.hasPrefix(".\\\""), "not a roff page")
        let (commands, options) = try Self.commandLine()
        #expect(commands.count >= 10 && options.count >= 30, "\(commands.count) commands, \(options.count) options")
        for command in commands {
            #expect(page.contains(".It Em \(command.split(separator: " ").last!)"), "the man page has no \(command): bash scripts/man.sh")
        }
        for option in options.sorted() {
            // `.It Fl -junit Ar file`, or after a short name: `.It Fl c , -connections Ar n`.
            #expect(page.contains("Fl -\(option)") || page.contains(" , -\(option)"), "the man page has no --\(option): bash scripts/man.sh")
        }
    }
}
