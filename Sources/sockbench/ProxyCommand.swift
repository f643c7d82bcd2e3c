import ArgumentParser
import Foundation
import SockBench

struct ProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Forward TCP or UDP to a server while adding delay, jitter, a rate cap, loss, duplication, reordering, slicing, resets or stalls.",
        discussion: """
        Listens on --listen (loopback, a free port by default), prints "sockbench proxy: tcp ready on ADDRESS", \
        and forwards every connection (TCP) or client address (UDP) to --upstream, impairing the traffic as \
        the flags say, until SIGINT or SIGTERM. This kernel has no netem, so sockbench carries its own; a \
        scenario's `impair:` section starts the same proxy between its clients and its server.

        Delay, jitter and --rate act in each impaired direction (--direction): a 5ms delay adds 10 ms to a \
        round trip. --rate counts application bytes. --loss, --duplicate and --reorder take a percentage (at \
        random, from --seed) or 'every N', and apply to UDP; --slice, --reset-after and --stall-after apply \
        to TCP. Example: sockbench proxy --upstream 127.0.0.1:7 --delay 5ms --jitter 1ms --rate 100mbit
        """
    )

    @Option(name: .long, help: ArgumentHelp("The server to forward to.", valueName: "host:port"))
    var upstream: String

    @Option(name: .long, help: ArgumentHelp("Where to listen; port 0 picks a free port.", valueName: "host:port"))
    var listen = "127.0.0.1:0"

    @Option(name: .long, help: "tcp or udp.")
    var `protocol` = "tcp"

    @Option(name: .long, help: ArgumentHelp("One-way delay added in each impaired direction (e.g. 5ms).", valueName: "duration"))
    var delay: String?

    @Option(name: .long, help: ArgumentHelp("Uniform ± variation of the delay (at most the delay).", valueName: "duration"))
    var jitter: String?

    @Option(name: .long, help: ArgumentHelp("Rate cap in each impaired direction (100mbit, 1gbit, 500kbit).", valueName: "rate"))
    var rate: String?

    @Option(name: .long, help: ArgumentHelp("UDP: drop this share of datagrams (10%) or every Nth ('every 10').", valueName: "choice"))
    var loss: String?

    @Option(name: .long, help: ArgumentHelp("UDP: send this share of datagrams twice.", valueName: "choice"))
    var duplicate: String?

    @Option(name: .long, help: ArgumentHelp("UDP: let this share of datagrams be overtaken by the next one.", valueName: "choice"))
    var reorder: String?

    @Option(name: .long, help: ArgumentHelp("TCP: forward in writes of at most this many bytes.", valueName: "size"))
    var slice: String?

    @Option(name: .long, help: ArgumentHelp("TCP: reset each connection after this many bytes (both ways).", valueName: "size"))
    var resetAfter: String?

    @Option(name: .long, help: ArgumentHelp("TCP: stall each connection once after this many bytes.", valueName: "size"))
    var stallAfter: String?

    @Option(name: .long, help: ArgumentHelp("TCP: how long a stall lasts (default 1s).", valueName: "duration"))
    var stallFor: String?

    @Option(name: .long, help: "Which way to impair: both, to-server or to-client.")
    var direction = "both"

    @Option(name: .long, help: "Seed of the random choices (the same seed injects the same faults).")
    var seed = "1"

    @Flag(name: .long, help: "Allow an --upstream outside loopback and this machine's own addresses.")
    var allowRemote = false

    @Flag(name: .long, help: ArgumentHelp("Print what was injected when stopping (used by `sockbench run`).", visibility: .hidden))
    var reportStats = false

    @Flag(name: .long, help: ArgumentHelp("Also stop when stdin closes (the parent `sockbench run` exited).", visibility: .hidden))
    var exitOnStdinEof = false

    func run() throws {
        guard let transport = Socket.Transport(rawValue: self.protocol) else {
            throw CommandFailure.badInput("proxy --protocol: expected tcp or udp, got '\(self.protocol)'")
        }
        let upstreamAddress: SocketAddress, listenAddress: SocketAddress
        do { upstreamAddress = try SocketAddress(parsing: upstream) } catch { throw CommandFailure.badInput("proxy --upstream: \(error)") }
        do { listenAddress = try SocketAddress(parsing: listen) } catch { throw CommandFailure.badInput("proxy --listen: \(error)") }
        if upstreamAddress.isUnix || listenAddress.isUnix {
            throw CommandFailure.badInput("proxy: the impairment proxy forwards TCP and UDP over IP; unix socket addresses are not supported")
        }
        if let refusal = TargetPolicy.refusal(target: upstreamAddress, allowRemote: allowRemote) {
            throw CommandFailure.badInput("proxy --upstream: \(refusal)")
        }
        let given: [(String, String?)] = [
            ("delay", delay), ("jitter", jitter), ("rate", rate), ("loss", loss), ("duplicate", duplicate), ("reorder", reorder),
            ("slice", slice), ("reset_after", resetAfter), ("stall_after", stallAfter), ("stall_for", stallFor),
            ("direction", direction), ("seed", seed),
        ]
        let spec: ImpairmentSpec
        do {
            spec = try ImpairmentSpec(settings: given.compactMap { key, value in value.map { (key, $0) } })
        } catch {
            throw CommandFailure.badInput("proxy --\(error.key.replacingOccurrences(of: "_", with: "-")): \(error.message)")
        }
        let stopSignals = StopSignals()
        let proxy: ImpairmentProxy
        do {
            proxy = try ImpairmentProxy(spec: spec, transport: transport, listen: listenAddress, upstream: upstreamAddress)
        } catch {
            throw CommandFailure.runFailed("proxy: \(error)")
        }
        let thread: JoinableThread
        do {
            thread = try JoinableThread(name: "impair-proxy") { proxy.run() }
        } catch {
            throw CommandFailure.runFailed("proxy: \(error)")
        }
        FileHandleOutput.standardOutput(proxy.readyLine)
        stopSignals.wait(orStdinEOF: exitOnStdinEof)
        proxy.stop()
        thread.join()
        if reportStats { FileHandleOutput.standardOutput(ServerProcess.statisticsLine(proxy.statistics, prefix: ImpairmentProxy.statisticsPrefix)) }
    }
}
