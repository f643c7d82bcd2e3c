import Foundation
import Glibc
import Testing
@testable import SockBench

/// `sudo sockbench run` hands its outputs to the user who ran sudo (or to `--owner`), so a CI
/// runner's own user can read and upload the 0600 captures; links are never followed.
@Suite("output ownership under sudo", .serialized)
struct OutputOwnerTests {
    static let nobody: uid_t = OutputOwner.userID(named: "nobody") ?? 65534

    @Test("who gets the files: SUDO_UID as root, nobody otherwise; --owner by name or number; bad owners refused")
    func resolving() throws {
        let sudo = ["SUDO_UID": "1000", "SUDO_GID": "1001"]
        #expect(try OutputOwner.resolve(nil, environment: sudo, euid: 0) == OutputOwner(uid: 1000, gid: 1001, source: "SUDO_UID"))
        #expect(try OutputOwner.resolve(nil, environment: sudo, euid: 1000) == nil, "not root: nothing to hand over")
        #expect(try OutputOwner.resolve(nil, environment: [:], euid: 0) == nil, "root without sudo keeps its files")
        #expect(try OutputOwner.resolve(nil, environment: ["SUDO_UID": "0"], euid: 0) == nil)
        #expect(try OutputOwner.resolve(nil, environment: ["SUDO_UID": "x1"], euid: 0) == nil)
        #expect(try OutputOwner.resolve("nobody", environment: sudo, euid: 0)?.uid == Self.nobody, "--owner wins over SUDO_UID")
        #expect(try OutputOwner.resolve("123:456", environment: [:], euid: 0).map { [$0.uid, $0.gid] } == [123, 456])
        for (option, words) in [("no-such-user-here", "no user named"), ("nobody:no-such-group", "no group named"), (":1", "expected USER"), ("nobody:", "(empty)")] {
            #expect { try OutputOwner.resolve(option, environment: [:], euid: 0) } throws: { "\($0)".contains(words) }
        }
        #expect { try OutputOwner.resolve("nobody", environment: [:], euid: 1000) } throws: { "\($0)".contains("only root") }
    }

    @Test("only regular files of the given names change hands; a planted link and its target do not")
    func linksAreNotFollowed() throws {
        guard geteuid() == 0 else { return }
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work + "/out", withIntermediateDirectories: true)
        try "mine".write(toFile: work + "/out/report.md", atomically: true, encoding: .utf8)
        try "not mine".write(toFile: work + "/secret", atomically: true, encoding: .utf8)
        try "other".write(toFile: work + "/out/other.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: work + "/out/report.json", withDestinationPath: work + "/secret")
        let owner = OutputOwner(uid: Self.nobody, gid: Self.nobody, source: "test")
        try owner.hand(directory: work + "/out", names: ["report.md", "report.json", "../secret", "missing.pcap"], includingFolder: true)
        func uid(_ path: String, follow: Bool = true) -> uid_t {
            var status = stat()
            _ = follow ? stat(path, &status) : lstat(path, &status)
            return status.st_uid
        }
        #expect(uid(work + "/out") == Self.nobody && uid(work + "/out/report.md") == Self.nobody)
        #expect(uid(work + "/secret") == 0, "a link's target changed hands")
        #expect(uid(work + "/out/report.json", follow: false) == 0 && uid(work + "/out/other.txt") == 0)
        // A folder that is itself a link is refused, not followed.
        try FileManager.default.createSymbolicLink(atPath: work + "/linked", withDestinationPath: work + "/out")
        #expect { try owner.hand(directory: work + "/linked", names: [], includingFolder: true) } throws: { "\($0)".contains("cannot open") }
    }

    @Test("a real sudo-style run with capture: the runner's user reads capture.pcap and the report; without SUDO_UID it cannot")
    func runnerReadsTheCapture() throws {
        guard geteuid() == 0, TestSupport.canCapture else { return }
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        chmod(work, 0o755)
        let user = String(Self.nobody)
        func run(_ environment: [String], out: String) throws -> TestSupport.CommandResult {
            try TestSupport.program("/usr/bin/env", ["-u", "SUDO_UID", "-u", "SUDO_GID"] + environment + [
                TestSupport.executable, "run", "scenarios/quickstart.yaml", "--duration", "300ms", "--warmup", "0", "-c", "2",
                "--capture", "full", "--quiet", "--out", out, "--junit", work + "/junit-\(environment.isEmpty ? "root" : "sudo").xml",
            ], timeout: 120)
        }
        func readAs(_ path: String) throws -> TestSupport.CommandResult {
            try TestSupport.program("/usr/bin/setpriv", ["--reuid", user, "--regid", user, "--clear-groups", "--", "/bin/cat", path])
        }
        let sudo = try run(["SUDO_UID=\(user)", "SUDO_GID=\(user)"], out: work + "/sudo")
        #expect(sudo.status == 0, "\(sudo.stderr)")
        let pcap = try readAs(work + "/sudo/capture.pcap")
        #expect(pcap.status == 0 && pcap.stdout.utf8.count > 24, "\(pcap.stderr)")
        for name in ["report.json", "report.html", "summary.md"] { #expect(try readAs(work + "/sudo/" + name).status == 0, "\(name)") }
        var status = stat()
        #expect(stat(work + "/sudo/capture.pcap", &status) == 0 && status.st_uid == Self.nobody && status.st_mode & 0o777 == 0o600)
        #expect(stat(work + "/junit-sudo.xml", &status) == 0 && status.st_uid == Self.nobody)

        // The control: the same run as plain root leaves a capture the runner's user cannot read.
        let root = try run([], out: work + "/root")
        #expect(root.status == 0, "\(root.stderr)")
        let denied = try readAs(work + "/root/capture.pcap")
        #expect(denied.status != 0 && denied.stderr.contains("Permission denied"), "\(denied.stderr)")
    }

    @Test("folders: an existing --out stays its owner's (its new files do not); folders the run made and a new --summary change hands; a linked --out works")
    func folders() throws {
        guard geteuid() == 0 else { return }
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        chmod(work, 0o755)
        let user = String(Self.nobody)
        func run(_ out: String, summary: String? = nil) throws -> TestSupport.CommandResult {
            try TestSupport.program("/usr/bin/env", ["SUDO_UID=\(user)", "SUDO_GID=\(user)", TestSupport.executable, "run", "scenarios/quickstart.yaml",
                                                     "--duration", "200ms", "--warmup", "0", "-c", "1", "--no-capture", "--quiet", "--out", out]
                                                     + (summary.map { ["--summary", $0] } ?? []), timeout: 120)
        }
        func uid(_ path: String) -> uid_t {
            var status = stat()
            return lstat(path, &status) == 0 ? status.st_uid : .max
        }
        // An existing folder (say `--out .`) with someone else's file in it.
        try FileManager.default.createDirectory(atPath: work + "/shared", withIntermediateDirectories: true)
        try "root's".write(toFile: work + "/shared/other.txt", atomically: true, encoding: .utf8)
        let shared = try run(work + "/shared")
        #expect(shared.status == 0, "\(shared.stderr)")
        #expect(uid(work + "/shared") == 0 && uid(work + "/shared/other.txt") == 0, "an existing folder was given away")
        #expect(uid(work + "/shared/report.json") == Self.nobody)

        // Folders the run creates, parents included, and a summary file it creates.
        // In a checkout the runner's user owns, as on a CI machine.
        let checkout = work + "/checkout"
        try FileManager.default.createDirectory(atPath: checkout, withIntermediateDirectories: true)
        chown(checkout, Self.nobody, Self.nobody)
        let nested = try run(checkout + "/reports/pr", summary: checkout + "/summary.md")
        #expect(nested.status == 0, "\(nested.stderr)")
        #expect(uid(checkout + "/reports") == Self.nobody && uid(checkout + "/reports/pr") == Self.nobody && uid(checkout + "/summary.md") == Self.nobody)
        let removed = try TestSupport.program("/usr/bin/setpriv", ["--reuid", user, "--regid", user, "--clear-groups", "--", "/bin/rm", "-r", checkout + "/reports"])
        #expect(removed.status == 0, "the runner's user cannot clean its workspace: \(removed.stderr)")

        // --out through a link to an existing folder: written through, files handed over, no error.
        try FileManager.default.createDirectory(atPath: work + "/real", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: work + "/linked", withDestinationPath: work + "/real")
        let linked = try run(work + "/linked")
        #expect(linked.status == 0 && !linked.stderr.contains("warning"), "\(linked.stderr)")
        #expect(uid(work + "/real/report.json") == Self.nobody && uid(work + "/real") == 0)
    }
}
