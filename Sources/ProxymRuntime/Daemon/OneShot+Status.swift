import ProxymCore
import ProxymPosix

extension OneShot {
    /// `proxym status`: one GET to the status listener, bounded by `timeout`. The answer, or why
    /// there is none (connection refused, timed out), phrased for a person.
    public static func fetchStatus(url: String, timeout: Duration) -> Result<HTTPClient.Response, HTTPClient.Failure> {
        let failure = { (message: String) in
            HTTPClient.Failure(kind: .connect, message: message, url: url)
        }
        do {
            let loop = try EventLoop()
            let client = try HTTPClient(loop: loop)
            defer { client.close() }
            var request = HTTPClient.Request(.get, url)
            request.timeout = timeout
            request.followRedirects = false
            request.maxBodySize = 16 << 20
            var result: Result<HTTPClient.Response, HTTPClient.Failure>?
            client.send(request) { result = $0 }
            let deadline = loop.now + timeout + .seconds(1)
            while result == nil && loop.now < deadline {
                try loop.runOnce(timeout: min(deadline - loop.now, .milliseconds(200)))
            }
            return result ?? .failure(failure("no answer within \(timeout)"))
        } catch {
            return .failure(failure("\(error)"))
        }
    }
}
