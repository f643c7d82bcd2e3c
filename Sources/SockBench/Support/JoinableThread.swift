import CSockBenchLinux
import Glibc

/// A POSIX thread that can be joined: event loops run on plain threads with their own state
/// (no async hop on the per-message path), and results are read after `join`.
public final class JoinableThread: @unchecked Sendable {
    private var handle = pthread_t()
    private var joined = false

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    public init(name: String, _ body: @escaping @Sendable () -> Void) throws(SocketError) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw SocketError(call: "pthread_create", errno: result)
        }
    }

    public func join() {
        guard !joined else { return }
        joined = true
        pthread_join(handle, nil)
    }
}
