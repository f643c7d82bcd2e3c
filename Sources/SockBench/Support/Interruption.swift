import CSockBenchLinux

/// SIGINT and SIGTERM for `sockbench run`: the first asks the run to stop (the load ends within
/// tens of milliseconds, capture and server stop in order, a partial report is written, exit 130);
/// the second kills the reference servers, removes temporary files and exits with 130 at once.
/// The handler itself is C (`CSockBenchLinux`), so it does only async-signal-safe things.
public enum Interruption {
    public static func install() {
        _ = CSockBenchLinux_install_interrupt_handlers()
    }

    /// "SIGINT" or "SIGTERM" once one arrived; nil before.
    public static var signalName: String? {
        let signal = CSockBenchLinux_interrupt_signal()
        guard signal != 0 else { return nil }
        return CSockBenchLinux_signal_name(signal).map { String(cString: $0) } ?? "signal \(signal)"
    }

    /// The exit code of an interrupted run (128 + SIGINT, as shells report it).
    public static let exitCode: Int32 = 130
}
