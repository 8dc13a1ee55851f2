-- A descriptor copied out of another process with pidfd_getfd.
return {
  id = "MW-5005",
  version = "1.0.0",
  name = "Descriptor taken from another process",
  description = [[
A process copied a descriptor out of another process's table with pidfd_getfd: whatever the
target had open (a privileged socket, a file opened before it dropped privileges, a container
runtime's control socket) is now the caller's, without any open(), connect() or SCM_RIGHTS
exchange that monitoring would see. It needs ptrace access to the target
(PTRACE_MODE_ATTACH_REALCREDS). Known false positives: debuggers, process supervisors and
systemd-style tools that migrate sockets (rare). Tuning: allow-list their executables by path in
`tools` (matched by the identity of the file).]],
  severity = "medium",
  tags = { "debugging", "credential-access", "privilege-escalation" },
  mitre = { tactic = "privilege-escalation", technique = "T1055" },
  events = { "pidfd_getfd" },
  filter = { success = true },
  params = {
    tools = mw.set{ "/usr/bin/gdb" },
  },

  on_event = function(event, state)
    local a, p = event.args, event.process
    if mw.exe_is(event, params.tools) then return end
    report{
      message = string.format("%s took descriptor %d of another process (pidfd %d) as fd %d", mw.who(event),
                              a.targetfd or -1, a.pidfd or -1, event.ret),
      data = { pidfd = a.pidfd, targetfd = a.targetfd, fd = event.ret, pid = p.pid, uid = p.uid, comm = p.comm,
               exe = p.exe },
    }
  end,
}
