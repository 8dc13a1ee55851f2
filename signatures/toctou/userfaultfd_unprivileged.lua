-- userfaultfd(2) by a non-root process: the usual tool for holding a syscall's user-memory read
-- open while another thread rewrites the argument.
return {
  id = "MW-2002",
  version = "1.0.0",
  name = "userfaultfd created by an unprivileged process",
  description = [[
A process running with a non-zero uid created a userfaultfd. Page faults in registered ranges
are then resolved by that process, so it can stall the kernel in the middle of copying a syscall
argument for as long as it likes: the standard way to widen TOCTOU races (phantom attacks on
syscall monitors, kernel exploit heap grooming). Ordinary workloads rarely use it without root.
Known false positives: live migration with QEMU/CRIU, some garbage collectors and sandboxing
runtimes.
Since Linux 5.11 unprivileged use is limited by vm.unprivileged_userfaultfd unless the caller
asks for user-mode-only faults. Tuning: allow-list known users by exe.]],
  severity = "medium",
  tags = { "toctou", "exploitation" },
  mitre = { tactic = "privilege-escalation", technique = "T1068" },
  events = { "userfaultfd" },
  filter = { success = true, not_uid = { 0 } },

  on_event = function(event, state)
    report{
      message = string.format("%s with uid %d created a userfaultfd (fd %d, flags 0x%x)",
                              mw.who(event), event.process.uid, event.ret, event.args.flags or 0),
      data = { fd = event.ret, flags = event.args.flags, uid = event.process.uid, pid = event.process.pid,
               comm = event.process.comm, exe = event.process.exe },
    }
  end,
}
