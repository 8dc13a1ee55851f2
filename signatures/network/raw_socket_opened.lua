-- A raw IP or packet socket opened by a program that is not a known network tool.
local SOCK_RAW = 3
local SOCK_PACKET = 10   -- the legacy packet socket, still accepted under AF_INET
local AF_PACKET = 17
local FAMILIES = { [2] = "AF_INET", [10] = "AF_INET6", [17] = "AF_PACKET" }

---@type mw.Signature
return {
  id = "MW-7001",
  version = "1.0.0",
  name = "Raw or packet socket opened by an unexpected program",
  description = [[
A program opened a raw IP socket (SOCK_RAW with AF_INET/AF_INET6), a packet socket
(AF_PACKET) or the legacy SOCK_PACKET type under AF_INET, which let it read all traffic of an
interface or forge arbitrary packets: the building blocks of sniffers, covert channels (ICMP/raw
tunnels), packet-filter bypasses and "magic packet" backdoors that wait for a trigger without any
listening port. Network tools that need this (ping, tcpdump, DHCP clients, routing daemons, ...)
are recognised by the identity (device and inode) of their installed executable, not by name: a
process renamed with prctl, a copy of ping, or another binary bind-mounted over /usr/bin/ping is
not the tool. Known false positives: monitoring agents and VPN software not on the list, and
network tools inside containers (their files are not the host's). Tuning: set the `tools`
parameter to executable paths (params: {MW-7001: {tools: [...]}} in the configuration, or
--param MW-7001.tools=/usr/bin/a,/usr/sbin/b); it replaces the list, so copy the defaults you
keep.]],
  severity = "medium",
  tags = { "network", "sniffing", "backdoor" },
  mitre = { tactic = "credential-access", technique = "T1040" },
  events = { "socket" },
  filter = { success = true, args = { domain = { 2, 10, 17 } } },
  params = {
    -- Executables allowed to open raw and packet sockets, matched by the identity of the file.
    tools = mw.set{
      "/usr/bin/ping", "/bin/ping", "/usr/bin/ping4", "/usr/bin/ping6", "/usr/sbin/arping", "/usr/bin/arping",
      "/usr/bin/traceroute", "/usr/sbin/traceroute", "/usr/bin/traceroute6", "/usr/bin/tracepath", "/usr/bin/mtr",
      "/usr/bin/mtr-packet", "/usr/sbin/tcpdump", "/usr/bin/tcpdump", "/usr/bin/dumpcap", "/usr/bin/tshark",
      "/usr/bin/wireshark", "/usr/sbin/dhclient", "/sbin/dhclient", "/usr/sbin/dhcpcd", "/usr/sbin/dhcpd",
      "/usr/sbin/dnsmasq", "/usr/sbin/NetworkManager", "/usr/lib/systemd/systemd-networkd",
      "/lib/systemd/systemd-networkd", "/usr/sbin/wpa_supplicant", "/usr/sbin/hostapd", "/usr/sbin/lldpd",
      "/usr/sbin/keepalived", "/usr/bin/suricata", "/usr/sbin/snort", "/usr/bin/zeek", "/usr/bin/nmap",
      "/usr/sbin/iftop", "/usr/sbin/nethogs", "/usr/sbin/arpwatch", "/usr/sbin/ptp4l", "/usr/sbin/chronyd",
      "/usr/sbin/avahi-daemon", "/usr/sbin/bird", "/usr/lib/frr/ospfd", "/usr/lib/frr/isisd", "/usr/lib/frr/zebra",
    },
  },

  on_event = function(event, state)
    local domain, stype = event.args.domain, (event.args.type or 0) & 0xf
    if domain ~= AF_PACKET and stype ~= SOCK_RAW and stype ~= SOCK_PACKET then return end
    local exe = event.process.exe or ""
    if mw.exe_is(event, params.tools) then return end
    report{
      message = string.format("%s opened a %s %s socket", mw.who(event), FAMILIES[domain] or tostring(domain),
                              stype == SOCK_RAW and "raw" or (stype == SOCK_PACKET and "SOCK_PACKET" or "packet")),
      data = { domain = FAMILIES[domain], type = stype, protocol = event.args.protocol, fd = event.ret,
               pid = event.process.pid, uid = event.process.uid, comm = event.process.comm, exe = exe },
    }
  end,
}
