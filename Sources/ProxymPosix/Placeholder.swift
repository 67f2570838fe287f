import CSystemd
import Glibc

func _probe() -> Int32 { epoll_create1(Int32(EPOLL_CLOEXEC)) + sd_notify(0, "") + proxym_pidfd_open(0, 0) }
