import Logging
import ProxymCore
import ProxymGenerators
import ProxymJSON
import ProxymModel
import ProxymObserve

// MARK: - One app at a time: the reads an event naming an app asks for

extension MarathonModule {
    /// One app's answer.
    enum AppRead {
        /// Decoded (`nil`: left out, with the problems saying why).
        case app(MarathonApp?, problems: [String])
        case removed
        /// Not usable: read everything instead.
        case failed(String)
    }

    /// `GET /v2/apps/<id>?embed=app.tasks` for each app (a few at a time), applied to the kept state
    /// once all have answered; the services (`nil` when no route changed). Any failure: a whole
    /// snapshot follows.
    func readApps(_ ids: [String], completion: @escaping (Result<[Service]?, GeneratorFailure>) -> Void) {
        var answers: [String: AppRead] = [:]
        var next = 0
        var inFlight = 0
        let started = loop.now
        func finish() {
            var failures: [String] = []
            var changed = false
            for id in ids {
                switch answers[id] ?? .failed("no answer") {
                case .app(let app, let problems):
                    lastProblems.subtract(kept.entries[id]?.problems ?? [])
                    let change = kept.apply(id: id, app: app, problems: problems)
                    lastProblems.formUnion(kept.entries[id]?.problems ?? [])
                    changed = changed || change.routesChanged
                    for problem in change.newProblems { logger.warning("\(problem)") }
                case .removed:
                    lastProblems.subtract(kept.entries[id]?.problems ?? [])
                    changed = kept.apply(id: id, app: nil).routesChanged || changed
                case .failed(let why):
                    failures.append("\(id): \(why)")
                }
            }
            logger.debug(
                "Marathon apps read", metadata: ["apps": "\(ids.count)", "changed": "\(changed)", "took": "\(loop.now - started)"])
            if !failures.isEmpty {
                // What did answer is applied; the rest comes with a whole snapshot.
                pendingWhole = true
                logger.warning(
                    "could not read an app from Marathon; reading everything",
                    metadata: ["error": "\(failures.joined(separator: "; "))"])
                fetches.request(RefreshReason("Marathon app read failed"))
            }
            completion(.success(changed ? kept.services : nil))
        }
        func launch() {
            while inFlight < Self.parallelAppReads, next < ids.count {
                let id = ids[next]
                next += 1
                inFlight += 1
                appReads += 1
                readApp(id) { [weak self] read in
                    guard let self, !self.stopped else { return }
                    answers[id] = read
                    inFlight -= 1
                    if next < ids.count {
                        launch()
                    } else if inFlight == 0 {
                        finish()
                    }
                }
            }
        }
        if ids.isEmpty {
            completion(.success(nil))
        } else {
            launch()
        }
    }

    func readApp(_ id: String, completion: @escaping (AppRead) -> Void) {
        guard let path = MarathonEvent.appPath(id) else {
            completion(.failed("not a plain app id"))
            return
        }
        api.send(.get, path) { result in
            switch result {
            case .failure(let failure):
                completion(.failed(failure.message))
            case .success(let response) where response.status == 404:
                completion(.removed)
            case .success(let response) where response.status == 200:
                do {
                    let snapshot = try MarathonApps.decode(appsWithTasks: response.body)
                    guard snapshot.apps.count <= 1, snapshot.apps.allSatisfy({ $0.id == id }) else {
                        completion(.failed("the answer is about \(snapshot.apps.map(\.id))"))
                        return
                    }
                    completion(.app(snapshot.apps.first, problems: snapshot.problems))
                } catch {
                    completion(.failed("invalid answer: \(error)"))
                }
            case .success(let response):
                completion(.failed("HTTP \(response.status) \(Self.excerpt(response.body))"))
            }
        }
    }
}
