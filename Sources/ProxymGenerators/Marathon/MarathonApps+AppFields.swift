import ProxymJSON
import ProxymModel

extension MarathonApps {
    static func decodeLabels(_ c: inout JSONCursor) throws(CursorError) -> [String: String] {
        var labels: [String: String] = [:]
        guard try c.enterOptionalObject("labels") else { return labels }
        var first = true
        while let key = try c.nextKey(&first) {
            let wanted =
                key.hasEscapes || c.spanHasPrefix(key, "proxym.") || c.spanHasPrefix(key, "HAPROXY_")
            guard wanted else {
                try c.skipValue()
                continue
            }
            let name = c.string(key)
            guard name.hasPrefix("proxym.") || name.hasPrefix("HAPROXY_") else {
                try c.skipValue()
                continue
            }
            switch try c.peek() {
            case .string: labels[name] = try c.readString()
            case .null: try c.readNull()
            case let kind:
                throw .field(
                    FieldError(
                        path: "labels.\(ValidationError.escaped(name))",
                        message: "expected a string, got \(kind.phrase)"
                    )
                )
            }
        }
        return labels
    }

    struct ContainerFields {
        var dockerNetwork: String?
        var dockerPortMappings: [MarathonApp.PortMapping] = []
        var portMappings: [MarathonApp.PortMapping] = []
    }

    static func decodeContainer(_ c: inout JSONCursor) throws(CursorError) -> ContainerFields {
        var fields = ContainerFields()
        guard try c.enterOptionalObject("container") else { return fields }
        var first = true
        while let key = try c.nextKey(&first) {
            if c.spanEquals(key, "portMappings") {
                fields.portMappings = try c.objects("container.portMappings", decodePortMapping)
            } else if c.spanEquals(key, "docker") {
                fields.dockerNetwork = nil
                fields.dockerPortMappings = []
                guard try c.enterOptionalObject("container.docker") else { continue }
                var firstDocker = true
                while let key = try c.nextKey(&firstDocker) {
                    if c.spanEquals(key, "network") {
                        fields.dockerNetwork = try c.optionalString("container.docker.network")
                    } else if c.spanEquals(key, "portMappings") {
                        fields.dockerPortMappings = try c.objects("container.docker.portMappings", decodePortMapping)
                    } else {
                        try c.skipValue()
                    }
                }
            } else {
                try c.skipValue()
            }
        }
        return fields
    }

    /// The members of one port mapping object (the cursor is inside it).
    static func decodePortMapping(_ c: inout JSONCursor) throws(CursorError) -> MarathonApp.PortMapping {
        var mapping = MarathonApp.PortMapping()
        var first = true
        while let key = try c.nextKey(&first) {
            if c.spanEquals(key, "containerPort") {
                mapping.containerPort = try c.optionalPort("containerPort")
            } else if c.spanEquals(key, "hostPort") {
                mapping.hostPort = try c.optionalPort("hostPort")
            } else if c.spanEquals(key, "servicePort") {
                mapping.servicePort = try c.optionalPort("servicePort")
            } else if c.spanEquals(key, "protocol") {
                mapping.protocol = try c.optionalString("protocol")
            } else {
                try c.skipValue()
            }
        }
        return mapping
    }

    /// A reader for `{"port": 80, "protocol": "tcp"}` (or `number` instead of `port`).
    static func decodePortDefinition(
        number field: StaticString
    ) -> (inout JSONCursor) throws(CursorError) ->
        MarathonApp
        .PortDefinition
    {
        { (c: inout JSONCursor) throws(CursorError) in
            var definition = MarathonApp.PortDefinition(port: nil)
            var first = true
            while let key = try c.nextKey(&first) {
                if c.spanEquals(key, field) {
                    definition.port = try c.optionalPort("\(field)")
                } else if c.spanEquals(key, "protocol") {
                    definition.protocol = try c.optionalString("protocol")
                } else {
                    try c.skipValue()
                }
            }
            return definition
        }
    }

    /// One entry of `healthChecks`: what haproxy's own check needs (marathon-lb's translation).
    static func decodeHealthCheck(_ c: inout JSONCursor, _ index: Int) throws(CursorError) -> MarathonApp.HealthCheck {
        var check = MarathonApp.HealthCheck()
        var first = true
        while let key = try c.nextKey(&first) {
            if c.spanEquals(key, "protocol") {
                check.protocol = try c.optionalString("healthChecks[\(index)].protocol")
            } else if c.spanEquals(key, "path") {
                check.path = try c.optionalString("healthChecks[\(index)].path")
            } else if c.spanEquals(key, "portIndex") {
                check.portIndex = try c.optionalCount("healthChecks[\(index)].portIndex")
            } else if c.spanEquals(key, "port") {
                check.port = try c.optionalPort("healthChecks[\(index)].port")
            } else if c.spanEquals(key, "intervalSeconds") {
                check.intervalSeconds = try c.optionalCount("healthChecks[\(index)].intervalSeconds")
            } else if c.spanEquals(key, "timeoutSeconds") {
                check.timeoutSeconds = try c.optionalCount("healthChecks[\(index)].timeoutSeconds")
            } else if c.spanEquals(key, "maxConsecutiveFailures") {
                check.maxConsecutiveFailures = try c.optionalCount("healthChecks[\(index)].maxConsecutiveFailures")
            } else {
                try c.skipValue()
            }
        }
        return check
    }
}
