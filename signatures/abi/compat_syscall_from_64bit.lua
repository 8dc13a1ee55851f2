-- A 64-bit program made a 32-bit (ia32) system call, e.g. recvmmsg_time32 through int $0x80.
local MAX_SEEN = 4096

return {
  id = "MW-3001",
  version = "1.0.0",
  name = "32-bit compat syscall from a 64-bit program",
  description = [[
A 64-bit process made a system call through the 32-bit compat entry (int $0x80, or a far call
into the ia32 entry). The ia32 table has its own numbers and calls that do not exist in the
64-bit one (recvmmsg_time32, socketcall), and per-syscall tracepoints, seccomp filters written
for the 64-bit numbers, and many monitors never see these calls: mixing ABIs is a known way to
slip past syscall-based detection and sandboxes. Legitimate 64-bit programs essentially never do
this; 32-bit programs do it for every call and are not reported (process.bits is 32). Each
program and syscall pair is reported once. Known false positives: CPU and ABI test suites,
some emulators and debuggers.]],
  severity = "medium",
  tags = { "abi", "evasion" },
  mitre = { tactic = "defense-evasion", technique = "T1562" },
  events = { "sendmsg", "recvmsg", "sendto", "recvfrom", "sendmmsg", "recvmmsg", "recvmmsg_time32", "socket",
             "socketpair", "connect", "accept", "accept4", "bind", "listen", "close", "dup", "dup2", "dup3",
             "openat", "memfd_create", "userfaultfd", "execve", "execveat", "ptrace", "init_module",
             "finit_module", "open", "creat", "openat2", "fcntl", "pidfd_getfd", "process_vm_readv",
             "process_vm_writev" },
  -- Checked in the kernel: only compat calls of 64-bit processes leave it.
  filter = { compat = true, bits = 64 },

  on_event = function(event, state)
    state.seen = state.seen or {}
    state.count = state.count or 0
    local key = event.process.pid .. ":" .. event.name
    if state.seen[key] then return end
    if state.count >= MAX_SEEN then state.seen, state.count = {}, 0 end
    state.seen[key] = true
    state.count = state.count + 1
    report{
      message = string.format("%s, a 64-bit program, called %s through the 32-bit compat ABI", mw.who(event), event.name),
      data = { syscall = event.name, ret = event.ret, pid = event.process.pid, comm = event.process.comm,
               exe = event.process.exe },
    }
  end,
}
