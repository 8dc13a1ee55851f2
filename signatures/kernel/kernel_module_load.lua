-- A kernel module load (or attempt) by something other than the system's module loaders.
local LOADERS = mw.set{
  "/usr/bin/kmod", "/bin/kmod", "/usr/sbin/modprobe", "/sbin/modprobe", "/usr/sbin/insmod", "/sbin/insmod",
  "/usr/lib/systemd/systemd-udevd", "/lib/systemd/systemd-udevd",
  "/usr/lib/systemd/systemd-modules-load", "/lib/systemd/systemd-modules-load",
}

return {
  id = "MW-6001",
  version = "1.0.0",
  name = "Kernel module load",
  description = [[
init_module or finit_module was called by a program other than the distribution's module
loaders (kmod/modprobe/insmod, systemd-udevd, systemd-modules-load, matched by executable
path, which an unprivileged attacker cannot replace). Loading a module is running code in the
kernel: rootkits, credential stealers and security-tool killers arrive this way. Failed
attempts are reported too (the message says so), since probing for the ability to load is
itself a signal. Known false positives: DKMS builds and hardware vendor tools that load their
own modules; VirtualBox/VMware installers. Tuning: add their full exe paths to the allow-list.]],
  severity = "medium",
  tags = { "kernel", "persistence", "rootkit" },
  mitre = { tactic = "persistence", technique = "T1547.006" },
  events = { "init_module", "finit_module" },

  on_event = function(event, state)
    local exe = event.process.exe or ""
    if LOADERS[exe] then return end
    local how = event.name == "finit_module" and string.format("from fd %d", event.args.fd or -1)
                or string.format("from a %d-byte image in memory", event.args.len or 0)
    local ok = event.ret >= 0
    report{
      message = string.format("%s %s a kernel module %s%s", mw.who(event), ok and "loaded" or "tried to load", how,
                              ok and "" or string.format(" (failed: %d)", event.ret)),
      data = { syscall = event.name, loaded = ok, ret = event.ret, params = event.args.param_values,
               fd = event.args.fd, pid = event.process.pid, uid = event.process.uid, comm = event.process.comm,
               exe = exe },
    }
  end,
}
