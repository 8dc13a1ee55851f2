-- The sender and the receiver of an SCM_RIGHTS message differ in uid, mount or pid namespace.
-- Pairs each send with the receive that took the same objects (by inode where the probe resolved
-- them, otherwise by count and order), whichever of the two events arrives first.
local WINDOW_NS = 10 * 1000000000   -- pending halves older than this are dropped
local MAX_PENDING = 64              -- per direction; the oldest is dropped beyond this

-- An object's identity: inode and, where the probe gave it, device.
local function identity(f)
  if not f.ino then return nil end
  return f.dev and (f.dev .. ":" .. f.ino) or f.ino
end

local function side(event, files, fds)
  local p = event.process
  local inos = {}
  for _, f in ipairs(files) do
    local id = identity(f)
    if id then inos[#inos + 1] = id end
  end
  local sock = type(event.args.socket) == "table" and event.args.socket or {}
  return { time = event.time, pid = p.pid, uid = p.uid, mntns = p.mntns, pidns = p.pidns, comm = p.comm,
           exe = p.exe, container = p.container, count = #fds, fds = fds, files = files, inos = inos,
           sock = sock.ino, peer = sock.peer }
end

local function share_inode(a, b)
  for _, x in ipairs(a.inos) do
    for _, y in ipairs(b.inos) do if x == y then return true end end
  end
  return false
end

-- Two halves of one pass travel over one socket pair: where both ends are known (a connected
-- AF_UNIX socket and its peer), they must be that pair, whatever files they share.
local function same_pair(a, b)
  local s, r = a, b
  if a.receiving then s, r = b, a end
  if s.peer and r.sock then return s.peer == r.sock end
  return true
end

-- Pending halves wait in a queue (oldest first); taken entries leave a `false` hole.
local function queue() return { first = 1, last = 0 } end

local function expire(q, now)
  while q.first <= q.last do
    local c = q[q.first]
    if c and now - c.time <= WINDOW_NS then return end
    q[q.first] = nil
    q.first = q.first + 1
  end
end

local function put(q, half)
  if q.last - q.first + 1 >= MAX_PENDING then q[q.first] = nil; q.first = q.first + 1 end
  q.last = q.last + 1
  q[q.last] = half
end

-- The pending half that pairs with `half`: same inode if both sides know them, else the oldest
-- from another process with the same descriptor count.
local function take(q, half, now)
  expire(q, now)
  local by_count
  for i = q.first, q.last do
    local c = q[i]
    if c then
      if not same_pair(c, half) then
        -- another socket pair: not this pass
      elseif #half.inos > 0 and #c.inos > 0 then
        if share_inode(c, half) then q[i] = false return c end
      elseif not by_count and c.count == half.count and c.pid ~= half.pid then
        by_count = i
      end
    end
  end
  if by_count then
    local c = q[by_count]
    q[by_count] = false
    return c
  end
  return nil
end

local function differs(s, r)
  local what = {}
  if s.uid ~= r.uid then what[#what + 1] = "uid" end
  if s.mntns ~= r.mntns and s.mntns ~= 0 and r.mntns ~= 0 then what[#what + 1] = "mount namespace" end
  if s.pidns ~= r.pidns and s.pidns ~= 0 and r.pidns ~= 0 then what[#what + 1] = "pid namespace" end
  return what
end

return {
  id = "MW-1003",
  version = "1.0.0",
  name = "Descriptor passed across a privilege boundary",
  description = [[
A descriptor sent with SCM_RIGHTS was received by a process with a different uid, or in a
different mount or pid namespace, than the sender's. Whatever the sender could reach (a host
file, a socket outside the container, a privileged device) is now reachable on the other side
of the boundary without any open() there: a known container-escape and privilege-separation
bypass shape. Sends and receives are paired by the inode of the passed objects when the probe
resolved them (inode and device) and, where both ends of a connected AF_UNIX socket are known,
by the socket pair itself: the send's socket's peer is the receive's socket, so two unrelated
passes of the same file never pair. Otherwise by descriptor count and arrival order within 10
seconds. Known false
positives: container runtimes and systemd handing sockets into containers or services they
start (containerd-shim, conmon, systemd socket activation); D-Bus brokers. Tuning: allow-list
the sender's exe together with the receiver's container or uid.]],
  severity = "high",
  tags = { "ipc", "fd-passing", "container-escape", "privilege-escalation" },
  mitre = { tactic = "privilege-escalation", technique = "T1611" },
  events = { "sendmsg", "sendmmsg", "recvmsg", "recvmmsg", "recvmmsg_time32" },
  filter = { success = true, control = "SCM_RIGHTS" },

  on_event = function(event, state)
    state.sends = state.sends or queue()
    state.recvs = state.recvs or queue()
    local fds, files = mw.passed_fds(event)
    if #fds == 0 then return end
    local half = side(event, files, fds)
    half.receiving = event.name ~= "sendmsg" and event.name ~= "sendmmsg"
    local sender, receiver
    if event.name == "sendmsg" or event.name == "sendmmsg" then
      local r = take(state.recvs, half, event.time)
      if not r then put(state.sends, half) return end
      sender, receiver = half, r
    else
      local s = take(state.sends, half, event.time)
      if not s then put(state.recvs, half) return end
      sender, receiver = s, half
    end
    if sender.pid == receiver.pid then return end
    local what = differs(sender, receiver)
    if #what == 0 then return end
    report{
      message = string.format("%s (pid %d, uid %d) passed %d descriptor(s) to %s (pid %d, uid %d) across %s",
                              sender.comm, sender.pid, sender.uid, sender.count, receiver.comm, receiver.pid,
                              receiver.uid, table.concat(what, ", ")),
      data = { boundary = what, sender = sender, receiver = receiver },
    }
  end,
}
