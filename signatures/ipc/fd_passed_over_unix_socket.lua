-- A process handed one of its open file descriptors to another process with SCM_RIGHTS.
return {
  id = "MW-1001",
  version = "1.0.0",
  name = "File descriptor passed over a UNIX socket",
  description = [[
A successful sendmsg/sendmmsg carried an SCM_RIGHTS control message: the receiver gets its
own descriptor for the sender's open file, socket or pipe, with whatever access the sender
had. A receive of descriptors whose send was not seen (its header could not be read, it was
made before moonwatch started, or through a door the probes miss) is reported from the receiving
side, with the objects resolved in the receiver's table. This is an inventory signal, low on its own; MW-1002 and MW-1003 raise the cases that
matter (a sensitive object, a privilege boundary). Known false positives: many programs pass
descriptors legitimately (systemd socket activation, container runtimes, Wayland/X11
compositors, D-Bus, privilege-separated daemons). Tuning: allow-list the sending programs you
expect (data.comm, data.exe).]],
  severity = "low",
  tags = { "ipc", "fd-passing" },
  events = { "sendmsg", "sendmmsg", "recvmsg", "recvmmsg", "recvmmsg_time32" },
  -- Checked natively: only successful calls that carry descriptors reach on_event.
  filter = { success = true, control = "SCM_RIGHTS" },

  on_event = function(event, state)
    if event.ret < 0 then return end
    local fds, files, total = mw.passed_fds(event)
    if total == 0 then return end
    local ledger = mw.pass_ledger(state, "passes")
    local receiving = event.name:sub(1, 4) == "recv"
    if not receiving then
      ledger:sent(event, files, total)
    elseif ledger:seen(event, files, total) then
      return
    end
    -- Name what was passed: "7=/etc/hostname, 8=socket:[1234]" (the first few), or the fd numbers.
    local what = {}
    for i, f in ipairs(files) do
      if i > 4 then what[#what + 1] = "..." break end
      what[#what + 1] = string.format("%d=%s", f.fd, f.path or f.type or "?")
    end
    if #what == 0 and #fds == 0 then what[1] = "past what the probe copies" end
    if #what == 0 then
      for i, fd in ipairs(fds) do
        if i > 8 then what[#what + 1] = "..." break end
        what[#what + 1] = tostring(fd)
      end
    end
    report{
      message = string.format(receiving and "%s received %d file descriptor(s) over a UNIX socket (fd %d) whose send was not seen: %s"
                                        or "%s passed %d file descriptor(s) over a UNIX socket (fd %d): %s",
                              mw.who(event), total, event.args.sockfd or -1, table.concat(what, ", ")),
      data = {
        fds = fds,
        files = files,
        sockfd = event.args.sockfd,
        pid = event.process.pid,
        comm = event.process.comm,
        exe = event.process.exe,
        -- cut messages: how many passed descriptors the probe could not resolve
        unresolved = #event.truncated > 0 and total - #files or nil,
      },
    }
  end,
}
