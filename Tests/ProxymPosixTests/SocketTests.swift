import ProxymPosix
import ProxymTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct SocketTests {
    func roundTrip(host: String) throws {
        let listener = try Socket.listenTCP(host: host, port: 0)
        #expect(listener.port != 0)
        #expect(try Descriptor.isNonBlocking(listener.fd.rawValue))
        #expect(try Socket.accept(listener.fd.rawValue).isWouldBlock)

        let client = try Socket.connectTCP(host: host, port: listener.port, timeout: .seconds(5))
        #expect(try !Descriptor.isNonBlocking(client.rawValue))
        var entries = [Poll.Entry(fd: listener.fd.rawValue, events: .in)]
        #expect(try Poll.wait(&entries, timeout: .seconds(5)) == 1)
        guard case .ready(let server) = try Socket.accept(listener.fd.rawValue) else {
            Issue.record("no connection to accept")
            return
        }
        #expect(try Descriptor.isNonBlocking(server.rawValue))
        #expect(try Descriptor.isCloseOnExec(server.rawValue))
        #expect(try Socket.peerDescription(server.rawValue).hasPrefix(host == "::1" ? "[::1]:" : "127.0.0.1:"))

        try Socket.sendAll(client.rawValue, Array("ping".utf8))
        entries = [Poll.Entry(fd: server.rawValue, events: .in)]
        #expect(try Poll.wait(&entries, timeout: .seconds(5)) == 1)
        #expect(try server.read(maxBytes: 64) == .ready(Array("ping".utf8)))
        #expect(try Socket.send(server.rawValue, Array("pong".utf8)) == .ready(4))
        #expect(try client.read(maxBytes: 64) == .ready(Array("pong".utf8)))
        try Socket.shutdown(client.rawValue, .write)
        #expect(try Poll.wait(&entries, timeout: .seconds(5)) == 1)
        #expect(try server.read(maxBytes: 64) == .ready([]))  // EOF
    }

    @Test func ipv4ListenAcceptConnectReadWriteShutdown() throws {
        try roundTrip(host: "127.0.0.1")
    }

    @Test(.enabled(if: FileSystem.exists("/proc/net/if_inet6"))) func ipv6ListenAcceptConnect() throws {
        try roundTrip(host: "::1")
    }

    @Test func connectionRefusedAndBadHost() throws {
        let port = try freeTCPPort()
        let refused = #expect(throws: SysError.self) {
            _ = try Socket.connectTCP(host: "127.0.0.1", port: port, timeout: .seconds(5))
        }
        #expect(refused?.isConnectionRefused == true)
        let bad = #expect(throws: SysError.self) { _ = try Socket.listenTCP(host: "not-an-address", port: 0) }
        #expect(bad?.errno == SysError.Code.invalidArgument)
    }

    @Test func sendToAGonePeerIsEPIPENotSIGPIPE() throws {
        var pair = try Socket.pair()
        pair.second = try FileSystem.openForReading("/dev/null")  // the peer closes
        let error = #expect(throws: SysError.self) { _ = try Socket.send(pair.first.rawValue, [1]) }
        #expect(error?.errno == SysError.Code.brokenPipe)
    }

    @Test func unixDatagramRecordsWhatIsSent() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/notify.sock"
            let socket = try UnixDatagram.bind(path: path)
            #expect(try UnixDatagram.receive(socket.rawValue).isWouldBlock)
            try UnixDatagram.send(Array("READY=1".utf8), to: path)
            try UnixDatagram.send(Array("STATUS=ok".utf8), to: path)
            #expect(try UnixDatagram.receive(socket.rawValue) == .ready(Array("READY=1".utf8)))
            #expect(try UnixDatagram.receive(socket.rawValue) == .ready(Array("STATUS=ok".utf8)))
            let long = String(repeating: "x", count: 200)
            let error = #expect(throws: SysError.self) { _ = try UnixDatagram.bind(path: directory + "/" + long) }
            #expect(error?.errno != nil)
        }
    }

    /// The test client's response parser, fed by a real socket: the whole exchange fits in the
    /// socket buffers, so one thread can play both sides.
    @Test func chunkedResponseOverARealConnection() throws {
        let listener = try Socket.listenTCP(host: "127.0.0.1", port: 0)
        let client = try Socket.connectTCP(host: "127.0.0.1", port: listener.port, timeout: .seconds(5))
        var entries = [Poll.Entry(fd: listener.fd.rawValue, events: .in)]
        #expect(try Poll.wait(&entries, timeout: .seconds(5)) == 1)
        guard case .ready(let server) = try Socket.accept(listener.fd.rawValue) else {
            Issue.record("no connection to accept")
            return
        }
        try Socket.sendAll(client.rawValue, Array("GET / HTTP/1.1\r\n\r\n".utf8))
        try Descriptor.setNonBlocking(server.rawValue, false)
        try Socket.sendAll(
            server.rawValue,
            Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".utf8)
        )
        try Socket.shutdown(server.rawValue, .both)
        var received: [UInt8] = []
        while case .ready(let chunk) = try client.read(maxBytes: 4096), !chunk.isEmpty { received += chunk }
        let response = try #require(parseHTTPResponse(received))
        #expect(response.status == 200)
        #expect(response.header("Transfer-Encoding") == "chunked")
        #expect(String(decoding: response.body, as: UTF8.self) == "hello world")
    }

    @Test func httpGetWithNobodyListeningIsNilNotAHang() throws {
        #expect(httpGet(port: try freeTCPPort(), timeout: .seconds(2)) == nil)
    }
}

extension IOResult where T: ~Copyable {
    var isWouldBlock: Bool {
        switch self {
        case .wouldBlock: return true
        case .ready: return false
        }
    }
}
