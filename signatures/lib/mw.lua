-- moonwatch helper library, available to every signature as the global `mw`.
-- It is compiled into the binary; signatures cannot load other files.
local mw = {}

--- A set for allow-lists: mw.set{"a", "b"}["a"] == true
function mw.set(items)
  local s = {}
  for _, v in ipairs(items) do s[v] = true end
  return s
end

--- Last path component: mw.basename("/usr/bin/ls") == "ls"
function mw.basename(path)
  if type(path) ~= "string" then return nil end
  return path:match("([^/]*)/*$")
end

--- Everything before the last component: mw.dirname("/usr/bin/ls") == "/usr/bin"
function mw.dirname(path)
  if type(path) ~= "string" then return nil end
  local d = path:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end

--- Shell-style glob: '*' matches within one path component, '**' across components,
--- '?' one character, '[abc]'/'[a-z]'/'[!a]' a set. Anchored at both ends.
--- Iterative with backtracking to the last star only, so it stays linear-ish.
function mw.glob(pattern, s)
  if type(pattern) ~= "string" or type(s) ~= "string" then return false end
  local p, i = 1, 1
  local star_p, star_i, star_any = nil, nil, false
  local np, ns = #pattern, #s
  while i <= ns do
    local c = pattern:sub(p, p)
    if c == "*" then
      local any = pattern:sub(p + 1, p + 1) == "*"
      star_any = any
      p = p + (any and 2 or 1)
      star_p, star_i = p, i
    else
      local ok, nextp = false, p + 1
      if p <= np then
        if c == "?" then
          ok = s:sub(i, i) ~= "/"
        elseif c == "[" then
          local close = pattern:find("]", p + 2, true)
          if close then
            local set = pattern:sub(p + 1, close - 1)
            local negate = set:sub(1, 1) == "!" or set:sub(1, 1) == "^"
            if negate then set = set:sub(2) end
            local ch, hit, k = s:sub(i, i), false, 1
            while k <= #set do
              if set:sub(k + 1, k + 1) == "-" and k + 2 <= #set then
                if ch >= set:sub(k, k) and ch <= set:sub(k + 2, k + 2) then hit = true end
                k = k + 3
              else
                if ch == set:sub(k, k) then hit = true end
                k = k + 1
              end
            end
            ok = (hit ~= negate) and ch ~= "/"
            nextp = close + 1
          else
            ok = s:sub(i, i) == "["
          end
        else
          ok = s:sub(i, i) == c
        end
      end
      if ok then
        p, i = nextp, i + 1
      elseif star_p and (star_any or s:sub(star_i, star_i) ~= "/") then
        star_i = star_i + 1
        p, i = star_p, star_i
      else
        return false
      end
    end
  end
  while pattern:sub(p, p) == "*" do p = p + 1 end
  return p > np
end

--- True when any glob in the list matches s.
function mw.glob_any(patterns, s)
  for _, g in ipairs(patterns) do
    if mw.glob(g, s) then return true end
  end
  return false
end

--- Control messages of one msghdr value (event.args.msg), possibly empty.
function mw.controls(msg)
  if type(msg) ~= "table" or type(msg.control) ~= "table" then return {} end
  return msg.control
end

--- The messages an event carries: sendmsg/recvmsg give one msghdr, sendmmsg/recvmmsg a vector.
function mw.messages(event)
  local a = event.args
  if a.msg then return { a.msg } end
  local vec = a.msgvec or a.mmsg
  local out = {}
  if type(vec) == "table" then
    for _, m in ipairs(vec) do
      if type(m) == "table" and m.msg then out[#out + 1] = m.msg end
    end
  end
  return out
end

--- Descriptors passed with SCM_RIGHTS in an event, with what each refers to when known:
--- returns fds (list of integers), files (list of {fd=, type=, path=, ino=, dev=}) and the number
--- of descriptors passed in all. The total counts what the probe could not list or resolve too:
--- an SCM_RIGHTS message past the copied control data, descriptors past the resolved ones, entries
--- of a vector past the decoded ones (msg.rights, and control entries with beyond = true).
function mw.passed_fds(event)
  local fds, files, total = {}, {}, 0
  for _, msg in ipairs(mw.messages(event)) do
    local listed = 0
    for _, c in ipairs(mw.controls(msg)) do
      if c.type == "SCM_RIGHTS" then
        if type(c.fds) == "table" then
          for _, fd in ipairs(c.fds) do fds[#fds + 1] = fd end
          listed = listed + #c.fds
        end
        if type(c.files) == "table" then
          for _, f in ipairs(c.files) do files[#files + 1] = f end
        end
      end
    end
    local r = math.tointeger(msg.rights) or 0
    total = total + (r > listed and r or listed)
  end
  return fds, files, total
end

-- Sends and receives of one pass --------------------------------------------------------------

local Ledger = {}
Ledger.__index = Ledger

local function object_id(f)
  if type(f) ~= "table" or f.ino == nil then return nil end
  return tostring(f.dev or 0) .. ":" .. tostring(f.ino)
end

--- What senders passed recently (by the passed objects' identity), kept in `state[key]`: a
--- receive can tell whether its send was seen. A send whose header could not be read, or that a
--- probe cap hid, is still seen, fully resolved, at the receiver.
function mw.pass_ledger(state, key, window_ns, max)
  local l = state[key]
  if l == nil then
    l = setmetatable({ ids = {}, n = 0, window = window_ns or 10000000000, max = max or 4096, counts = {} }, Ledger)
    state[key] = l
  end
  return l
end

--- Notes the objects a send passed (and how many, for receives that cannot name them).
function Ledger:sent(event, files, total)
  local c = self.counts
  c[#c + 1] = { time = event.time, count = total or #files }
  if #c > 64 then table.remove(c, 1) end
  for _, f in ipairs(files) do
    local id = object_id(f)
    if id then
      if self.ids[id] == nil then
        if self.n >= self.max then self.ids, self.n = {}, 0 end
        self.n = self.n + 1
      end
      self.ids[id] = event.time
    end
  end
end

--- True when every object a receive got was passed by a send seen within the window; objects
--- without an identity (replayed input) match a recent send of the same count.
function Ledger:seen(event, files, total)
  local anonymous = #files == 0
  for _, f in ipairs(files) do
    local id = object_id(f)
    if not id then
      anonymous = true
    else
      local t = self.ids[id]
      if not t or event.time - t > self.window then return false end
    end
  end
  if not anonymous then return true end
  for _, c in ipairs(self.counts) do
    if c.count == (total or #files) and event.time - c.time <= self.window and event.time >= c.time then return true end
  end
  return false
end

-- Per-process records ------------------------------------------------------------------------

local Tracker = {}
Tracker.__index = Tracker

local function deep_copy(v, depth)
  if type(v) ~= "table" or depth > 8 then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = deep_copy(x, depth + 1) end
  return c
end

--- Records keyed by pid, kept in `state[key]`, at most `max` of them (all dropped when full).
--- Select "process_fork" and "process_exit" and call `t:track(event)` first: a child gets a copy
--- of its parent's record (descriptors are inherited), and a process's record goes when it exits.
function mw.per_process(state, key, max)
  local t = state[key]
  if t == nil then
    t = setmetatable({ records = {}, n = 0, max = max or 4096 }, Tracker)
    state[key] = t
  end
  return t
end

--- The record of `pid`; with `make`, creates it from `make()` when missing.
function Tracker:get(pid, make)
  local r = self.records[pid]
  if r == nil and make then
    if self.n >= self.max then self.records, self.n = {}, 0 end
    r = make()
    self.records[pid] = r
    self.n = self.n + 1
  end
  return r
end

function Tracker:drop(pid)
  if self.records[pid] ~= nil then
    self.records[pid] = nil
    self.n = self.n - 1
  end
end

--- Handles process_fork and process_exit; returns true when `event` was one of them.
function Tracker:track(event)
  local name, pid = event.name, event.process.pid
  if name == "process_exit" then
    if event.process.tid == pid then self:drop(pid) end
    return true
  end
  if name == "process_fork" then
    local r, child = self.records[pid], event.args.child_pid
    if r ~= nil and child and child ~= pid then   -- a new thread shares its process's record
      self:drop(child)
      self:get(child, function() return deep_copy(r, 0) end)
    end
    return true
  end
  return false
end

--- "comm (pid N)" for messages.
function mw.who(event)
  local p = event.process
  return string.format("%s (pid %d)", p.comm, p.pid)
end

return mw
