import ProxymCore
import ProxymPosix
import ProxymRuntime

/// `proxym-fake-marathon --attack MODE --target PORT [--connections N] [--for 10s]`: a hostile
/// client of proxym's callback receiver, for the fault tests and the README's figures. Every
/// connection the receiver closes is opened again 50 ms later, so the pressure lasts the whole run.
///
/// - `pipeline`: POSTs callbacks back to back as fast as the socket takes them, never reading an
///   answer (default 1 connection);
/// - `silent`: connects and sends nothing (default 64 connections);
/// - `slowloris`: starts a request and sends one more byte a second, never finishing it (default 500).
///
/// Prints one line at the end: connections made, closed by the receiver, bytes sent.
final class Attack {
    enum Mode: String {
        case pipeline, silent, slowloris

        var defaultConnections: Int {
            switch self {
            case .pipeline: 1
            case .silent: 64
            case .slowloris: 500
            }
        }
    }

    private let loop: EventLoop
    private let mode: Mode
    private let port: UInt16
    private var slots: [Slot?]
    private var connects = 0
    private var closedByPeer = 0
    private var connectFailures = 0
    private var bytesSent = 0
    private var trickleIndex = 0

    static let callback: [UInt8] = {
        let body = #"{"eventType":"status_update_event","timestamp":"2024-01-01T00:00:00.000Z"}"#
        let one = "POST /callback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        return Array(String(repeating: one, count: 256).utf8)
    }()
    static let slowStart = Array("POST /callback HTTP/1.1\r\nHost: 127.0.0.1\r\n".utf8)

    final class Slot {
        let fd: OwnedFD
        var registration: EventLoop.Registration?
        init(fd: consuming OwnedFD) { self.fd = fd }
    }

    init(loop: EventLoop, mode: Mode, port: UInt16, connections: Int) {
        self.loop = loop
        self.mode = mode
        self.port = port
        slots = Array(repeating: nil, count: connections)
    }

    func start(for duration: Duration, done: @escaping (String) -> Void) {
        for index in slots.indices { open(index) }
        if mode == .slowloris { trickle() }
        loop.schedule(after: duration) { [self] in
            for index in slots.indices { drop(index) }
            done(
                "attack \(mode.rawValue): \(slots.count) connections, \(connects) connects, \(closedByPeer) closed by the receiver, "
                    + "\(connectFailures) connects failed, \(bytesSent) bytes sent")
        }
    }

    private func open(_ index: Int) {
        let fd: OwnedFD
        do {
            fd = try Socket.connectTCP(host: "127.0.0.1", port: port, timeout: .milliseconds(200), nonBlocking: true)
        } catch {
            connectFailures += 1
            reopen(index)
            return
        }
        connects += 1
        let raw = fd.rawValue
        let slot = Slot(fd: fd)
        slots[index] = slot
        switch mode {
        case .pipeline:
            try? Socket.setReceiveBufferSize(raw, 4096)  // the answers back up at once
            slot.registration = try? loop.register(fd: raw, events: .out) { [weak self] events in
                self?.pipelineReady(index, events)
            }
        case .silent, .slowloris:
            if mode == .slowloris { send(index, Self.slowStart) }
            slot.registration = try? loop.register(fd: raw, events: .in) { [weak self] _ in self?.readable(index) }
        }
    }

    private func reopen(_ index: Int) {
        loop.schedule(after: .milliseconds(50)) { [weak self] in
            guard let self, self.slots.indices.contains(index), self.slots[index] == nil else { return }
            self.open(index)
        }
    }

    private func drop(_ index: Int) {
        guard let slot = slots[index] else { return }
        if let registration = slot.registration { loop.deregister(registration) }
        slots[index] = nil
    }

    private func peerClosed(_ index: Int) {
        guard slots[index] != nil else { return }
        closedByPeer += 1
        drop(index)
        reopen(index)
    }

    /// Never reads: writes until the kernel's buffers are full, waits, writes again.
    private func pipelineReady(_ index: Int, _ events: Epoll.Events) {
        if events.contains(.err) || events.contains(.hup) {
            peerClosed(index)
            return
        }
        send(index, Self.callback)
    }

    private func send(_ index: Int, _ bytes: [UInt8]) {
        guard let slot = slots[index] else { return }
        switch try? Socket.send(slot.fd.rawValue, bytes) {
        case .ready(let count)?: bytesSent += count
        case .wouldBlock?: break
        case nil: peerClosed(index)
        }
    }

    /// Silent and slowloris connections read only to learn that the receiver closed them.
    private func readable(_ index: Int) {
        guard let slot = slots[index] else { return }
        while true {
            switch try? slot.fd.read(maxBytes: 4096) {
            case .ready(let bytes)? where !bytes.isEmpty: continue
            case .wouldBlock?: return
            default:
                peerClosed(index)
                return
            }
        }
    }

    /// One byte a second per connection, spread over the second.
    private func trickle() {
        let perTick = max(1, slots.count / 10)
        for _ in 0..<perTick {
            trickleIndex = (trickleIndex + 1) % slots.count
            send(trickleIndex, Array("X".utf8))
        }
        loop.schedule(after: .milliseconds(100)) { [weak self] in self?.trickle() }
    }
}
