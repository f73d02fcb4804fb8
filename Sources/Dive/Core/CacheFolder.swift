// The folder where Dive keeps what it can rebuild: compiled OpenCL programs, tuned choices,
// tokenised texts. $DIVE_CACHE, else $XDG_CACHE_HOME/dive, else ~/.cache/dive; one subfolder each.
import Foundation

/// Dive's cache: `$DIVE_CACHE`, else `$XDG_CACHE_HOME/dive`, else `~/.cache/dive`.
public enum CacheFolder {
    /// The cache's root folder (not created here).
    public static var root: URL {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["DIVE_CACHE"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return URL(fileURLWithPath: xdg).appendingPathComponent("dive") }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/dive")
    }

    /// The subfolder `name` of the cache, created if missing; nil when it cannot be created.
    public static func folder(_ name: String) -> URL? {
        let dir = root.appendingPathComponent(name)
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch { return nil }
        return dir
    }
}
