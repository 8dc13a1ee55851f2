-- A descriptor for a credential store, a container runtime socket, process memory or a raw disk
-- was handed to another process with SCM_RIGHTS.
local sensitive = {
  -- credentials and keys
  "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers", "/etc/sudoers.d/*",
  "/etc/ssh/ssh_host_*key", "/root/.ssh/**", "/home/*/.ssh/**", "/etc/kubernetes/pki/**",
  "/var/lib/kubelet/pki/**", "/etc/kubernetes/admin.conf",
  -- container runtime control sockets
  "/run/docker.sock", "/var/run/docker.sock", "/run/containerd/containerd.sock",
  "/var/run/containerd/containerd.sock", "/run/crio/crio.sock", "/var/run/crio/crio.sock",
  "/run/podman/podman.sock", "/run/user/*/podman/podman.sock", "/run/k3s/containerd/containerd.sock",
  -- memory of processes and the kernel
  "/proc/*/mem", "/proc/kcore", "/dev/mem", "/dev/kmem", "/dev/port",
  -- block devices
  "/dev/sd*", "/dev/nvme*", "/dev/vd*", "/dev/xvd*", "/dev/hd*", "/dev/dm-*", "/dev/mapper/*", "/dev/md*",
}

return {
  id = "MW-1002",
  version = "1.0.0",
  name = "Sensitive object passed over a UNIX socket",
  description = [[
A successful sendmsg/sendmmsg passed, with SCM_RIGHTS, a descriptor for a credentials file or
key, a container runtime control socket, process or kernel memory (/proc/PID/mem, /dev/mem) or a
block device. The receiver gets the sender's access without ever opening the object, so
permission checks and open-time monitoring never see it: a classic way to smuggle access across
a privilege or container boundary. Matching uses what each descriptor referred to in the
sender's table (data.files: path, and for sockets the address the socket is bound or connected
to). Known false positives: privilege-separated daemons that open a key or device as root and
hand it to their unprivileged half (some VPN and backup tools). Tuning: allow-list the sender's
exe for the specific path, never a whole directory. A receive of such a descriptor whose send was not seen (its header could
not be read, or a probe cap hid it) is reported from the receiving side; a pass padded past what
the probe resolves is reported as hiding what it passed.]],
  severity = "high",
  tags = { "ipc", "fd-passing", "credential-access", "privilege-escalation" },
  mitre = { tactic = "privilege-escalation", technique = "T1068" },
  events = { "sendmsg", "sendmmsg", "recvmsg", "recvmmsg", "recvmmsg_time32" },
  filter = { success = true, control = "SCM_RIGHTS" },

  on_event = function(event, state)
    local _, files, total = mw.passed_fds(event)
    local ledger = mw.pass_ledger(state, "passes")
    local receiving = event.name:sub(1, 4) == "recv"
    if not receiving then
      ledger:sent(event, files, total)
    elseif ledger:seen(event, files, total) then
      return   -- its send was seen (and reported there if it mattered)
    end
    local hits = {}
    for _, f in ipairs(files) do
      local name = f.path
      if (type(name) == "string" and mw.glob_any(sensitive, name))
         or (type(f.peer) == "string" and mw.glob_any(sensitive, f.peer))
         or f.type == "block" then
        hits[#hits + 1] = f
      end
    end
    -- Descriptors the probe could not resolve because the sender made the message larger than it
    -- keeps (hundreds of descriptors, control data padded past the copy): what they were is
    -- unknown, and padding a pass to hide it is itself the tell.
    local unresolved = (not receiving and #event.truncated > 0) and total - #files or 0
    if #hits == 0 and unresolved <= 0 then return end
    if #hits == 0 then
      report{
        message = string.format("%s passed %d descriptors over a UNIX socket, %d of them past what the probe resolves: "
                                .. "what they refer to is hidden", mw.who(event), total, unresolved),
        data = { unresolved = unresolved, passed = total, truncated = event.truncated, sockfd = event.args.sockfd,
                 pid = event.process.pid, uid = event.process.uid, comm = event.process.comm, exe = event.process.exe },
      }
      return
    end
    local first = hits[1].path or hits[1].peer or "?"
    report{
      message = string.format(receiving and "%s received a descriptor for %s over a UNIX socket%s, its send unseen"
                                        or "%s passed a descriptor for %s over a UNIX socket%s", mw.who(event), first,
                              #hits > 1 and string.format(" (and %d more sensitive)", #hits - 1) or ""),
      data = { objects = hits, sockfd = event.args.sockfd, pid = event.process.pid, uid = event.process.uid,
               comm = event.process.comm, exe = event.process.exe },
    }
  end,
}
