import Foundation
import Glibc
import Synchronization
import Testing
@testable import SockBench

/// Nothing sockbench writes harms what is already on disk (issue 13, "Files"): temporary files
/// have random names and are created with O_CREAT|O_EXCL|O_NOFOLLOW, so a symbolic link planted
/// at a name the old `<path>.tmp-<pid>` scheme used is never followed; a device or FIFO given
/// as an output is written in place and stays what it was; default report folders are new and
/// unique, so two runs started in the same second never share one.
@Suite("file safety", .serialized)
struct FileSafetyTests {
    // MARK: Helpers

    static func fileType(_ path: String) -> mode_t? {
        var entry = stat()
        return lstat(path, &entry) == 0 ? entry.st_mode & S_IFMT : nil
    }

    /// A character device with /dev/null's numbers (1, 3) at `path`, or nil with the reason.
    static func makeNullDevice(_ path: String) -> String? {
        mknod(path, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0 ? nil : String(cString: strerror(errno))
    }

    /// A victim outside the output folder and symbolic links to it at every name the old scheme used.
    static func plantOldNames(in folder: String, victim: String, names: [String]) throws -> [String] {
        try "victim\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let links = names.map { "\(folder)/\($0).tmp-\(getpid())" } + ["\(folder)/.sockbench-write-check-\(getpid())"]
        for link in links { try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: victim) }
        return links
    }

    static func expectUntouched(victim: String, links: [String]) {
        #expect((try? String(contentsOfFile: victim, encoding: .utf8)) == "victim\n", "the victim was written through a link")
        for link in links {
            #expect(fileType(link) == S_IFLNK, "\(link) is no longer the planted link")
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == victim)
        }
    }

    static func leftovers(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.contains(".tmp-") || $0.hasPrefix(".sockbench") }
    }

    static let reportNames = ["report.json", "report.md", "intervals.csv", "report.html", "summary.md", "latency.hlog"]

    // MARK: Devices and FIFOs as outputs (the real CLI)

    @Test("--junit to a character device (mknod 1,3) writes to it in place: still a character device, nothing else made")
    func junitToCharacterDevice() throws {
        let work = TestSupport.temporaryDirectory()
        let device = work + "/dev"
        if let reason = Self.makeNullDevice(device) {
            print("skipped: cannot mknod a character device here (\(reason)); needs CAP_MKNOD")
            return
        }
        let result = try TestSupport.sockbench(["run", "scenarios/quickstart.yaml", "--duration", "200ms", "--no-capture", "--quiet",
                                                "--out", work + "/out", "--junit", device])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.fileType(device) == S_IFCHR, "the device was replaced")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: work)) == ["dev", "out"], "a temporary file next to the device")
    }

    @Test("--summary to a FIFO is written in place for a reader draining it; the FIFO stays a FIFO")
    func summaryToFIFO() throws {
        let work = TestSupport.temporaryDirectory()
        let fifo = work + "/summary.fifo"
        try #require(mkfifo(fifo, 0o600) == 0, "mkfifo: \(String(cString: strerror(errno)))")
        // Opened before the run (non-blocking, so this never waits for a writer) and drained on a thread.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        try #require(reader >= 0)
        defer { close(reader) }
        let received = TestSupport.LockedData()
        let finished = DispatchSemaphore(value: 0)
        let stop = StopFlag(false)
        Thread {
            var collected = Data()
            var buffer = [UInt8](repeating: 0, count: 4096)
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                let count = read(reader, &buffer, buffer.count)
                if count > 0 {
                    collected.append(contentsOf: buffer[0..<count])
                } else if stop.value {
                    break // the run has exited and the pipe is empty
                } else {
                    usleep(5_000)
                }
            }
            received.set(collected)
            finished.signal()
        }.start()
        let result = try TestSupport.sockbench(["run", "scenarios/quickstart.yaml", "--duration", "200ms", "--no-capture", "--quiet",
                                                "--out", work + "/out", "--summary", fifo])
        stop.value = true
        #expect(finished.wait(timeout: .now() + 10) == .success, "the reader never finished")
        #expect(result.status == 0, "\(result.stderr)")
        let text = String(decoding: received.get(), as: UTF8.self)
        #expect(text.contains("sockbench quickstart"), "\(text)")
        #expect(Self.fileType(fifo) == S_IFIFO, "the FIFO was replaced")
    }

    @Test("--junit and --summary to /dev/full: exit 1 naming ENOSPC, /dev/full still a character device")
    func devFull() throws {
        try #require(Self.fileType("/dev/full") == S_IFCHR, "no /dev/full")
        let work = TestSupport.temporaryDirectory()
        for option in ["--junit", "--summary"] {
            let result = try TestSupport.sockbench(["run", "scenarios/quickstart.yaml", "--duration", "200ms", "--no-capture", "--quiet",
                                                    "--out", work + "/out" + option, option, "/dev/full"])
            #expect(result.status == 1, "\(option): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("\(option): cannot write /dev/full: No space left on device"), "\(result.stderr)")
            #expect(Self.fileType("/dev/full") == S_IFCHR, "/dev/full was replaced")
            #expect(Self.leftovers(in: "/dev").isEmpty, "\(Self.leftovers(in: "/dev"))")
        }
    }

    @Test("a FIFO nobody reads fails within the wait with the reason; a reader that leaves gives EPIPE, not SIGPIPE")
    func fifoWithoutReader() throws {
        let work = TestSupport.temporaryDirectory()
        let fifo = work + "/fifo"
        try #require(mkfifo(fifo, 0o600) == 0)
        #expect {
            _ = try AtomicFile.openInPlace(fifo, appending: false, readerWait: 100_000_000)
        } throws: { error in
            (error as? AtomicFile.WriteError)?.reason.contains("FIFO that nobody read") == true
        }
        let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        try #require(reader >= 0)
        let pending = try AtomicFile.begin(fifo)
        defer { close(pending.descriptor) }
        #expect(pending.temporaryPath == nil, "a FIFO is written in place")
        close(reader)
        #expect(AtomicFile.writeAll(Data("x".utf8), to: pending.descriptor) == EPIPE)
        #expect(Self.fileType(fifo) == S_IFIFO)
    }

    // MARK: Temporary names

    @Test("links planted at every old temporary name (<file>.tmp-<pid>, .sockbench-write-check-<pid>) are never followed")
    func plantedLinksAtOldNames() throws {
        let work = TestSupport.temporaryDirectory()
        let folder = work + "/out"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let victim = work + "/victim"
        let links = try Self.plantOldNames(in: folder, victim: victim, names: Self.reportNames)
        try AtomicFile.prepareDirectory(folder)
        for name in Self.reportNames { try AtomicFile.write(Data("new \(name)\n".utf8), to: "\(folder)/\(name)") }
        Self.expectUntouched(victim: victim, links: links)
        for name in Self.reportNames {
            #expect(Self.fileType("\(folder)/\(name)") == S_IFREG)
            #expect((try? String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8)) == "new \(name)\n")
        }
        let made = try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.contains(".tmp-\(getpid())") && !$0.hasPrefix(".sockbench-write-check-") }
        #expect(Set(made) == Set(Self.reportNames), "a temporary file was left: \(made)")
    }

    @Test("the capture file: a link at capture.pcap.tmp-<pid> is not followed; a device at capture.pcap is written in place")
    func captureFile() throws {
        let work = TestSupport.temporaryDirectory()
        let source = work + "/empty.pcap"
        var header = Data()
        for word: UInt32 in [0xa1b2_c3d4, 0x0004_0002, 0, 0, 65535, 1] { withUnsafeBytes(of: word.littleEndian) { header.append(contentsOf: $0) } }
        try header.write(to: URL(fileURLWithPath: source))
        let folder = work + "/out"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let victim = work + "/victim"
        let links = try Self.plantOldNames(in: folder, victim: victim, names: ["capture.pcap"])
        let capture = try PacketCapture.file(path: source, filter: nil)
        let writer = try PcapFileWriter.create(path: folder + "/capture.pcap", snaplen: 65535, linkType: capture.linkType, maximumBytes: 1 << 20)
        try capture.run(writer: writer) { _ in 0 }
        try writer.finish()
        Self.expectUntouched(victim: victim, links: links)
        let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/capture.pcap")
        #expect(attributes[.type] as? FileAttributeType == .typeRegular)
        #expect(attributes[.posixPermissions] as? Int == 0o600)
        #expect((attributes[.size] as? Int ?? 0) == 24, "the pcap file header")

        let device = folder + "/device.pcap"
        if let reason = Self.makeNullDevice(device) {
            print("skipped the device half: cannot mknod here (\(reason))")
            return
        }
        let again = try PacketCapture.file(path: source, filter: nil)
        let deviceWriter = try PcapFileWriter.create(path: device, snaplen: 65535, linkType: again.linkType, maximumBytes: 1 << 20)
        try again.run(writer: deviceWriter) { _ in 0 }
        try deviceWriter.finish()
        #expect(Self.fileType(device) == S_IFCHR, "the device was replaced")
        let planted = Set(links.map { String($0.split(separator: "/").last!) })
        #expect(Set(Self.leftovers(in: folder)) == planted, "a temporary file was left")
    }

    @Test("temporary names are random (not the pid), differ between writes, and are gone after the write")
    func unpredictableNames() throws {
        let folder = TestSupport.temporaryDirectory()
        let path = folder + "/report.json"
        let first = try AtomicFile.begin(path), second = try AtomicFile.begin(path)
        defer { close(first.descriptor); close(second.descriptor) }
        let names = [first, second].compactMap(\.temporaryPath)
        #expect(names.count == 2 && names[0] != names[1], "\(names)")
        for name in names {
            let suffix = name.dropFirst((path + ".tmp-").count)
            #expect(name.hasPrefix(path + ".tmp-") && suffix.count == 16 && suffix.allSatisfy(\.isHexDigit), "\(name)")
            #expect(suffix != "\(getpid())")
        }
        AtomicFile.discard(first)
        AtomicFile.discard(second)
        try AtomicFile.write(Data("{}\n".utf8), to: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["report.json"])
    }

    @Test("a file or link already at a temporary name is not clobbered (O_EXCL): another name is drawn")
    func takenTemporaryName() throws {
        let folder = TestSupport.temporaryDirectory()
        let path = folder + "/report.json"
        try "keep\n".write(toFile: path + ".tmp-taken", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: path + ".tmp-link", withDestinationPath: folder + "/victim")
        var drawn = ["taken", "link", "taken", "free"].makeIterator()
        let pending = try AtomicFile.createTemporary(for: path, mode: 0o644) { drawn.next()! }
        defer { close(pending.descriptor) }
        #expect(pending.temporaryPath == path + ".tmp-free")
        #expect((try? String(contentsOfFile: path + ".tmp-taken", encoding: .utf8)) == "keep\n")
        #expect(Self.fileType(path + ".tmp-link") == S_IFLNK && !FileManager.default.fileExists(atPath: folder + "/victim"))
        AtomicFile.discard(pending)
        #expect {
            _ = try AtomicFile.createTemporary(for: path, mode: 0o644) { "taken" }
        } throws: { error in
            (error as? AtomicFile.WriteError)?.reason.contains("were all taken") == true
        }
    }

    // MARK: Final paths that are links

    @Test("a final path that is a link: to a regular file or nothing, the link is replaced; to a device or stdout, written through")
    func finalPathIsALink() throws {
        let work = TestSupport.temporaryDirectory()
        let victim = work + "/victim"
        try "victim\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let toFile = work + "/report.json"
        try FileManager.default.createSymbolicLink(atPath: toFile, withDestinationPath: victim)
        try AtomicFile.write(Data("new\n".utf8), to: toFile)
        #expect(Self.fileType(toFile) == S_IFREG, "the link itself is replaced")
        #expect((try? String(contentsOfFile: toFile, encoding: .utf8)) == "new\n")
        #expect((try? String(contentsOfFile: victim, encoding: .utf8)) == "victim\n", "its target untouched")

        let dangling = work + "/report.md"
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: work + "/nowhere")
        try AtomicFile.write(Data("new\n".utf8), to: dangling)
        #expect(Self.fileType(dangling) == S_IFREG && !FileManager.default.fileExists(atPath: work + "/nowhere"))

        let toDevice = work + "/null"
        try FileManager.default.createSymbolicLink(atPath: toDevice, withDestinationPath: "/dev/null")
        try AtomicFile.write(Data("new\n".utf8), to: toDevice)
        #expect(Self.fileType(toDevice) == S_IFLNK, "a link to a device is written through, not replaced")

        // Appending (--summary) follows a link to a regular file, as the shell's >> does.
        let summary = work + "/summary.md"
        try FileManager.default.createSymbolicLink(atPath: summary, withDestinationPath: victim)
        try AtomicFile.append(Data("more\n".utf8), to: summary)
        #expect(Self.fileType(summary) == S_IFLNK)
        #expect((try? String(contentsOfFile: victim, encoding: .utf8)) == "victim\nmore\n")
        #expect(Self.leftovers(in: work).isEmpty, "\(Self.leftovers(in: work))")
    }

    @Test("--junit /dev/stdout with standard output redirected to a file goes into that file; /dev/stdout stays a link")
    func devStdoutToFile() throws {
        let work = TestSupport.temporaryDirectory()
        let captured = work + "/stdout.txt"
        let result = try TestSupport.program("/bin/sh", ["-c", "exec \"$0\" run scenarios/quickstart.yaml --duration 200ms --no-capture --quiet --out \"$1\" --junit /dev/stdout > \"$2\"",
                                                         TestSupport.executable, work + "/out", captured])
        #expect(result.status == 0, "\(result.stderr)")
        #expect((try? String(contentsOfFile: captured, encoding: .utf8))?.contains("<testsuites") == true)
        #expect(Self.fileType("/dev/stdout") == S_IFLNK, "/dev/stdout was replaced")
        #expect(Self.leftovers(in: "/dev").isEmpty)
    }

    // MARK: Folders

    @Test("default folders are unique: concurrent creations of one timestamp get <ts>, <ts>-2, … and never share one")
    func uniqueDirectories() throws {
        let work = TestSupport.temporaryDirectory()
        let base = work + "/reports/name/20260101T000000Z"
        let made = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let folder = (try? AtomicFile.createUniqueDirectory(base: base)) ?? "failed"
            made.withLock { $0.append(folder) }
        }
        let folders = made.withLock { $0 }
        #expect(Set(folders) == Set([base] + (2...8).map { "\(base)-\($0)" }), "\(folders.sorted())")
        // A file in the way counts as taken too.
        try "x".write(toFile: base + "-9", atomically: false, encoding: .utf8)
        #expect(try AtomicFile.createUniqueDirectory(base: base) == base + "-10")
        // The default folder of a run is made this way.
        let scenario = Scenario(name: "same-second", server: ServerSpec(kind: .tcpEcho))
        let date = Date(timeIntervalSince1970: 0)
        let first = try AtomicFile.createUniqueDirectory(base: work + "/" + Runner.defaultDirectory(for: scenario, at: date))
        let second = try AtomicFile.createUniqueDirectory(base: work + "/" + Runner.defaultDirectory(for: scenario, at: date))
        #expect(first != second && second == first + "-2")
    }

    @Test("after a run the output folder holds the reports (and capture) and nothing else: no temporary file, no probe")
    func nothingLeftBehind() throws {
        let out = TestSupport.temporaryDirectory() + "/out"
        let capture = TestSupport.canCapture
        let result = try TestSupport.sockbench(["run", "scenarios/quickstart.yaml", "--duration", "200ms", "--quiet", "--out", out]
                                               + (capture ? [] : ["--no-capture"]))
        #expect(result.status == 0, "\(result.stderr)")
        let expected = Set(Self.reportNames + (capture ? ["capture.pcap"] : []))
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out)) == expected)
    }
}

/// A flag one thread sets and another polls.
private final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Bool
    init(_ value: Bool) { stored = value }
    var value: Bool {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
