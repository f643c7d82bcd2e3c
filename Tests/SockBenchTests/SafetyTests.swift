import Foundation
import Glibc
import Testing
@testable import SockBench

/// sockbench must never become the thing that harms a network or leaks data: no load on other
/// hosts without --allow-remote, reference servers on loopback unless --bind says otherwise, report
/// paths inside the output folder, capture files private and headers-only, a bad --out refused
/// before any load.
@Suite("safety", .serialized)
struct SafetyTests {
    @Test("targets: loopback and this machine's addresses are local; anything else needs --allow-remote")
    func targetPolicy() throws {
        for local in ["127.0.0.1:9", "127.3.4.5:9", "[::1]:9", "0.0.0.0:9"] {
            #expect(TargetPolicy.refusal(target: try SocketAddress(parsing: local), allowRemote: false) == nil, "\(local)")
        }
        for own in TargetPolicy.localHosts() where !own.contains(":") {
            #expect(TargetPolicy.refusal(target: try SocketAddress(parsing: own + ":9"), allowRemote: false) == nil, "\(own)")
        }
        // TEST-NET-1 and the benchmarking range are nobody's interfaces here.
        for remote in ["192.0.2.1:80", "198.18.0.2:9", "[2001:db8::1]:80"] {
            let address = try SocketAddress(parsing: remote)
            #expect(TargetPolicy.refusal(target: address, allowRemote: false)?.contains("--allow-remote") == true, "\(remote)")
            #expect(TargetPolicy.refusal(target: address, allowRemote: true) == nil)
        }
        #expect(TargetPolicy.refusal(bind: try SocketAddress(parsing: "127.0.0.1:0"), confirmed: false) == nil)
        #expect(TargetPolicy.refusal(bind: try SocketAddress(parsing: "0.0.0.0:0"), confirmed: false)?.contains("--bind") == true)
        #expect(TargetPolicy.refusal(bind: try SocketAddress(parsing: "0.0.0.0:0"), confirmed: true) == nil)
    }

    @Test("run refuses a remote target (exit 1, nothing written, nothing sent) unless --allow-remote")
    func remoteTargetRefused() throws {
        let work = TestSupport.temporaryDirectory()
        let out = work + "/out"
        let result = try TestSupport.sockbench(["run", "scenarios/quickstart.yaml", "--target", "192.0.2.1:7", "--out", out, "--no-capture", "--quiet"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("192.0.2.1:7 is neither loopback nor an address of this machine"), "\(result.stderr)")
        #expect(result.stderr.contains("--allow-remote"))
        #expect(!FileManager.default.fileExists(atPath: out), "nothing is written for a refused run")
    }

    @Test("a scenario binding its reference server beyond loopback is refused unless --bind says so")
    func bindBeyondLoopback() throws {
        let work = TestSupport.temporaryDirectory()
        let scenario = try CIGateTests.scenarioFile("""
        name: exposed
        server: {kind: tcp-echo, bind: "0.0.0.0:0"}
        load: {connections: 1, duration: 100ms, warmup: 0s}
        """, in: work)
        let refused = try TestSupport.sockbench(["run", scenario, "--out", work + "/a", "--no-capture", "--quiet"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("reference servers listen on loopback unless --bind 0.0.0.0:0 says otherwise"), "\(refused.stderr)")
        // --bind back to loopback runs it.
        let loopback = try TestSupport.sockbench(["run", scenario, "--bind", "127.0.0.1:0", "--out", work + "/b", "--no-capture", "--quiet"])
        #expect(loopback.status == 0, "\(loopback.stderr)")
    }

    @Test("report folders stay inside reports/ whatever the scenario name holds")
    func hostileNames() throws {
        let date = Date(timeIntervalSince1970: 0)
        for name in ["../../etc", "/etc/passwd", "a/../../b", "..", "名前 with spaces", String(repeating: "x", count: 500), "\u{0}nul"] {
            let scenario = Scenario(name: name, server: ServerSpec(kind: .tcpEcho))
            let directory = Runner.defaultDirectory(for: scenario, at: date)
            let components = directory.split(separator: "/")
            #expect(components.count == 3 && components[0] == "reports", "\(directory)")
            #expect(!components.contains("..") && !components.contains("."), "\(directory)")
            #expect(components[1].count <= 64)
        }
    }

    @Test("an unwritable --out fails before the load with the path named")
    func unwritableOut() throws {
        let work = TestSupport.temporaryDirectory()
        let blocker = work + "/file"
        try "x".write(toFile: blocker, atomically: true, encoding: .utf8)
        let started = Date()
        let result = try TestSupport.sockbench(["run", "scenarios/quickstart.yaml", "--out", blocker + "/sub", "--quiet"])
        #expect(result.status == 1)
        #expect(result.stderr.contains(blocker + "/sub"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 5, "refused before the load")
    }

    @Test("a full disk under --out fails before the load with the path named (tmpfs of 1 MiB)")
    func fullDisk() throws {
        let work = TestSupport.temporaryDirectory()
        let mountPoint = work + "/tiny"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mounted = try TestSupport.program("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint])
        guard mounted.status == 0 else {
            print("skipped: cannot mount a tmpfs here (\(mounted.stderr.trimmingWhitespace())); needs root")
            return
        }
        defer { _ = try? TestSupport.program("/bin/umount", [mountPoint]) }
        let result = try TestSupport.sockbench(["run", "scenarios/quickstart.yaml", "--out", mountPoint + "/out", "--quiet"])
        #expect(result.status == 1)
        #expect(result.stderr.contains(mountPoint + "/out"), "\(result.stderr)")
        #expect(result.stderr.contains("free"), "\(result.stderr)")
    }

    @Test("capture files are mode 0600", .enabled(if: TestSupport.canCapture, "needs CAP_NET_RAW"))
    func captureFileMode() throws {
        let out = TestSupport.temporaryDirectory() + "/out"
        let result = try TestSupport.sockbench(["run", "scenarios/quickstart.yaml", "--duration", "200ms", "--out", out, "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: out + "/capture.pcap")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}
