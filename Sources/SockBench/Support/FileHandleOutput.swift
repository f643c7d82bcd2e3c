import CSockBenchLinux
import Glibc

/// Line output straight to a descriptor, flushed at once (stdout of `serve` is a pipe the parent reads).
public enum FileHandleOutput {
    public static func standardOutput(_ line: String, terminator: String = "\n") { write(line + terminator, to: STDOUT_FILENO) }
    public static func standardError(_ line: String) { write(line + "\n", to: STDERR_FILENO) }

    static func write(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 { if errno == EINTR { continue }; return }
            offset += written
        }
    }
}
