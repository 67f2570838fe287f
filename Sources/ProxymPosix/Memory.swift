import CSystemd
import Glibc

/// glibc's allocator, tuned for a daemon that builds a large transient state on each refresh (a
/// Marathon body of tens of MB, its decoded apps, the rendered config) and then sleeps for minutes.
public enum Memory {
    /// Fixes the size above which glibc serves an allocation with its own mmap (returned to the
    /// kernel on free). By default that threshold grows to the largest block freed so far (up to 32
    /// MiB), after which blocks of a big refresh come from the heap and stay resident while idle.
    /// Setting it explicitly turns that growth off (and the matching trim threshold growth).
    public static func fixMmapThreshold(bytes: Int = 256 << 10) {
        _ = mallopt(M_MMAP_THRESHOLD, Int32(bytes))
        _ = mallopt(M_TRIM_THRESHOLD, Int32(bytes * 2))
    }

    /// Gives free heap pages back to the kernel (malloc_trim(0): the top of the heap and every whole
    /// free page inside it). Cheap when there is nothing to give back; call it after a big refresh.
    @discardableResult
    public static func trim() -> Bool {
        malloc_trim(0) != 0
    }

    /// Bytes in use in the heap: arena chunks plus mmapped chunks (glibc's mallinfo2).
    public static func bytesInUse() -> Int {
        let info = mallinfo2()
        return Int(info.uordblks) + Int(info.hblkhd)
    }
}
