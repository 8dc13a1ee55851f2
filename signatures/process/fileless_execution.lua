-- A program executed from an anonymous memory file (memfd_create) instead of from disk.
local AT_EMPTY_PATH = 0x1000

local function fd_in_path(path, pid)
  if type(path) ~= "string" then return nil end
  local fd = path:match("^/proc/self/fd/(%d+)$") or path:match("^/dev/fd/(%d+)$")
  if fd then return tonumber(fd) end
  local owner, n = path:match("^/proc/(%d+)/fd/(%d+)$")
  if owner and tonumber(owner) == pid then return tonumber(n) end
  return nil
end

return {
  id = "MW-4002",
  version = "1.0.0",
  name = "Fileless execution from a memfd",
  description = [[
A process created an anonymous in-memory file with memfd_create and then executed it, either
through execveat(fd, "", AT_EMPTY_PATH) (what fexecve does) or through /proc/self/fd/N. The
program never exists on disk, so file integrity monitoring, package checks and most antivirus
scans cannot see it: a common loader technique for implants and in-memory droppers. The memfd's
descriptor is tracked across fork; an exec whose resulting executable is a "/memfd:" path is
reported too. Known false positive: runc (and some other container runtimes) re-executes a
sealed memfd copy of itself on purpose (the CVE-2019-5736 fix); it is excluded by name.]],
  severity = "high",
  tags = { "process", "execution", "fileless", "defense-evasion" },
  mitre = { tactic = "defense-evasion", technique = "T1620" },
  events = { "memfd_create", "execve", "execveat", "process_fork", "process_exit" },
  filter = { not_comm = { "runc", "runc:[0:PARENT]", "runc:[1:CHILD]", "runc:[2:INIT]" } },

  on_event = function(event, state)
    local procs = mw.per_process(state, "memfds")   -- pid -> { fd = memfd name }
    if procs:track(event) then return end           -- memfds are inherited across fork
    local pid, name, a = event.process.pid, event.name, event.args
    if name == "memfd_create" then
      if event.ret >= 0 then procs:get(pid, function() return {} end)[event.ret] = a.name or "" end
      return
    end
    -- execve / execveat
    if event.ret ~= 0 then return end
    local memfds = procs:get(pid) or {}
    local fd, how
    if name == "execveat" and (a.flags or 0) & AT_EMPTY_PATH ~= 0 and (a.pathname == nil or a.pathname == "") then
      fd, how = a.dirfd, "execveat(fd, \"\", AT_EMPTY_PATH)"
    else
      fd, how = fd_in_path(a.pathname, pid), a.pathname
    end
    local memname = fd and memfds[fd]
    local exe = event.process.exe or ""
    if memname == nil and exe:sub(1, 7) ~= "/memfd:" then return end
    report{
      message = string.format("%s executed an in-memory file (memfd %q) via %s", mw.who(event),
                              memname or exe, how or exe),
      data = { memfd = memname, fd = fd, via = how, exe = exe, argv = a.argv, pid = pid,
               uid = event.process.uid, comm = event.process.comm },
    }
  end,
}
