#!/usr/bin/env python3
"""Writes the JSON test cases of the bundled signatures (signatures/**/NAME.test.json).

The cases are data; this script only saves typing the event boilerplate. Edit the cases here,
re-run it, and commit both. `moonwatch signatures test` runs them.
"""
import json, os

ROOT = os.path.join(os.path.dirname(__file__), "..", "signatures")

def proc(pid=4242, comm="tester", uid=1000, exe=None, ppid=1, mntns=4026531841, pidns=4026531836, bits=64, compat=False, tid=None, container=""):
    return {"pid": pid, "tid": tid or pid, "ppid": ppid, "uid": uid, "gid": uid, "comm": comm,
            "exe": exe if exe is not None else "/usr/bin/" + comm, "container": container,
            "cgroup": 1, "mntns": mntns, "pidns": pidns, "compat": compat, "bits": bits}

def ev(event, ret=0, time=1, p=None, **args):
    return {"name": event, "time": time, "ret": ret, "process": p or proc(), "args": args}

def msg(control=(), name=None):
    return {"name": name, "iov": [1], "iovlen": 1, "bytes": 1, "controllen": 24 * len(control),
            "control": list(control), "flags": 0}

def rights(fds, files=None):
    c = {"level": "SOL_SOCKET", "type": "SCM_RIGHTS", "fds": fds}
    if files is not None:
        c["files"] = files
    return c

def f(fd, path, type="file", ino=None, **extra):
    d = {"fd": fd, "type": type, "path": path}
    if ino is not None:
        d["ino"] = ino
    d.update(extra)
    return d

CREDS = {"level": "SOL_SOCKET", "type": "SCM_CREDENTIALS", "cred": {"pid": 4242, "uid": 1000, "gid": 1000}}
INET = {"family": "AF_INET", "addr": "203.0.113.7", "port": 4444}

def save(rel, cases):
    path = os.path.join(ROOT, rel)
    with open(path, "w") as out:
        json.dump({"cases": cases}, out, indent=1)
        out.write("\n")

# MW-1002 sensitive object passed
save("ipc/sensitive_object_passed.test.json", [
    {"name": "/etc/shadow handed over", "events": [ev("sendmsg", 1, sockfd=5, flags=0, msg=msg([rights([7], [f(7, "/etc/shadow")])]))],
     "expect": [{"id": "MW-1002", "severity": "high", "message_contains": "/etc/shadow", "data": {"objects": [{"fd": 7, "path": "/etc/shadow"}]}}]},
    {"name": "process memory", "events": [ev("sendmsg", 1, sockfd=5, flags=0, msg=msg([rights([8], [f(8, "/proc/1/mem")])]))],
     "expect": [{"id": "MW-1002", "data": {"objects": [{"path": "/proc/1/mem"}]}}]},
    {"name": "block device by type", "events": [ev("sendmsg", 1, sockfd=5, flags=0, msg=msg([rights([9], [f(9, "/dev/weird0", type="block")])]))],
     "expect": [{"id": "MW-1002"}]},
    {"name": "raw disk by name", "events": [ev("sendmsg", 1, sockfd=5, flags=0, msg=msg([rights([9], [f(9, "/dev/nvme0n1")])]))],
     "expect": [{"id": "MW-1002"}]},
    {"name": "connected docker socket (peer address)", "events": [ev("sendmmsg", 1, sockfd=5, vlen=1, flags=0,
        msgvec=[{"msg": msg([rights([10], [f(10, "socket:[991]", type="socket", peer="/run/docker.sock")])]), "len": 1}])],
     "expect": [{"id": "MW-1002", "data": {"objects": [{"peer": "/run/docker.sock"}]}}]},
    {"name": "ordinary file", "events": [ev("sendmsg", 1, sockfd=5, flags=0, msg=msg([rights([7], [f(7, "/var/log/app.log")])]))], "expect": []},
    {"name": "sensitive file but the send failed", "events": [ev("sendmsg", -32, sockfd=5, flags=0, msg=msg([rights([7], [f(7, "/etc/shadow")])]))], "expect": []},
    {"name": "received, not sent", "events": [ev("recvmsg", 1, sockfd=5, flags=0, msg=msg([rights([7], [f(7, "/etc/shadow")])]))], "expect": []},
])

# MW-1003 fd passed across a privilege boundary
root = proc(pid=100, comm="privd", uid=0)
user = proc(pid=200, comm="worker", uid=65534, ppid=100)
incontainer = proc(pid=300, comm="app", uid=0, mntns=4026532999, pidns=4026533000, container="a" * 64)
peer = proc(pid=101, comm="helper", uid=0)
def send(p, fds, files, t, sockfd=5):
    return ev("sendmsg", 1, time=t, p=p, sockfd=sockfd, flags=0, msg=msg([rights(fds, files)]))
def recv(p, fds, files, t, sockfd=6):
    return ev("recvmsg", 1, time=t, p=p, sockfd=sockfd, flags=0, msg=msg([rights(fds, files)]))
save("ipc/fd_passed_across_privilege_boundary.test.json", [
    {"name": "root sends, nobody receives (paired by inode)",
     "events": [send(root, [7], [f(7, "/etc/shadow", ino=1234)], 10), recv(user, [3], [f(3, "/etc/shadow", ino=1234)], 20)],
     "expect": [{"id": "MW-1003", "severity": "high", "data": {"boundary": ["uid"], "sender": {"pid": 100, "uid": 0}, "receiver": {"pid": 200, "uid": 65534}}}]},
    {"name": "receive seen before the send (events out of order)",
     "events": [recv(user, [3], [f(3, "/etc/shadow", ino=77)], 20), send(root, [7], [f(7, "/etc/shadow", ino=77)], 21)],
     "expect": [{"id": "MW-1003", "data": {"sender": {"pid": 100}, "receiver": {"pid": 200}}}]},
    {"name": "into a container's namespaces, paired by count without inodes",
     "events": [send(root, [7, 8], [], 10), recv(incontainer, [4, 5], [], 11)],
     "expect": [{"id": "MW-1003", "data": {"boundary": ["mount namespace", "pid namespace"]}}]},
    {"name": "same uid and namespaces", "events": [send(root, [7], [f(7, "/tmp/x", ino=5)], 10), recv(peer, [3], [f(3, "/tmp/x", ino=5)], 11)], "expect": []},
    {"name": "different objects do not pair",
     "events": [send(root, [7], [f(7, "/a", ino=1)], 10), recv(user, [3], [f(3, "/b", ino=2)], 11)], "expect": []},
    {"name": "pending send expired after 10 s",
     "events": [send(root, [7], [], 10), recv(user, [3], [], 10 + 11 * 10**9)], "expect": []},
])

# MW-2002 userfaultfd unprivileged
save("toctou/userfaultfd_unprivileged.test.json", [
    {"name": "nobody creates a userfaultfd", "events": [ev("userfaultfd", 3, p=proc(comm="exploit", uid=65534), flags=1)],
     "expect": [{"id": "MW-2002", "severity": "medium", "data": {"fd": 3, "uid": 65534, "flags": 1}}]},
    {"name": "root is not reported", "events": [ev("userfaultfd", 3, p=proc(comm="qemu", uid=0), flags=0)], "expect": []},
    {"name": "denied attempt is not reported", "events": [ev("userfaultfd", -1, p=proc(uid=1000), flags=0)], "expect": []},
])

# MW-3001 compat syscall from a 64-bit program
c64 = proc(comm="sneaky", compat=True, bits=64)
c32 = proc(comm="legacy32", compat=True, bits=32)
save("abi/compat_syscall_from_64bit.test.json", [
    {"name": "recvmmsg_time32 through int 0x80", "events": [ev("recvmmsg_time32", 1, p=c64, fd=3, vlen=1, flags=0, mmsg=[], timeout={"sec": 1, "nsec": 0})],
     "expect": [{"id": "MW-3001", "severity": "medium", "data": {"syscall": "recvmmsg_time32", "comm": "sneaky"}}]},
    {"name": "reported once per program and syscall",
     "events": [ev("socket", 3, time=t, p=c64, domain=2, type=1, protocol=0) for t in range(5)] + [ev("connect", 0, time=9, p=c64, sockfd=3, addrlen=16)],
     "expect": [{"id": "MW-3001", "data": {"syscall": "socket"}}, {"id": "MW-3001", "data": {"syscall": "connect"}}]},
    {"name": "a 32-bit program is not reported", "events": [ev("recvmmsg_time32", 1, p=c32, fd=3, vlen=1, flags=0)], "expect": []},
    {"name": "a 64-bit call is not reported", "events": [ev("recvmmsg", 1, p=proc(), sockfd=3, vlen=1, flags=0)], "expect": []},
    {"name": "unknown word size (e.g. Tracee input) is not reported", "events": [ev("socket", 3, p=proc(compat=True, bits=0), domain=2, type=1, protocol=0)], "expect": []},
])

# MW-4001 reverse shell
sh = proc(pid=500, comm="bash")
child = proc(pid=501, comm="bash", ppid=500)
def rs_chain(p, shell="/bin/sh"):
    return [ev("socket", 3, time=1, p=p, domain=2, type=1, protocol=0),
            ev("connect", 0, time=2, p=p, sockfd=3, addr=INET, addrlen=16),
            ev("dup2", 0, time=3, p=p, oldfd=3, newfd=0), ev("dup2", 1, time=4, p=p, oldfd=3, newfd=1),
            ev("dup2", 2, time=5, p=p, oldfd=3, newfd=2),
            ev("execve", 0, time=6, p=p, pathname=shell, argv=[shell.split("/")[-1], "-i"])]
fork = ev("process_fork", 0, time=5, p=sh, child_pid=501, child_tid=501)
save("process/reverse_shell.test.json", [
    {"name": "socket, connect, dup2 onto 0-2, exec sh", "events": rs_chain(sh),
     "expect": [{"id": "MW-4001", "severity": "high", "data": {"shell": "/bin/sh", "remote": INET, "stderr_on_socket": True}}]},
    {"name": "parent redirects, child execs bash",
     "events": rs_chain(sh)[:5] + [fork, ev("execve", 0, time=7, p=child, pathname="/usr/bin/bash", argv=["bash"])],
     "expect": [{"id": "MW-4001", "data": {"pid": 501, "remote": {"port": 4444}}}]},
    {"name": "close(0); dup(sock) style", "events": [ev("socket", 3, p=sh, domain=10, type=1, protocol=0),
        ev("connect", -115, p=sh, sockfd=3, addr={"family": "AF_INET6", "addr": "2001:db8::1", "port": 9001}, addrlen=28),
        ev("dup", 0, p=sh, oldfd=3), ev("dup", 1, p=sh, oldfd=3), ev("execve", 0, p=sh, pathname="/bin/dash", argv=["dash"])],
     "expect": [{"id": "MW-4001", "data": {"remote": {"port": 9001}}}]},
    {"name": "a shell without redirection", "events": [ev("execve", 0, p=sh, pathname="/bin/sh", argv=["sh"])], "expect": []},
    {"name": "socket on stdio but a non-shell program (e.g. inetd service)", "events": rs_chain(sh, shell="/usr/sbin/in.tftpd"), "expect": []},
    {"name": "unix socket on stdio", "events": [ev("socket", 3, p=sh, domain=1, type=1, protocol=0),
        ev("connect", 0, p=sh, sockfd=3, addr={"family": "AF_UNIX", "path": "/run/x.sock"}, addrlen=20),
        ev("dup2", 0, p=sh, oldfd=3, newfd=0), ev("dup2", 1, p=sh, oldfd=3, newfd=1), ev("execve", 0, p=sh, pathname="/bin/sh")], "expect": []},
    {"name": "only stdout on the socket", "events": rs_chain(sh)[:2] + [ev("dup2", 1, p=sh, oldfd=3, newfd=1), ev("execve", 0, p=sh, pathname="/bin/sh")], "expect": []},
    {"name": "exec failed", "events": rs_chain(sh)[:5] + [ev("execve", -2, p=sh, pathname="/bin/nosuchshell")], "expect": []},
])

# MW-4002 fileless execution
loader = proc(pid=600, comm="loader")
save("process/fileless_execution.test.json", [
    {"name": "memfd_create then fexecve (execveat AT_EMPTY_PATH)",
     "events": [ev("memfd_create", 4, p=loader, name="payload", flags=1), ev("execveat", 0, time=2, p=loader, dirfd=4, pathname="", argv=["payload"], flags=0x1000)],
     "expect": [{"id": "MW-4002", "severity": "high", "data": {"memfd": "payload", "fd": 4}}]},
    {"name": "memfd_create then execve /proc/self/fd/N",
     "events": [ev("memfd_create", 5, p=loader, name="x", flags=0), ev("execve", 0, time=2, p=loader, pathname="/proc/self/fd/5", argv=["x"])],
     "expect": [{"id": "MW-4002", "data": {"via": "/proc/self/fd/5"}}]},
    {"name": "memfd inherited by a forked child",
     "events": [ev("memfd_create", 5, p=loader, name="x", flags=0), ev("process_fork", 0, p=loader, child_pid=601, child_tid=601),
                ev("execve", 0, time=3, p=proc(pid=601, comm="loader", ppid=600), pathname="/dev/fd/5")],
     "expect": [{"id": "MW-4002", "data": {"pid": 601}}]},
    {"name": "resulting executable is a memfd", "events": [ev("execve", 0, p=proc(pid=700, comm="x", exe="/memfd:x (deleted)"), pathname="/proc/700/fd/3")],
     "expect": [{"id": "MW-4002"}]},
    {"name": "memfd used as plain memory, exec of a disk file",
     "events": [ev("memfd_create", 4, p=loader, name="buf", flags=0), ev("execve", 0, p=loader, pathname="/usr/bin/ls")], "expect": []},
    {"name": "exec via /proc/self/fd of an ordinary file", "events": [ev("execve", 0, p=loader, pathname="/proc/self/fd/9")], "expect": []},
    {"name": "runc re-executing its memfd copy", "events": [ev("memfd_create", 4, p=proc(comm="runc"), name="runc_cloned:/usr/bin/runc", flags=3),
        ev("execveat", 0, p=proc(comm="runc"), dirfd=4, pathname="", flags=0x1000)], "expect": []},
])

# MW-5001 ptrace injection
inj = proc(pid=800, comm="injector")
save("debugging/ptrace_code_injection.test.json", [
    {"name": "POKETEXT into another process", "events": [ev("ptrace", 0, p=inj, request=4, pid=900, addr=0x401000, data=0x90909090)],
     "expect": [{"id": "MW-5001", "severity": "high", "data": {"request": "PTRACE_POKETEXT", "target_pid": 900}}]},
    {"name": "SETREGS", "events": [ev("ptrace", 0, p=inj, request=13, pid=900, addr=0, data=0x7ffd0000)],
     "expect": [{"id": "MW-5001", "data": {"request": "PTRACE_SETREGS"}}]},
    {"name": "PEEKTEXT only reads", "events": [ev("ptrace", 0, p=inj, request=1, pid=900, addr=0x401000, data=0)], "expect": []},
    {"name": "gdb setting a breakpoint", "events": [ev("ptrace", 0, p=proc(comm="gdb"), request=4, pid=900, addr=0x401000, data=0xcc)], "expect": []},
    {"name": "failed poke", "events": [ev("ptrace", -3, p=inj, request=5, pid=900, addr=0, data=0)], "expect": []},
])

# MW-5002 PTRACE_TRACEME
save("debugging/ptrace_traceme.test.json", [
    {"name": "TRACEME", "events": [ev("ptrace", 0, p=proc(comm="packed"), request=0, pid=0, addr=0, data=0)],
     "expect": [{"id": "MW-5002", "severity": "low", "data": {"comm": "packed"}}]},
    {"name": "failed TRACEME (already traced)", "events": [ev("ptrace", -1, p=proc(comm="packed"), request=0, pid=0, addr=0, data=0)],
     "expect": [{"id": "MW-5002", "message_contains": "already traced"}]},
    {"name": "ATTACH is not TRACEME", "events": [ev("ptrace", 0, p=proc(comm="strace"), request=16, pid=42, addr=0, data=0)], "expect": []},
])

# MW-6001 kernel module load
save("kernel/kernel_module_load.test.json", [
    {"name": "finit_module by an unknown program", "events": [ev("finit_module", 0, p=proc(comm="dropper", uid=0, exe="/tmp/.x/dropper"), fd=3, param_values="", flags=0)],
     "expect": [{"id": "MW-6001", "severity": "medium", "data": {"loaded": True, "exe": "/tmp/.x/dropper"}}]},
    {"name": "failed init_module attempt", "events": [ev("init_module", -8, p=proc(comm="probe"), module_image=0x7f0000000000, len=16, param_values="")],
     "expect": [{"id": "MW-6001", "message_contains": "tried to load", "data": {"loaded": False}}]},
    {"name": "modprobe", "events": [ev("finit_module", 0, p=proc(comm="modprobe", uid=0, exe="/usr/bin/kmod"), fd=3, param_values="", flags=0)], "expect": []},
    {"name": "systemd-udevd", "events": [ev("finit_module", 0, p=proc(comm="(udev-worker)", uid=0, exe="/usr/lib/systemd/systemd-udevd"), fd=3, param_values="", flags=0)], "expect": []},
    {"name": "a binary merely named modprobe elsewhere is still reported", "events": [ev("finit_module", 0, p=proc(comm="modprobe", exe="/tmp/modprobe"), fd=3, param_values="", flags=0)],
     "expect": [{"id": "MW-6001"}]},
])

# MW-7001 raw or packet socket
save("network/raw_socket_opened.test.json", [
    {"name": "packet socket by an unknown program", "events": [ev("socket", 3, p=proc(comm="sniff", exe="/tmp/sniff"), domain=17, type=3, protocol=768)],
     "expect": [{"id": "MW-7001", "severity": "medium", "data": {"domain": "AF_PACKET", "exe": "/tmp/sniff"}}]},
    {"name": "raw ICMP socket with SOCK_CLOEXEC", "events": [ev("socket", 4, p=proc(comm="tunnel"), domain=2, type=3 | 0o2000000, protocol=1)],
     "expect": [{"id": "MW-7001", "data": {"domain": "AF_INET", "type": 3}}]},
    {"name": "ping", "events": [ev("socket", 3, p=proc(comm="ping", exe="/usr/bin/ping"), domain=2, type=3, protocol=1)], "expect": []},
    {"name": "tcpdump", "events": [ev("socket", 3, p=proc(comm="tcpdump", exe="/usr/bin/tcpdump"), domain=17, type=3, protocol=768)], "expect": []},
    {"name": "ordinary TCP socket", "events": [ev("socket", 3, p=proc(comm="curl"), domain=2, type=1, protocol=0)], "expect": []},
    {"name": "failed attempt", "events": [ev("socket", -1, p=proc(comm="sniff"), domain=17, type=3, protocol=768)], "expect": []},
])
print("wrote test cases")
