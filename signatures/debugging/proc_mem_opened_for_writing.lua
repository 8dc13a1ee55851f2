-- Another process's /proc/PID/mem opened for writing: writes that ignore page protections.
local O_ACCMODE = 3

-- The process a /proc memory file belongs to ("/proc/PID/mem", "/proc/PID/task/TID/mem"), nil
-- for other paths and for the caller's own ("self", "thread-self").
local function mem_target(path)
  if type(path) ~= "string" then return nil end
  local pid = path:match("^/proc/(%d+)/mem$") or path:match("^/proc/(%d+)/task/%d+/mem$")
  return pid and tonumber(pid) or nil
end

return {
  id = "MW-5004",
  version = "1.0.0",
  name = "Another process's memory opened for writing",
  description = [[
A process opened another process's /proc/PID/mem (or /proc/PID/task/TID/mem) for writing.
Writes through this file ignore page protections: code can be patched in place, without
ptrace attach requests or PTRACE_POKETEXT, which is what most injection detections watch.
openat2's access mode is behind a pointer the probe does not decode, so every successful
openat2 of another process's memory file is reported. open and openat are filtered in the
kernel to opens for writing (O_WRONLY or O_RDWR). Known false positives: debuggers and
checkpoint/restore tools (CRIU). Tuning: allow-list their executables by path in `tools`
(matched by the identity of the file).]],
  severity = "high",
  tags = { "debugging", "injection", "defense-evasion" },
  mitre = { tactic = "defense-evasion", technique = "T1055" },
  events = { "open", "openat", "openat2" },
  filter = { success = true, args = { flags = { any_bits = 3 } } },
  params = {
    tools = mw.set{ "/usr/bin/gdb", "/usr/sbin/criu", "/usr/bin/criu" },
  },

  on_event = function(event, state)
    local a, p = event.args, event.process
    local target = mem_target(a.pathname)
    if not target or target == p.pid or target == p.tid then return end
    if event.name ~= "openat2" and (a.flags or 0) & O_ACCMODE == 0 then return end
    if mw.exe_is(event, params.tools) then return end
    report{
      message = string.format("%s opened the memory of process %d for writing (%s)", mw.who(event), target, a.pathname),
      data = { target = target, path = a.pathname, flags = a.flags, via = event.name, pid = p.pid, uid = p.uid,
               comm = p.comm, exe = p.exe },
    }
  end,
}
