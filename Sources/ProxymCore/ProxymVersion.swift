/// The version `proxym --version` prints; packaging/debian/changelog carries the same one (a test
/// checks that they agree).
public enum ProxymVersion {
    public static let string = "0.1.0"
}
