/// The version `moonwatch --version` prints (and issue 12's build-info metric will carry).
public enum MoonwatchVersion {
    public static let string = "0.3.0"
}
