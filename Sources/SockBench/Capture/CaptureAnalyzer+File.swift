import Foundation

extension CaptureAnalyzer {
    /// Runs the live analysis over a pcap or pcapng file, for example one tcpdump wrote.
    /// With a server port, only that port's TCP and UDP traffic is read (as a live capture filters).
    public static func analyze(file path: String, configuration: Configuration) throws(CaptureError) -> CaptureAnalysis {
        try analyze(file: path, configuration: configuration, windowStart: nil).window
    }

    /// The same, split at `windowStart` (a packet timestamp, ns since the epoch): packets before it
    /// are the warm-up's, the rest the measured window's. A run's capture is analysed this way
    /// after the run, from the file its capture thread wrote.
    public static func analyze(file path: String, configuration: Configuration,
                               windowStart: UInt64?) throws(CaptureError) -> (window: CaptureAnalysis, warmup: CaptureAnalysis?) {
        let filter = configuration.serverPort.map { "port \($0)" }
        let capture = try PacketCapture.file(path: path, filter: filter)
        var analyzer = CaptureAnalyzer(configuration: configuration, linkType: capture.linkType)
        let split = windowStart ?? .max
        do {
            try capture.run { frame in
                if frame.timestampNanoseconds >= split { analyzer.openWindow() }
                return analyzer.consume(frame)
            }
        } catch {
            // A file damaged part-way: say which file, as the opening error does.
            throw CaptureError(error.code, "cannot read \(path) to its end: \(error.message)")
        }
        // A window that opened with no packet after it still splits: everything seen was warm-up.
        if windowStart != nil { analyzer.openWindow() }
        return (analyzer.finish(), analyzer.warmup)
    }
}

extension CaptureAnalyzer.Configuration {
    /// The settings the live analysis used, when the file is a run's `capture.pcap` with its
    /// `report.json` beside it: the server port and the message sizes. Nil for any other file.
    public static func fromReport(nextTo pcapPath: String) -> CaptureAnalyzer.Configuration? {
        let url = URL(fileURLWithPath: pcapPath)
        let reportURL = url.deletingLastPathComponent().appendingPathComponent("report.json")
        guard let data = try? Data(contentsOf: reportURL),
              let report = try? JSONDecoder.snakeCase.decode(Report.self, from: data),
              let run = report.runs.first(where: { $0.capture?.details.file == url.lastPathComponent }),
              let target = try? SocketAddress(parsing: run.target)
        else { return nil }
        let sizes = run.capture?.analysis?.tcp?.messageSizeBytes
        return CaptureAnalyzer.Configuration(serverPort: target.port, messageSizes: sizes)
    }
}
