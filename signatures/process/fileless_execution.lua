-- A program executed from memory (a memfd, a deleted file, a RAM-backed filesystem) instead of
-- from a file on disk.
local AT_EMPTY_PATH = 0x1000

local function fd_in_path(path, pid)
  if type(path) ~= "string" then return nil end
  local fd = path:match("^/proc/self/fd/(%d+)$") or path:match("^/dev/fd/(%d+)$")
    or path:match("^/proc/thread%-self/fd/(%d+)$")
  if fd then return tonumber(fd) end
  local owner, n = path:match("^/proc/(%d+)/fd/(%d+)$")
  if owner and tonumber(owner) == pid then return tonumber(n) end
  owner, n = path:match("^/proc/%d+/task/(%d+)/fd/(%d+)$")
  if owner then return tonumber(n) end
  return nil
end

-- Container runtimes that re-execute a sealed memfd copy of themselves on purpose (the
-- CVE-2019-5736 fix), trusted by the identity of the file they run from, not by a name anyone
-- can give a process.
local TRUSTED = {}
for _, p in ipairs{ "/usr/bin/runc", "/usr/sbin/runc", "/usr/local/bin/runc", "/usr/local/sbin/runc", "/usr/bin/crun",
                    "/usr/local/bin/crun", "/usr/bin/runsc", "/usr/bin/youki" } do
  local id = mw.identity(p)
  if id then TRUSTED[id.dev .. ":" .. id.ino] = p end
end
local function trusted(event)
  local pr = event.process
  return pr.exe_ino ~= nil and pr.exe_ino ~= 0 and TRUSTED[tostring(pr.exe_dev) .. ":" .. tostring(pr.exe_ino)] ~= nil
end

local RAM_FS = mw.set{ "tmpfs", "ramfs", "hugetlbfs" }

-- What the kernel executed (event.args.program, live): an unlinked file (a memfd is one), or a
-- file on a RAM-backed filesystem. Returns what, severity, or nil.
local function from_program(prog)
  if type(prog) ~= "table" or type(prog.path) ~= "string" then return nil end
  local path = prog.path
  if path:sub(1, 7) == "/memfd:" then return "an in-memory file (memfd " .. path:sub(8):gsub(" %(deleted%)$", "") .. ")", "high" end
  if prog.deleted then return "a deleted file (" .. path .. ")", "high" end
  if RAM_FS[prog.fs or ""] then
    if path:find("^/dev/shm/") or path:find("^/run/shm/") then return "shared memory (" .. path .. ")", "high" end
    return "a RAM-backed filesystem (" .. prog.fs .. ": " .. path .. ")", "low"
  end
  return nil
end

return {
  id = "MW-4002",
  version = "1.0.0",
  name = "Fileless execution from memory",
  description = [[
A program was executed from memory rather than from a file on disk: an anonymous memfd
(memfd_create, then execveat(fd, "", AT_EMPTY_PATH), /proc/self/fd/N, /proc/thread-self/fd/N,
a dup'd copy of the descriptor), a file deleted before or after it was started, or a file in
/dev/shm. The program never exists on disk, so file integrity monitoring, package checks and
most antivirus scans cannot see it: a common loader technique for implants and in-memory
droppers. Live, the file the kernel executed is known at exec (event.args.program: path,
identity, filesystem, deleted), so however the descriptor travelled, the result decides. Other
RAM-backed filesystems (a tmpfs /tmp) are reported at low severity. Replayed events without
`program` fall back to following memfd_create across fork. Known false positive: runc, crun
and other runtimes re-execute a sealed memfd copy of themselves on purpose (the CVE-2019-5736
fix); they are trusted by the identity of their installed binary, not by name.]],
  severity = "high",
  tags = { "process", "execution", "fileless", "defense-evasion" },
  mitre = { tactic = "defense-evasion", technique = "T1620" },
  events = { "memfd_create", "execve", "execveat", "process_fork", "process_exit" },
  filter = { success = true },

  on_event = function(event, state)
    local procs = mw.per_process(state, "memfds")   -- pid -> { fd = memfd name }
    if procs:track(event) then return end           -- memfds are inherited across fork
    local pid, name, a = event.process.pid, event.name, event.args
    if name == "memfd_create" then
      if event.ret >= 0 then procs:get(pid, function() return {} end)[event.ret] = a.name or "" end
      return
    end
    -- execve / execveat
    if event.ret ~= 0 or trusted(event) then return end
    if a.program ~= nil then
      local what, severity = from_program(a.program)
      if not what then return end
      report{
        severity = severity,
        message = string.format("%s executed %s", mw.who(event), what),
        data = { program = a.program, pathname = a.pathname, argv = a.argv, pid = pid,
                 uid = event.process.uid, comm = event.process.comm },
      }
      return
    end
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
