-- A user-memory argument read differently at syscall entry and at exit.
return {
  id = "MW-2001",
  version = "1.0.0",
  name = "Syscall argument changed while the kernel was using it",
  description = [[
moonwatch reads every TOCTOU-tagged argument (user memory the kernel copies after a tracer
may have looked at it) at syscall entry and again at exit. When the two reads differ, another
thread or process rewrote the argument during the call: the value a monitor saw is not
necessarily the one the kernel acted on. This is the shape of "phantom" attacks that evade
syscall monitors, and of racy programs. Equal reads prove nothing (a value can be flipped
and flipped back). Known false positives: programs that reuse one buffer across threads
without locking. Tuning: exclude by data.comm or data.argument if a known program is racy.]],
  severity = "high",
  tags = { "toctou", "evasion" },
  mitre = { tactic = "defense-evasion", technique = "T1562" },
  events = { "sendmsg", "sendto", "sendmmsg", "connect", "bind", "openat", "memfd_create",
             "execve", "execveat", "init_module", "finit_module", "open", "creat", "openat2" },
  -- Checked natively: on_event runs only when an argument actually changed.
  filter = { changed = true },

  on_event = function(event, state)
    local changed = event.changed
    if #changed == 0 then return end
    for _, name in ipairs(changed) do
      report{
        message = string.format("%s: %s argument '%s' changed between syscall entry and exit",
                                 mw.who(event), event.name, name),
        data = {
          argument = name,
          entry = event.args[name],
          exit = event.exit_args[name],
          syscall = event.name,
          pid = event.process.pid,
          comm = event.process.comm,
        },
      }
    end
  end,
}
