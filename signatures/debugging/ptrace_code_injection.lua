-- Another process's memory or registers written with ptrace.
local REQUESTS = { [4] = "PTRACE_POKETEXT", [5] = "PTRACE_POKEDATA", [6] = "PTRACE_POKEUSER",
                   [13] = "PTRACE_SETREGS", [0x4205] = "PTRACE_SETREGSET" }

return {
  id = "MW-5001",
  version = "1.0.0",
  name = "Code injection with ptrace",
  description = [[
A process successfully wrote into another process with ptrace: its code or data
(PTRACE_POKETEXT/POKEDATA), its user area (POKEUSER) or its registers (SETREGS/SETREGSET).
Together these are how shellcode is planted in a running process and its instruction pointer
redirected, letting malware run under a trusted process's name and privileges. Debuggers do the
same to set breakpoints, so gdb, lldb and rr are excluded by name. Known false positives: other
debuggers and fault injectors, CRIU restore. Tuning: exclude additional tools by comm, and
consider restricting ptrace with kernel.yama.ptrace_scope.]],
  severity = "high",
  tags = { "process", "injection", "ptrace" },
  mitre = { tactic = "defense-evasion", technique = "T1055.008" },
  events = { "ptrace" },
  filter = { success = true, args = { request = { 4, 5, 6, 13, 0x4205 } },
             not_comm = { "gdb", "lldb", "lldb-server", "rr" } },

  on_event = function(event, state)
    local target = event.args.pid
    local t = mw.process(target)
    report{
      message = string.format("%s used %s on pid %d%s", mw.who(event), REQUESTS[event.args.request] or "ptrace",
                              target, t and string.format(" (%s)", t.comm) or ""),
      data = { request = REQUESTS[event.args.request], target_pid = target, target_comm = t and t.comm,
               target_exe = t and t.exe, addr = event.args.addr, pid = event.process.pid,
               uid = event.process.uid, comm = event.process.comm, exe = event.process.exe },
    }
  end,
}
