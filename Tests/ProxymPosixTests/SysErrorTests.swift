import ProxymPosix
import ProxymTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct SysErrorTests {
    @Test func descriptionNamesCallArgumentMessageAndErrno() {
        let error = SysError(call: "open(/etc/haproxy/x.tmp)", errno: SysError.Code.permissionDenied)
        #expect(error.description == "open /etc/haproxy/x.tmp: Permission denied (errno 13)")
        #expect(error.isPermissionDenied)
        #expect(!error.isNoEntry)
    }

    @Test func descriptionWithoutArgument() {
        #expect(
            SysError(call: "epoll_create1", errno: SysError.Code.noSpace).description
                == "epoll_create1: No space left on device (errno 28)"
        )
        #expect(
            SysError(call: "pipe2()", errno: SysError.Code.noEntry).description
                == "pipe2: No such file or directory (errno 2)"
        )
    }

    @Test func namedErrnos() {
        #expect(SysError(call: "x", errno: SysError.Code.wouldBlock).isWouldBlock)
        #expect(SysError(call: "x", errno: SysError.Code.noEntry).isNoEntry)
        #expect(SysError(call: "x", errno: SysError.Code.exists).isExists)
        #expect(SysError(call: "x", errno: SysError.Code.noSuchProcess).isNoSuchProcess)
        #expect(SysError(call: "x", errno: SysError.Code.noSpace).isNoSpace)
    }

    @Test func realFailureCarriesCallAndPath() throws {
        try withTemporaryDirectory { directory in
            let missing = directory + "/nope"
            let error = #expect(throws: SysError.self) { _ = try FileSystem.openForReading(missing) }
            #expect(error?.call == "open(\(missing))")
            #expect(error?.isNoEntry == true)
            #expect(error?.description == "open \(missing): No such file or directory (errno 2)")
        }
    }

    /// EBADF means a bug in proxym, so the syscall helper traps instead of throwing.
    @Test func badDescriptorTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = try? Descriptor.read(987_654, maxBytes: 16)
        }
    }

    /// close(2) of a closed fd is a double close: it traps too.
    @Test func doubleCloseTraps() async {
        await #expect(processExitsWith: .failure) {
            let file = try FileSystem.openForReading("/dev/null")
            let raw = file.rawValue
            try file.close()
            try? Descriptor.close(raw)
        }
    }
}
