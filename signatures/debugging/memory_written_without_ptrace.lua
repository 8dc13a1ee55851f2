-- Another process's memory written with process_vm_writev: no attach, no stop, no ptrace.
return {
  id = "MW-5003",
  version = "1.0.0",
  name = "Process memory written with process_vm_writev",
  description = [[
A process wrote into another process's memory with process_vm_writev: one kernel copy into the
target's pages, without attaching to it, stopping it or making a PTRACE_POKE* request, so
detections that watch ptrace miss it. The write obeys page protections (code pages are
read-only), but data, the stack, function pointers and GOT entries are enough to take over
the target. Known false positives: MPI libraries moving data between ranks of one job, some
debuggers and checkpoint/restore tools. Tuning: allow-list their executables by path in
`tools` (matched by the identity of the file, not its name).]],
  severity = "high",
  tags = { "debugging", "injection", "defense-evasion" },
  mitre = { tactic = "defense-evasion", technique = "T1055" },
  events = { "process_vm_writev" },
  filter = { success = true },
  params = {
    tools = mw.set{ "/usr/bin/gdb", "/usr/sbin/criu", "/usr/bin/criu" },
  },

  on_event = function(event, state)
    local a, p = event.args, event.process
    if a.pid == p.pid or mw.exe_is(event, params.tools) then return end
    report{
      message = string.format("%s wrote %d bytes into the memory of process %d with process_vm_writev",
                              mw.who(event), event.ret, a.pid or -1),
      data = { target = a.pid, bytes = event.ret, pid = p.pid, uid = p.uid, comm = p.comm, exe = p.exe },
    }
  end,
}
