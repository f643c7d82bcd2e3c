import ArgumentParser
import Foundation
import SockBench

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Analyse a pcap file the way `run` analyses its live capture.",
        discussion: """
        Reads a pcap or pcapng file (a run's capture.pcap, or one written by tcpdump or tshark) and prints \
        the capture section of a report: packets and bytes per direction, data segments and pure ACKs, \
        segments per message, handshake RTT, retransmissions, keepalive probes, data-to-ACK delay, UDP datagrams. \
        One flow per connection (a reused port opens a new one) and tshark's sequence analysis: \
        retransmissions, out of order, zero window and duplicate ACKs are the counts of tshark's \
        tcp.analysis.* filters on the same file.

        For a run's capture.pcap with its report.json beside it, the server port and message sizes are taken \
        from the report; the figures are the whole file's, which the run's report splits into warm-up and \
        measured window. Otherwise flows are oriented by their SYN (for UDP: the end many flows talk to, \
        else the receiver of the first datagram, is the server) unless --port names the server port.
        """
    )

    @Argument(help: "The pcap or pcapng file.")
    var file: String

    @Option(name: .long, help: ArgumentHelp("The server's port: only its TCP and UDP traffic is analysed, and it orients client and server.", valueName: "port"))
    var port: UInt16?

    @Option(name: .long, help: ArgumentHelp("Request size in bytes, for segments per message.", valueName: "bytes"))
    var messageSize: Int?

    @Option(name: .long, help: ArgumentHelp("Response size in bytes (default: the request size).", valueName: "bytes"))
    var responseSize: Int?

    @Flag(name: .long, help: "Print the analysis as JSON (the form report.json carries under runs[].capture).")
    var json = false

    func validate() throws {
        if let messageSize, messageSize < 1 { throw ValidationError("--message-size must be at least 1") }
        if let responseSize, responseSize < 1 { throw ValidationError("--response-size must be at least 1") }
        if responseSize != nil, messageSize == nil { throw ValidationError("--response-size needs --message-size") }
    }

    func run() throws {
        var configuration = CaptureAnalyzer.Configuration.fromReport(nextTo: file) ?? CaptureAnalyzer.Configuration()
        if let port { configuration.serverPort = port }
        if let messageSize {
            configuration.messageSizes = Directional(clientToServer: messageSize, serverToClient: responseSize ?? messageSize)
        }
        let analysis: CaptureAnalysis
        do {
            analysis = try CaptureAnalyzer.analyze(file: file, configuration: configuration)
        } catch {
            throw CommandFailure.badInput(error.message)
        }
        if json {
            let data = try JSONEncoder.snakeCase.encode(analysis)
            FileHandleOutput.standardOutput(String(decoding: data, as: UTF8.self))
        } else {
            let record = CaptureRecord(details: .init(status: .captured, file: file,
                                                      filter: configuration.serverPort.map { "port \($0)" }),
                                       analysis: analysis)
            FileHandleOutput.standardOutput(MarkdownReport.captureSection(record, heading: "## Capture: \(file)"))
        }
    }
}
