internal import CCurl
import Glibc

/// A libcurl multi handle driven by an external event loop (the "multi socket" interface).
///
/// libcurl says what to watch, the owner watches it and reports back:
/// - `onSocket(fd, interest)`: start, change or stop (`.remove`) watching `fd`
///   (CURLMOPT_SOCKETFUNCTION). `.remove` does not mean closed: an idle connection stays open
///   in the connection cache, unwatched.
/// - `onTimer(delay)`: call `timeoutAction()` once `delay` has passed; nil cancels
///   (CURLMOPT_TIMERFUNCTION). A delay of zero means "on the next loop iteration".
/// The owner calls `socketAction(fd, readiness)` when a watched fd is ready and
/// `timeoutAction()` when the timer fires, then collects finished transfers with `nextDone()`.
///
/// The fds passed to `onSocket` belong to this object and stay open until `onSocket(fd,
/// .remove)` has returned, so the owner can always take them out of epoll (an fd that is
/// already closed can not be, and its number may already name something else). They are
/// close-on-exec duplicates of libcurl's sockets, because libcurl 7.88 to 8.1 (Debian 12 ships
/// 7.88.1) close a socket that never finished connecting (refused, connect timeout, transfer
/// removed while connecting) with a plain close(2): no CLOSESOCKETFUNCTION, and the
/// CURL_POLL_REMOVE only afterwards (curl/curl#11439, fixed in 8.2.0; observed here). The
/// duplicate keeps the socket alive until this object notices: after every libcurl call it
/// checks (fstat: still open, same inode?) each socket it knows, and retires the ones libcurl
/// closed behind its back; and a new socket that reuses such a number inherits the old one's
/// watch, since libcurl believes that number is still watched.
///
/// Every socket libcurl connects with is created here (CURLOPT_OPENSOCKETFUNCTION), CLOEXEC and
/// NONBLOCK from the start, so no child process ever inherits one; `openSocketCount` counts
/// those not yet closed (the cached connections included). Sockets libcurl makes itself (the
/// threaded resolver's socketpair) are watched the same way.
///
/// The closures run synchronously inside the calls above (and inside `add`, `remove` and
/// `close`), on the caller's thread. They must not call back into this object: libcurl forbids
/// it (CURLM_RECURSIVE_API_CALL), and a precondition enforces it here.
public final class CurlMulti {
    /// Which readiness libcurl wants for a socket (CURL_POLL_*).
    public enum Interest: Sendable, Hashable {
        case read, write, readWrite
        /// Stop watching (the socket may stay open in the connection cache).
        case remove
    }

    /// What the loop saw on a socket (CURL_CSELECT_*), passed to `socketAction`.
    public struct Readiness: OptionSet, Sendable, Hashable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let readable = Readiness(rawValue: CURL_CSELECT_IN)
        public static let writable = Readiness(rawValue: CURL_CSELECT_OUT)
        public static let error = Readiness(rawValue: CURL_CSELECT_ERR)
    }

    public var onSocket: ((CInt, Interest) -> Void)?
    public var onTimer: ((Duration?) -> Void)?

    /// Which open file description an fd number names (st_dev, st_ino).
    private struct Identity: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    /// A socket libcurl asked us to watch and the duplicate the owner watches instead.
    private struct Watch {
        let socket: CInt
        let watchFD: CInt
        let identity: Identity
        var interest: Interest
    }

    /// The CURLM*; nil once closed.
    private var handle: UnsafeMutableRawPointer?
    private var easies: [UnsafeMutableRawPointer: CurlEasy] = [:]
    /// By libcurl's fd.
    private var watches: [CInt: Watch] = [:]
    /// The owner's fd -> libcurl's fd.
    private var socketsByWatchFD: [CInt: CInt] = [:]
    /// Sockets made by CURLOPT_OPENSOCKETFUNCTION and not yet closed.
    private var created: [CInt: Identity] = [:]
    /// > 0 while a curl call is running (and with it our callbacks).
    private var depth = 0

    public init() throws(CurlError) {
        try Curl.initialize()
        guard let handle = curl_multi_init() else { throw CurlError(call: "curl_multi_init", code: .outOfMemory) }
        self.handle = handle
        let me = Unmanaged.passUnretained(self).toOpaque()

        // Sound: libcurl calls these only synchronously, from inside curl_multi_socket_action,
        // curl_multi_add_handle, curl_multi_remove_handle or curl_multi_cleanup, all of which
        // this class calls on its owner's thread (the loop thread); and only while the handle
        // exists, which ends in `close()` (run by deinit at the latest) before `self` goes away.
        // `self` is passed unretained. They capture nothing.
        let socket: curl_socket_callback = { _, fd, what, userdata, _ in
            guard let userdata else { return 0 }
            let multi = Unmanaged<CurlMulti>.fromOpaque(userdata).takeUnretainedValue()
            let interest: Interest
            switch what {
            case CURL_POLL_IN: interest = .read
            case CURL_POLL_OUT: interest = .write
            case CURL_POLL_INOUT: interest = .readWrite
            case CURL_POLL_REMOVE: interest = .remove
            default: return 0  // CURL_POLL_NONE: nothing to do
            }
            multi.curlWatch(fd, interest)
            return 0
        }
        let timer: curl_multi_timer_callback = { _, milliseconds, userdata in
            guard let userdata else { return 0 }
            let multi = Unmanaged<CurlMulti>.fromOpaque(userdata).takeUnretainedValue()
            multi.onTimer?(milliseconds < 0 ? nil : .milliseconds(milliseconds))
            return 0
        }
        var code = proxym_curl_multi_setopt_socket_function(handle, CURLMOPT_SOCKETFUNCTION, socket)
        if code == CURLM_OK { code = proxym_curl_multi_setopt_pointer(handle, CURLMOPT_SOCKETDATA, me) }
        if code == CURLM_OK { code = proxym_curl_multi_setopt_timer_function(handle, CURLMOPT_TIMERFUNCTION, timer) }
        if code == CURLM_OK { code = proxym_curl_multi_setopt_pointer(handle, CURLMOPT_TIMERDATA, me) }
        if code != CURLM_OK {
            throw CurlError(call: "curl_multi_setopt", multiCode: Curl.MultiCode(code))
        }
    }

    deinit {
        close()
    }

    /// Transfers added and not yet removed.
    public var transferCount: Int { easies.count }

    /// Sockets libcurl opened and has not closed yet (cached idle connections included).
    public var openSocketCount: Int { created.count }

    /// fds currently handed to the owner to watch.
    public var watchedCount: Int { watches.count }

    public var isClosed: Bool { handle == nil }

    private func enter(_ function: StaticString = #function) -> UnsafeMutableRawPointer {
        precondition(depth == 0, "CurlMulti.\(function) called from inside a libcurl callback")
        guard let handle else { preconditionFailure("CurlMulti.\(function) after close()") }
        return handle
    }

    /// Starts `easy` (curl_multi_add_handle). libcurl answers through `onTimer` (usually a zero
    /// delay), and the transfer makes progress from the next `timeoutAction()` on.
    public func add(_ easy: CurlEasy) throws(CurlError) {
        let handle = enter()
        precondition(easies[easy.handle] == nil, "CurlEasy added twice")
        // Sockets may outlive the easy handle (the multi's connection cache keeps them), so the
        // open/close callbacks report to the multi handle, not to the easy one.
        // Sound for the same reasons as the socket and timer callbacks: libcurl opens and closes
        // sockets only inside the multi calls this class makes on its owner's thread, and every
        // connection (each holding a copy of these pointers) is gone once curl_multi_cleanup in
        // `close()` has returned, before `self` goes away. They capture nothing.
        let open: curl_opensocket_callback = { userdata, _, address in
            guard let userdata, let address else { return proxym_curl_socket_bad() }
            let multi = Unmanaged<CurlMulti>.fromOpaque(userdata).takeUnretainedValue()
            return multi.openSocket(address.pointee)
        }
        let close: curl_closesocket_callback = { userdata, fd in
            guard let userdata else { return 0 }
            let multi = Unmanaged<CurlMulti>.fromOpaque(userdata).takeUnretainedValue()
            multi.closeSocket(fd)
            return 0
        }
        try easy.setSocketCallbacks(open: open, close: close, userdata: Unmanaged.passUnretained(self).toOpaque())
        depth += 1
        let code = curl_multi_add_handle(handle, easy.handle)
        depth -= 1
        sweep()
        if code != CURLM_OK { throw CurlError(call: "curl_multi_add_handle", multiCode: Curl.MultiCode(code)) }
        easies[easy.handle] = easy
    }

    /// Stops `easy` (curl_multi_remove_handle), whether finished or not. Its connection goes back
    /// to the cache when reusable; otherwise it is closed now (after `.remove` for its fd).
    public func remove(_ easy: CurlEasy) {
        let handle = enter()
        guard easies.removeValue(forKey: easy.handle) != nil else { return }
        depth += 1
        _ = curl_multi_remove_handle(handle, easy.handle)
        depth -= 1
        sweep()
    }

    /// Tells libcurl that `fd` (one given to `onSocket`) is ready (curl_multi_socket_action).
    /// `.badSocket` (libcurl no longer knows the fd) is harmless; other codes mean libcurl
    /// itself is broken.
    @discardableResult
    public func socketAction(_ fd: CInt, readiness: Readiness) -> Curl.MultiCode {
        let handle = enter()
        guard let socket = socketsByWatchFD[fd] else { return .badSocket }
        var running: Int32 = 0
        depth += 1
        let code = curl_multi_socket_action(handle, socket, readiness.rawValue, &running)
        depth -= 1
        sweep()
        return Curl.MultiCode(code)
    }

    /// Tells libcurl its timer expired (curl_multi_socket_action with CURL_SOCKET_TIMEOUT).
    @discardableResult
    public func timeoutAction() -> Curl.MultiCode {
        let handle = enter()
        var running: Int32 = 0
        depth += 1
        let code = curl_multi_socket_action(handle, proxym_curl_socket_timeout(), 0, &running)
        depth -= 1
        sweep()
        return Curl.MultiCode(code)
    }

    /// The next finished transfer and its result (curl_multi_info_read), or nil. The transfer
    /// is still added; `remove` it before reusing or dropping it.
    public func nextDone() -> (easy: CurlEasy, result: Curl.Code)? {
        let handle = enter()
        var left: Int32 = 0
        while let message = curl_multi_info_read(handle, &left) {
            guard message.pointee.msg == CURLMSG_DONE, let raw = message.pointee.easy_handle, let easy = easies[raw]
            else { continue }
            return (easy, Curl.Code(proxym_curl_msg_result(message)))
        }
        return nil
    }

    /// Stops watching everything (`.remove` for each watched fd), removes every transfer, then
    /// closes the cached connections (curl_multi_cleanup). Idempotent; deinit does it too.
    public func close() {
        guard let handle else { return }
        precondition(depth == 0, "CurlMulti.close called from inside a libcurl callback")
        for socket in Array(watches.keys) { stopWatching(socket) }
        depth += 1
        for raw in easies.keys { _ = curl_multi_remove_handle(handle, raw) }
        easies.removeAll()
        _ = curl_multi_cleanup(handle)
        depth -= 1
        self.handle = nil
        for socket in Array(watches.keys) { stopWatching(socket) }
        // curl_multi_cleanup closed every socket, some perhaps without telling us.
        created.removeAll()
    }

    // MARK: sockets

    /// CURLMOPT_SOCKETFUNCTION.
    private func curlWatch(_ socket: CInt, _ interest: Interest) {
        if interest == .remove {
            stopWatching(socket)
            return
        }
        if var watch = watches[socket] {
            watch.interest = interest
            watches[socket] = watch
            onSocket?(watch.watchFD, interest)
            return
        }
        // libcurl only hands over open sockets; a failure here means fd exhaustion (EMFILE).
        // Unwatched, the transfer then ends at its timeout.
        guard let identity = CurlMulti.identity(of: socket) else { return }
        let watchFD = fcntl(socket, F_DUPFD_CLOEXEC, 0)
        guard watchFD >= 0 else { return }
        watches[socket] = Watch(socket: socket, watchFD: watchFD, identity: identity, interest: interest)
        socketsByWatchFD[watchFD] = socket
        onSocket?(watchFD, interest)
    }

    /// Tells the owner to stop watching, then closes the duplicate.
    private func stopWatching(_ socket: CInt) {
        guard let watch = watches.removeValue(forKey: socket) else { return }
        socketsByWatchFD[watch.watchFD] = nil
        onSocket?(watch.watchFD, .remove)
        try? Descriptor.close(watch.watchFD)
    }

    /// CURLOPT_OPENSOCKETFUNCTION.
    private func openSocket(_ address: curl_sockaddr) -> CInt {
        let type = address.socktype | Int32(SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue)
        let fd = Glibc.socket(address.family, type, address.protocol)
        // On failure curl reports CURLE_COULDNT_CONNECT for this address and tries the next.
        if fd < 0 { return proxym_curl_socket_bad() }
        // The kernel just handed out this number, so a record under it is stale: libcurl closed
        // that socket itself. libcurl still believes the number is watched (with the old
        // interest) and will not say so again, so the new socket takes the watch over.
        let carried = watches[fd]?.interest
        stopWatching(fd)
        created[fd] = CurlMulti.identity(of: fd)
        if let carried { curlWatch(fd, carried) }
        return fd
    }

    /// CURLOPT_CLOSESOCKETFUNCTION.
    private func closeSocket(_ fd: CInt) {
        stopWatching(fd)
        created[fd] = nil
        do {
            try Descriptor.close(fd)
        } catch {
            // close(2) on Linux releases the fd even when it reports an error (EIO, ...).
        }
    }

    /// Retires sockets libcurl closed without CLOSESOCKETFUNCTION (see the type's comment).
    /// Runs after every libcurl call, before control returns to the owner's loop.
    private func sweep() {
        for (socket, watch) in watches where CurlMulti.identity(of: socket) != watch.identity {
            stopWatching(socket)
        }
        for (socket, identity) in created where CurlMulti.identity(of: socket) != identity {
            created[socket] = nil
        }
    }

    /// nil for a closed fd (no EBADF trap here: a closed fd is an answer).
    private static func identity(of fd: CInt) -> Identity? {
        CurrentProcess.fileIdentity(fd).map { Identity(device: $0.device, inode: $0.inode) }
    }
}
