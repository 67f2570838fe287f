import Logging
import ProxymCore
import ProxymPosix

extension HTTPClient {
    // MARK: libcurl → loop

    /// CURLMOPT_SOCKETFUNCTION, via `CurlMulti.onSocket`: runs inside a libcurl call.
    func watch(_ fd: CInt, _ interest: CurlMulti.Interest) {
        guard !closed else { return }
        let events: Epoll.Events
        switch interest {
        case .remove:
            unwatch(fd)
            return
        case .read: events = .in
        case .write: events = .out
        case .readWrite: events = [.in, .out]
        }
        if let registration = watched[fd] {
            do {
                try loop.modify(registration, events: events)
                return
            } catch {
                // Not expected (the fd is ours and registered); start over with a fresh
                // registration rather than leave the transfer unwatched.
                logger.error("http.socket.modify_failed", metadata: ["fd": "\(fd)", "error": "\(error)"])
                loop.deregister(registration)
                watched[fd] = nil
            }
        }
        do {
            watched[fd] = try loop.register(fd: fd, events: events) { [weak self] ready in
                self?.socketReady(fd, ready)
            }
        } catch {
            // Only resource exhaustion (ENOMEM, the epoll watch limit) gets here. The transfer
            // then ends at its timeout.
            logger.error("http.socket.register_failed", metadata: ["fd": "\(fd)", "error": "\(error)"])
        }
    }

    /// CURL_POLL_REMOVE (also sent before any watched socket is closed).
    func unwatch(_ fd: CInt) {
        guard let registration = watched.removeValue(forKey: fd) else { return }
        loop.deregister(registration)
    }

    /// CURLMOPT_TIMERFUNCTION, via `CurlMulti.onTimer`: runs inside a libcurl call.
    func armCurlTimer(_ delay: Duration?) {
        guard !closed else { return }
        if let curlTimer { loop.cancel(curlTimer) }
        curlTimer = nil
        guard let delay else { return }
        curlTimer = loop.schedule(after: delay) { [weak self] in
            guard let self, !self.closed else { return }
            self.curlTimer = nil  // before the call: libcurl may arm a new one inside it
            self.report(self.multi.timeoutAction())
            self.afterCurl()
        }
    }

    // MARK: loop → libcurl

    func socketReady(_ fd: CInt, _ events: Epoll.Events) {
        guard !closed else { return }
        var readiness: CurlMulti.Readiness = []
        if events.contains(.in) || events.contains(.rdhup) { readiness.insert(.readable) }
        if events.contains(.out) { readiness.insert(.writable) }
        if events.contains(.err) { readiness.insert(.error) }
        if events.contains(.hup) { readiness.formUnion([.readable, .writable]) }
        report(multi.socketAction(fd, readiness: readiness))
        afterCurl()
    }

    func report(_ code: Curl.MultiCode) {
        // badSocket: an event for an fd libcurl dropped meanwhile; harmless.
        guard code != .ok, code != .badSocket else { return }
        logger.error("http.curl.multi_error", metadata: ["error": "\(code)"])
    }

    /// After every libcurl call: hand queued stream data to callers, then end finished
    /// transfers. Callers' code runs here, outside libcurl, and may re-enter the client.
    func afterCurl() {
        while !queued.isEmpty {
            let batch = queued
            queued.removeAll()
            for transfer in batch { deliver(transfer) }
        }
        while !closed, let done = multi.nextDone() {
            guard let transfer = transfers[ObjectIdentifier(done.easy)] else {
                multi.remove(done.easy)
                continue
            }
            finish(transfer, easy: done.easy, result: done.result)
        }
    }

    /// Hands a stream transfer's head and pending data to its caller.
    func deliver(_ transfer: Transfer) {
        transfer.isQueued = false
        guard transfer.isActive, case .stream(let onHeaders, let onData, _) = transfer.mode else { return }
        if !transfer.headDelivered, let head = transfer.head {
            transfer.headDelivered = true
            onHeaders(head.status, head.headers)
        }
        guard transfer.isActive, !transfer.pendingData.isEmpty else { return }
        let pieces = transfer.pendingData
        transfer.pendingData = []
        for piece in pieces {
            guard transfer.isActive else { return }  // cancelled from onData
            onData(piece)
        }
    }
}
