import ArgumentParser
import CSockBenchLinux
import Foundation
import Glibc
import SockBench

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run one reference server until interrupted.",
        discussion: """
        Kinds: tcp-echo (answers every byte), tcp-sink (discards), tcp-source (sends continuously), \
        tcp-rr (answers each --request-size request with --response-size bytes), udp-echo, udp-sink.
        Prints `sockbench serve: KIND ready on ADDRESS` once it accepts traffic; stops on SIGINT or SIGTERM.
        Binds loopback unless --bind says otherwise.
        """
    )

    @Argument(help: ArgumentHelp("tcp-echo, tcp-sink, tcp-source, tcp-rr, udp-echo or udp-sink.", valueName: "kind"))
    var kind: String

    @Option(name: .long, help: ArgumentHelp("Address to listen on; port 0 picks a free port. unix:/path (stream kinds) or unixgram:/path (udp kinds) listens on a unix socket.", valueName: "addr:port"))
    var bind = "127.0.0.1:0"

    @Option(name: .long, help: "Event-loop threads.")
    var threads = 1

    @Option(name: .customShort("o"), help: ArgumentHelp("A socket option by kernel name, e.g. -o tcp_nodelay=true -o so_rcvbuf=256KiB.", valueName: "name=value"))
    var option: [String] = []

    @Option(name: .long, help: "tcp-rr: bytes per request.")
    var requestSize = "64"

    @Option(name: .long, help: "tcp-rr: bytes per answer.")
    var responseSize = "64"

    @Option(name: .long, help: ArgumentHelp("tcp-echo: text sent first on every connection (a server that speaks first).", valueName: "text"))
    var greeting: String?

    @Option(name: .long, help: ArgumentHelp("udp-echo: drop every Nth datagram on purpose (tests loss counting).", visibility: .hidden))
    var dropEvery = 0

    @Option(name: .long, help: "TCP: most connections open at once; more are closed on arrival, with a log line.")
    var maxConnections = ServerConfiguration.defaultMaxConnections

    @Option(name: .long, help: ArgumentHelp("TCP: most bytes parked for clients that do not read their answers (default 1GiB); a connection that would pass it is closed, with a log line.", valueName: "size"))
    var maxBuffered: String?

    @Flag(name: .long, help: ArgumentHelp("Print a statistics line when stopping (used by `sockbench run`).", visibility: .hidden))
    var reportStats = false

    @Flag(name: .long, help: ArgumentHelp("Also stop when stdin closes (the parent `sockbench run` exited).", visibility: .hidden))
    var exitOnStdinEof = false

    func run() throws {
        let configuration = try makeConfiguration()
        // Hold as many connections as the hard limit allows (a `run` with 10,000 connections needs them).
        _ = ProcessResources.raiseDescriptorLimit(to: Int.max)
        // Before any thread starts, so only the signalfd sees the stop signals.
        let stopSignals = StopSignals()

        let server: ReferenceServer
        do {
            server = try ReferenceServer(configuration: configuration)
            try server.start()
        } catch {
            throw CommandFailure.runFailed("serve \(kind): \(error)")
        }
        FileHandleOutput.standardOutput(server.readyLine)

        stopSignals.wait(orStdinEOF: exitOnStdinEof)
        server.stop()
        var statistics = server.statistics
        statistics.peakResidentBytes = ProcessResources.peakResidentBytes()
        if reportStats { FileHandleOutput.standardOutput(ServerProcess.statisticsLine(statistics)) }
    }

    func makeConfiguration() throws -> ServerConfiguration {
        guard let serverKind = ServerKind(rawValue: kind), serverKind != .external else {
            throw CommandFailure.badInput("serve: unknown kind '\(kind)'; expected one of \(ServerKind.reference.map(\.rawValue).joined(separator: ", "))")
        }
        let address: SocketAddress
        do { address = try SocketAddress(parsing: bind) } catch { throw CommandFailure.badInput("serve --bind: \(error)") }
        if let mismatch = UnixSocketRules.transportMismatch(address, transport: serverKind.transport ?? .tcp, user: serverKind.rawValue) {
            throw CommandFailure.badInput("serve --bind: \(mismatch)")
        }
        let limits = ServerConfiguration.self
        guard limits.threadsRange.contains(threads) else {
            throw CommandFailure.badInput("serve --threads: expected \(limits.threadsRange.lowerBound) to \(limits.threadsRange.upperBound), got \(threads)")
        }
        var options = SocketOptionSet()
        for entry in option {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let name = SocketOption(rawValue: parts[0]) else {
                throw CommandFailure.badInput("serve -o \(entry): expected NAME=VALUE with NAME one of \(SocketOption.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let value = name.parseValue(parts[1]) else {
                throw CommandFailure.badInput("serve -o \(entry): expected \(name.allowedValues)")
            }
            if let refusal = name.unixRefusal(for: address) { throw CommandFailure.badInput("serve -o \(entry): \(refusal)") }
            options[name] = value
        }
        func size(_ text: String, _ flag: String, in range: ClosedRange<Int>) throws -> Int {
            guard case .success(let bytes) = Quantity.bytes(text), range.contains(bytes) else {
                throw CommandFailure.badInput("serve \(flag): expected \(Quantity.sizeHelp), from \(Quantity.formatSize(range.lowerBound)) "
                    + "to \(Quantity.formatSize(range.upperBound)), got '\(text)'")
            }
            return bytes
        }
        if greeting != nil, serverKind != .tcpEcho { throw CommandFailure.badInput("serve --greeting: only tcp-echo speaks first") }
        if let greeting, greeting.utf8.count > limits.maximumGreeting {
            throw CommandFailure.badInput("serve --greeting: expected at most \(limits.maximumGreeting) bytes, got \(greeting.utf8.count)")
        }
        guard limits.maxConnectionsRange.contains(maxConnections) else {
            throw CommandFailure.badInput("serve --max-connections: expected \(limits.maxConnectionsRange.lowerBound) to "
                + "\(limits.maxConnectionsRange.upperBound), got \(maxConnections)")
        }
        guard dropEvery >= 0 else { throw CommandFailure.badInput("serve --drop-every: expected 0 (never) or more, got \(dropEvery)") }
        var configuration = ServerConfiguration(kind: serverKind, bind: address, threads: threads, options: options,
                                                requestSize: try size(requestSize, "--request-size", in: limits.messageSizeRange),
                                                responseSize: try size(responseSize, "--response-size", in: limits.messageSizeRange),
                                                dropEvery: dropEvery, greeting: Array((greeting ?? "").utf8))
        configuration.maxConnections = maxConnections
        if let maxBuffered { configuration.maxBufferedBytes = try size(maxBuffered, "--max-buffered", in: limits.maxBufferedRange) }
        return configuration
    }
}
