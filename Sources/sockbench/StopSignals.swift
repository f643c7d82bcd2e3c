import CSockBenchLinux
import Glibc

/// How `serve` and `proxy` wait to be stopped: SIGINT or SIGTERM (through a signalfd, so no handler
/// runs on a worker thread), or, when started by `sockbench run`, their stdin closing.
struct StopSignals {
    private let signalFD: Int32

    /// Blocks the stop signals; call before any thread starts, so every thread inherits the mask.
    init() {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        signalFD = signalfd(-1, &signals, Int32(SFD_CLOEXEC))
    }

    /// Returns once a stop signal arrived, or stdin closed when `orStdinEOF`.
    func wait(orStdinEOF: Bool) {
        var watched = [pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
        if orStdinEOF { watched.append(pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)) }
        while true {
            if poll(&watched, nfds_t(watched.count), -1) < 0 { continue }
            if watched[0].revents != 0 { return }
            if watched.count > 1, watched[1].revents != 0 {
                var byte: UInt8 = 0
                if read(STDIN_FILENO, &byte, 1) <= 0 { return }
            }
        }
    }
}
