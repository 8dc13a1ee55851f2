-- PTRACE_TRACEME: a process asks to be traced by its parent, mostly as an anti-debugging trick.
return {
  id = "MW-5002",
  version = "1.0.0",
  name = "Anti-debugging with PTRACE_TRACEME",
  description = [[
A process called ptrace(PTRACE_TRACEME). Only one tracer can attach at a time, so a program
that makes its parent its tracer (or checks whether the call fails) keeps analysts' debuggers
and strace away; packers and malware use it routinely. Known false positives: debuggers use it
legitimately in the child they are about to exec (gdb, strace, test harnesses), which is why
this is low severity: read it together with what the process does next.]],
  severity = "low",
  tags = { "process", "anti-debugging", "ptrace" },
  mitre = { tactic = "defense-evasion", technique = "T1622" },
  events = { "ptrace" },
  filter = { args = { request = { 0 } } },

  on_event = function(event, state)
    report{
      message = string.format("%s called ptrace(PTRACE_TRACEME)%s", mw.who(event),
                              event.ret < 0 and string.format(" (failed: %d, already traced?)", event.ret) or ""),
      data = { ret = event.ret, pid = event.process.pid, ppid = event.process.ppid, comm = event.process.comm,
               exe = event.process.exe },
    }
  end,
}
