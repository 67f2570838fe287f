import ProxymPosix

/// A listener on 127.0.0.1 that never accepts and whose accept queue is already full, so the
/// kernel drops the SYNs of any further connect, which then hangs: a connect timeout without
/// leaving the loopback. The filler connections and the listener close on deinit.
public final class FullBacklogListener {
    public let port: UInt16
    private let listener: OwnedFD
    private var fillers: [CInt] = []

    public init() throws {
        let listening = try Socket.listenTCP(host: "127.0.0.1", port: 0, backlog: 0)
        port = listening.port
        listener = listening.fd
        // Connect until one does not complete: the queue is full from then on.
        for _ in 0..<8 {
            guard let fd = try? Socket.connectTCP(host: "127.0.0.1", port: port, timeout: .milliseconds(200)) else {
                break
            }
            fillers.append(fd.release())
        }
        guard !fillers.isEmpty else {
            throw SysError(call: "connect(127.0.0.1:\(port))", errno: SysError.Code.timedOut)
        }
    }

    deinit {
        for fd in fillers { try? Descriptor.close(fd) }
    }
}
