import Foundation
import Glibc
import Testing
@testable import SockBench

/// The capture where it is easy to get wrong: windows of a few milliseconds, a window schedule
/// longer than the run, a FIFO at capture.pcap, a disk that fills, a file full before the window,
/// an interrupted run planned for an hour. Found by trying to break windows mode.
@Suite("capture under faults", .serialized)
struct CaptureFaultTests {
    static let privilege = "capturing needs CAP_NET_RAW (run the tests as root)"
    static let tshark = TestSupport.tool("tshark")

    static func tsharkCount(_ file: String, _ filter: String? = nil) throws -> Int {
        let arguments = ["-r", file] + (filter.map { ["-Y", $0] } ?? []) + ["-T", "fields", "-e", "frame.number"]
        let result = try TestSupport.program(try #require(tshark), arguments, timeout: 120)
        try #require(result.status == 0, "tshark: \(result.stderr)")
        return result.stdout.split(separator: "\n").count
    }

    @Test("the shortest windows (50 ms every 100 ms): each window keeps its packets (its last ring block is read before the handle closes)",
          .enabled(if: TestSupport.canCapture, Comment(rawValue: privilege)))
    func shortWindows() throws {
        let (status, report, output) = try VerdictTests.run("""
        name: short-windows
        server: {kind: tcp-echo}
        load: {connections: 4, warmup: 200ms, duration: 1s}
        capture: {window: 50ms, every: 100ms}
        """, capture: true)
        #expect(status == 0, "\(output)")
        let capture = try #require(report.runs.first?.capture)
        let analysis = try #require(capture.analysis)
        #expect(analysis.packets.total > 0, "the windows kept no packet of the measured window")
        // The listed windows are inside the measured window; what they add up to is what was attached
        // (a window's opening and its last block's reading take milliseconds).
        let windows = try #require(capture.details.windows)
        #expect(windows.allSatisfy { $0.endS <= 1.0 + 1e-9 && $0.startS <= $0.endS })
        #expect(capture.details.capturedSeconds > 0 && capture.details.capturedSeconds <= 1.0, "\(capture.details.capturedSeconds)")
        print("50 ms windows every 100 ms: \(windows.count) windows, \(capture.details.capturedSeconds) s attached, \(analysis.packets.total) packets")
    }

    @Test("capture.every longer than the run: one window, opened before the end, so every close is on file",
          .enabled(if: TestSupport.canCapture, Comment(rawValue: privilege)))
    func everyLongerThanTheRun() throws {
        let (status, report, output) = try VerdictTests.run("""
        name: long-cycle
        server: {kind: tcp-echo}
        load: {connections: 4, warmup: 200ms, duration: 1s}
        capture: {every: 1h}
        """, capture: true)
        #expect(status == 0, "\(output)")
        let tcp = try #require(report.runs.first?.capture?.analysis?.tcp)
        #expect(tcp.fin == 8, "every connection's FIN each way, got \(tcp.fin)")
    }

    @Test("a FIFO at capture.pcap with a reader: written through, not read back, and the run ends with its report",
          .enabled(if: TestSupport.canCapture, Comment(rawValue: privilege)))
    func fifoAtCapturePath() throws {
        let work = TestSupport.temporaryDirectory()
        let out = work + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try #require(mkfifo(out + "/capture.pcap", 0o600) == 0)
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/sh")
        reader.arguments = ["-c", "cat '\(out)/capture.pcap' > '\(work)/read.pcap'"]
        try reader.run()
        defer { if reader.isRunning { reader.terminate() } }
        let scenario = try CIGateTests.scenarioFile("""
        name: fifo
        server: {kind: tcp-echo}
        load: {connections: 2, warmup: 100ms, duration: 500ms}
        """, in: work)
        let result = try TestSupport.sockbench(["run", scenario, "--out", out, "--quiet"], timeout: 30)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("device or FIFO"), "\(result.stderr)")
        let report = try ReportFile.load(out + "/report.json")
        let capture = try #require(report.runs.first?.capture)
        #expect(capture.status == .captured && capture.analysis == nil)
        #expect(capture.details.reason?.contains("cannot be read back") == true, "\(capture.details.reason ?? "")")
        reader.waitUntilExit()
        #expect((try? Data(contentsOf: URL(fileURLWithPath: work + "/read.pcap")).count) ?? 0 > 24, "the reader got the packets")
    }

    @Test("a folder with little room: the capture stops storing while the reports still fit; tshark reads the file, the terminal warns",
          .enabled(if: TestSupport.canCapture, Comment(rawValue: privilege)),
          .enabled(if: tshark != nil, "needs tshark (apt-get install tshark)"))
    func diskFull() throws {
        let work = TestSupport.temporaryDirectory()
        let small = work + "/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let mounted = try TestSupport.program("/bin/mount", ["-t", "tmpfs", "-o", "size=18m", "tmpfs", small])
        guard mounted.status == 0 else {
            print("skipped: cannot mount a tmpfs here: \(mounted.stderr)")
            return
        }
        defer { _ = try? TestSupport.program("/bin/umount", ["-l", small]) }
        let scenario = try CIGateTests.scenarioFile("""
        name: disk-full
        server: {kind: tcp-echo}
        load: {connections: 16, warmup: 100ms, duration: 2s, message_size: 8KiB}
        capture: {mode: full, payload: true}
        """, in: work)
        // 8 KiB messages stored with their payload fill the 18 MiB in about a thousand round trips, however busy the machine.
        let result = try TestSupport.sockbench(["run", scenario, "--out", small + "/out", "--quiet"], timeout: 60)
        // The reports may not fit either: the run must say so, never crash or hang.
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("packet capture incomplete"), "\(result.stderr)")
        let report = try ReportFile.load(small + "/out/report.json")
        let capture = try #require(report.runs.first?.capture)
        #expect(capture.details.reason?.contains("free for the reports") == true, "\(capture.details.reason ?? "")")
        #expect(capture.details.fileTruncated == true)
        let stored = try Self.tsharkCount(small + "/out/capture.pcap")
        #expect(stored > 0 && UInt64(stored) == capture.details.packetsWritten, "tshark reads \(stored), the report stored \(capture.details.packetsWritten ?? 0)")
    }

    @Test("the disk fills under the writer: the file is cut back to its last whole record and stays readable",
          .enabled(if: tshark != nil, "needs tshark (apt-get install tshark)"))
    func writerOnFullDisk() throws {
        let small = TestSupport.temporaryDirectory() + "/tiny"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let mounted = try TestSupport.program("/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", small])
        guard mounted.status == 0 else {
            print("skipped: cannot mount a tmpfs here: \(mounted.stderr)")
            return
        }
        defer { _ = try? TestSupport.program("/bin/umount", ["-l", small]) }
        let path = small + "/capture.pcap"
        let writer = try PcapFileWriter.create(path: path, snaplen: 128, linkType: PacketDecoder.LinkType.ethernet, maximumBytes: 1 << 30)
        let frame = FrameBuilder().tcp(from: 40_000, to: 7, flags: DecodedPacket.ack, sequence: 1, acknowledgment: 1, payload: 64)
        // 13 MB of records into 3 MiB, a MiB-sized buffer at a time: a write fails part-way through one.
        for index in 0..<100_000 {
            frame.withUnsafeBytes { writer.append(timestamp: UInt64(index), originalLength: frame.count, bytes: $0.baseAddress!, length: frame.count) }
        }
        try writer.finish()
        #expect(writer.failure == ENOSPC && writer.packetsNotStored > 0)
        let stored = try Self.tsharkCount(path)
        #expect(stored > 0 && UInt64(stored) == writer.packetsWritten, "tshark reads \(stored), the writer kept \(writer.packetsWritten)")
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64
        #expect(size == writer.bytesWritten, "the file ends with a whole record")
    }

    @Test("a file full before the measured window: capture thresholds have no value and fail, not pass on zero packets",
          .enabled(if: TestSupport.canCapture, Comment(rawValue: privilege)))
    func fileFullInWarmup() throws {
        let (status, report, output) = try VerdictTests.run("""
        name: full-in-warmup
        server: {kind: tcp-echo}
        load: {connections: 32, warmup: 1s, duration: 500ms}
        capture: {mode: full, max_file_size: 1MiB}
        thresholds: ["capture.retransmissions == 0"]
        """, capture: true)
        let capture = try #require(report.runs.first?.capture)
        #expect(capture.details.fileTruncated == true)
        #expect(capture.analysis?.packets.total == 0, "the file filled in the warm-up")
        #expect(status == 2, "a threshold on evidence nobody saw must not pass: \(output)")
        #expect(report.thresholds?.first?.measured == nil)
    }

    @Test("SIGINT 1 s into a run planned for an hour: exit 130 at once, duration and intervals end at the interrupt")
    func interruptedLongRun() throws {
        let (command, out, _) = try RunningCommand.run("""
        name: an-hour
        server: {kind: tcp-echo}
        load: {connections: 2, warmup: 200ms, duration: 1h}
        """)
        usleep(1_200_000)
        let sent = MonotonicClock.now()
        kill(command.pid, SIGINT)
        let status = command.wait(timeout: 10)
        let took = Double(MonotonicClock.now() - sent) / 1e9
        #expect(status == 130, "\(command.output)")
        let run = try #require(try ReportFile.load(out + "/report.json").runs.first)
        #expect(run.durationS > 0.3 && run.durationS < 5, "measured \(run.durationS) s for a run interrupted after about 1 s")
        #expect((run.intervals?.count ?? 0) < 10, "\(run.intervals?.count ?? 0) intervals for about 1 s")
        print("interrupted an hour-long run: exit after \(took) s, duration_s \(run.durationS)")
    }

    @Test("SIGINT as the measured window ends (the capture being read back, the reports written): exit 130 with the report, never 0",
          .enabled(if: TestSupport.canCapture, Comment(rawValue: privilege)))
    func interruptAfterWindow() throws {
        let (command, out, _) = try RunningCommand.run("""
        name: late-signal
        server: {kind: tcp-echo}
        load: {connections: 8, pattern: connect, message_size: 64, warmup: 200ms, duration: 1s}
        capture: {mode: full}
        """)
        usleep(1_250_000)
        kill(command.pid, SIGINT)
        let status = command.wait(timeout: 10)
        #expect(status == 130, "\(command.output)")
        #expect(FileManager.default.fileExists(atPath: out + "/report.json"), "\(command.output)")
    }
}
