import ProxymJSON

/// Decodes `GET /v2/apps?embed=apps.tasks` while it arrives: each app is handed out as soon as its
/// last byte is in, and only the bytes of the app being received are kept. A body of 5,000 apps is
/// tens of megabytes; this way neither the body nor the decoded snapshot is ever held whole, and the
/// decoding runs while the rest of the body is still on the wire.
///
/// The verdict is exactly ``MarathonApps/decode(appsWithTasks:)-([UInt8])``'s, whatever the pieces (the
/// tests split bodies at every offset): the same apps in the same order, the same problems, the same
/// errors with the same positions, with one exception: a body over ``JSONLimits/maxBytes`` is refused
/// as soon as it gets there, not once it is all in. When ``feed(_:app:)`` or ``finish(app:)`` throws, the
/// whole body is unusable: drop every app handed out so far.
///
/// How: the same strict cursor reads the body one step at a time (the top-level object's members, and
/// each element of `apps`) over what has arrived. A step that runs out of input is simply tried again
/// once more has arrived (after the input at least doubled, so a huge app costs linear time); a step
/// that ends exactly at the end of the input is tried again too (a number there may go on). Once the
/// body is complete (``finish(app:)``), an error is an error; so is one that lies well before the end
/// of what has arrived (an invalid body is not kept in memory until its end).
public struct MarathonAppsStream {
    private enum State: Equatable {
        /// Before the top-level value.
        case start
        /// The top-level value is not an object: it is read only to check the JSON.
        case skipTop
        /// Inside the top-level object, before a member or its `}`.
        case member(first: Bool)
        /// Inside an `apps` array, before an element or its `]`.
        case element(first: Bool, index: Int)
        /// After the top-level value: only whitespace may follow.
        case end

        var depth: Int {
            switch self {
            case .start, .skipTop, .end: return 0
            case .member: return 1
            case .element: return 2
            }
        }
    }

    private struct Step {
        var state: State
        var index: Int
        var app: MarathonApp?
        var problems: [String] = []
        var failure: FieldError?
        var sawApps = false
    }

    public let name: String
    private let limits: JSONLimits
    /// The most bytes one step (an app and its tasks) may take: what the stream holds at most.
    public let maxAppBytes: Int
    private var state = State.start
    /// Received and not decoded yet: the start of the next step (an app that is still arriving).
    private var pending: [UInt8] = []
    /// Where `pending[0]` (or the next piece, when nothing is pending) is in the body.
    private var origin = TextPosition()
    private var received = 0
    /// Do not try again before this many bytes are pending.
    private var retryAt = 0
    private var sawApps = false
    /// A needed top-level field of the wrong type (`"apps": "x"`): the body is unusable, but it is read
    /// to the end anyway, because invalid JSON later on is what gets reported then.
    private var failure: FieldError?
    private var finished = false

    /// One line per app left out (see ``MarathonSnapshot/problems``), in body order.
    public private(set) var problems: [String] = []
    /// Apps handed out so far.
    public private(set) var appCount = 0
    /// The largest app handed out so far, in body bytes.
    public private(set) var largestAppBytes = 0
    /// Body bytes received so far.
    public var byteCount: Int { received }

    /// - Parameters:
    ///   - name: the body's name in errors, as in ``MarathonDecodeError/body``.
    ///   - maxAppBytes: an app (with its tasks) still arriving when this much of it is pending makes
    ///     the body unusable: the stream never holds more than this (an endless app costs no more).
    public init(name: String = "/v2/apps", limits: JSONLimits = .default, maxAppBytes: Int = .max) {
        self.name = name
        self.limits = limits
        self.maxAppBytes = maxAppBytes
    }

    /// Takes the next piece of the body; `app` is called for every app it completes, in order.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, app: (MarathonApp) -> Void) throws(MarathonDecodeError) {
        precondition(!finished, "feed() after finish()")
        received += bytes.count
        guard received <= limits.maxBytes else {
            throw MarathonDecodeError(
                body: name, message: "invalid JSON: line 1, column 1: document is over \(limits.maxBytes) bytes, the limit")
        }
        guard pending.isEmpty else {
            pending.append(contentsOf: bytes)
            if pending.count >= retryAt { try decodePending(final: false, app: app) }
            try checkPending()
            return
        }
        // Nothing left over: decode the piece where it is, keep only what it ends with.
        let consumed = try advance(over: bytes, final: false, app: app)
        pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[consumed...]))
        try checkPending()
    }

    private func checkPending() throws(MarathonDecodeError) {
        guard pending.count > maxAppBytes else { return }
        throw MarathonDecodeError(
            body: name,
            message: "app \(appCount + 1) is over \(maxAppBytes) bytes and still arriving (the limit: a few times the largest app seen)")
    }

    public mutating func feed(_ bytes: [UInt8], app: (MarathonApp) -> Void) throws(MarathonDecodeError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(MarathonDecodeError) in try feed(raw, app: app) }
        }
        try result.get()
    }

    /// The body is complete: decodes the rest and checks that it ends where the JSON value does.
    public mutating func finish(app: (MarathonApp) -> Void) throws(MarathonDecodeError) {
        precondition(!finished, "finish() twice")
        finished = true
        try decodePending(final: true, app: app)
        if let failure { throw MarathonDecodeError(body: name, message: failure.description) }
        guard sawApps else {
            throw MarathonDecodeError(body: name, message: "expected an object with \"apps\" (or \"app\")")
        }
    }

    // MARK: Steps

    private mutating func decodePending(final: Bool, app: (MarathonApp) -> Void) throws(MarathonDecodeError) {
        let buffer = pending
        pending = []
        let result = buffer.withUnsafeBytes { raw in
            Result { () throws(MarathonDecodeError) -> Int in try advance(over: raw, final: final, app: app) }
        }
        let consumed = try result.get()
        pending = consumed == 0 ? buffer : Array(buffer[consumed...])
    }

    /// Runs steps over `bytes` (which start at `origin`) while they complete; returns how many bytes
    /// they consumed (`origin` then points after them).
    private mutating func advance(
        over bytes: UnsafeRawBufferPointer, final: Bool, app: (MarathonApp) -> Void
    ) throws(MarathonDecodeError) -> Int {
        var consumed = 0
        defer { origin.advance(over: UnsafeRawBufferPointer(rebasing: bytes[..<consumed])) }
        while true {
            let available = bytes.count - consumed
            if state == .end && available == 0 { return consumed }
            // A byte order mark may still be arriving.
            if state == .start && available < 3 && !final {
                retryAt = 3
                return consumed
            }
            var cursor = JSONCursor(resuming: bytes, at: origin, index: consumed, depth: state.depth, limits: limits)
            let step: Step
            do {
                step = try Self.step(state, &cursor)
            } catch {
                if !final, !Self.isGenuine(error, before: origin.offset + bytes.count) {
                    // The input ran out: try again once it has (at least) doubled.
                    retryAt = available * 2
                    return consumed
                }
                throw exactError(bytes, at: consumed)
            }
            if !final && step.index == bytes.count && step.state != .end {
                // Nothing after the step: a number at the very end may go on in the next piece.
                retryAt = available + 1
                return consumed
            }
            let consumedBefore = consumed
            consumed = step.index
            state = step.state
            problems += step.problems
            sawApps = sawApps || step.sawApps
            if failure == nil { failure = step.failure }
            if let decoded = step.app, failure == nil {
                largestAppBytes = max(largestAppBytes, step.index - consumedBefore)
                appCount += 1
                app(decoded)
            }
            retryAt = 0
        }
    }

    /// The error of the step at `index` with its line and column (steps that may only lack input
    /// leave them out: they are computed for the one error that stands).
    private func exactError(_ bytes: UnsafeRawBufferPointer, at index: Int) -> MarathonDecodeError {
        var position = origin
        position.advance(over: UnsafeRawBufferPointer(rebasing: bytes[..<index]))
        var cursor = JSONCursor(
            resuming: UnsafeRawBufferPointer(rebasing: bytes[index...]), at: position, index: 0, depth: state.depth,
            limits: limits, exactPositions: true)
        do {
            _ = try Self.step(state, &cursor)
        } catch {
            switch error {
            case .syntax(let json): return MarathonDecodeError(body: name, message: "invalid JSON: \(json)")
            case .field(let field): return MarathonDecodeError(body: name, message: field.description)
            }
        }
        preconditionFailure("a step failed once and then not")
    }

    /// Whether a syntax error found before the end of the input is one more input cannot undo. The
    /// cursor reports running out of input at most a few bytes before the end (the start of a cut
    /// literal, the escape before a cut surrogate pair, the lead byte of a cut UTF-8 sequence); an
    /// error further back is in what has arrived, and the body is unusable whatever follows.
    private static func isGenuine(_ error: CursorError, before end: Int) -> Bool {
        guard case .syntax(let json) = error else { return false }
        return json.offset < end - 16
    }

    /// One step from `state`: the cursor starts where the last step ended. Field errors of the top
    /// level become `failure` (the reading goes on); syntax errors are thrown.
    private static func step(_ state: State, _ c: inout JSONCursor) throws(CursorError) -> Step {
        switch state {
        case .start:
            let kind = try c.peek()
            guard kind == .object else {
                return Step(
                    state: .skipTop, index: c.index, failure: FieldError(path: "", message: "expected an object, got \(kind.phrase)"))
            }
            try c.enterObject()
            return Step(state: .member(first: true), index: c.index)

        case .skipTop:
            try c.skipValue()
            return Step(state: .end, index: c.index)

        case .member(let isFirst):
            var first = isFirst
            guard let key = try c.nextKey(&first) else { return Step(state: .end, index: c.index) }
            if c.spanEquals(key, "apps") {
                switch try c.peek() {
                case .null:
                    try c.readNull()
                    return Step(state: .member(first: false), index: c.index)
                case .array:
                    try c.enterArray()
                    var step = Step(state: .element(first: true, index: 0), index: c.index)
                    step.sawApps = true
                    return step
                case let kind:
                    try c.skipValue()
                    return Step(
                        state: .member(first: false), index: c.index,
                        failure: FieldError(path: "apps", message: "expected an array, got \(kind.phrase)"))
                }
            }
            if c.spanEquals(key, "app") {
                guard try c.peek() != .null else {
                    try c.readNull()
                    return Step(state: .member(first: false), index: c.index)
                }
                var step = Step(state: .member(first: false), index: 0)
                step.sawApps = true
                step.app = try MarathonApps.recovering(
                    &c, path: "app", problems: &step.problems, decode: MarathonApps.decodeApp)
                step.index = c.index
                return step
            }
            try c.skipValue()
            return Step(state: .member(first: false), index: c.index)

        case .element(let isFirst, let index):
            var first = isFirst
            guard try c.nextElement(&first) else { return Step(state: .member(first: false), index: c.index) }
            var step = Step(state: .element(first: false, index: index + 1), index: 0)
            step.app = try MarathonApps.recovering(
                &c, path: "apps[\(index)]", problems: &step.problems, decode: MarathonApps.decodeApp)
            step.index = c.index
            return step

        case .end:
            try c.finish()
            return Step(state: .end, index: c.index)
        }
    }
}
