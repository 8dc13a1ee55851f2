-- A raw IP or packet socket opened by a program that is not a known network tool.
local SOCK_RAW = 3
local AF_PACKET = 17
local FAMILIES = { [2] = "AF_INET", [10] = "AF_INET6", [17] = "AF_PACKET" }

---@type mw.Signature
return {
  id = "MW-7001",
  version = "1.0.0",
  name = "Raw or packet socket opened by an unexpected program",
  description = [[
A program opened a raw IP socket (SOCK_RAW with AF_INET/AF_INET6) or a packet socket
(AF_PACKET), which let it read all traffic of an interface or forge arbitrary packets: the
building blocks of sniffers, covert channels (ICMP/raw tunnels), packet-filter bypasses and
"magic packet" backdoors that wait for a trigger without any listening port. Network tools that
need this (ping, tcpdump, DHCP clients, routing daemons, ...) are recognised by executable name.
Known false positives: monitoring agents and VPN software not on the list. Tuning: set the
`tools` parameter (params: {MW-7001: {tools: [...]}} in the configuration, or
--param MW-7001.tools=a,b); it replaces the list, so copy the defaults you keep.]],
  severity = "medium",
  tags = { "network", "sniffing", "backdoor" },
  mitre = { tactic = "credential-access", technique = "T1040" },
  events = { "socket" },
  filter = { success = true, args = { domain = { 2, 10, 17 } } },
  params = {
    -- Executable names (or comms) allowed to open raw and packet sockets.
    tools = mw.set{
      "ping", "ping4", "ping6", "arping", "traceroute", "traceroute6", "tracepath", "mtr", "mtr-packet", "tcpdump",
      "dumpcap", "tshark", "wireshark", "dhclient", "dhcpcd", "dhcpd", "dnsmasq", "NetworkManager", "systemd-networkd",
      "wpa_supplicant", "hostapd", "lldpd", "keepalived", "suricata", "snort", "zeek", "nmap", "iftop", "nethogs",
      "arpwatch", "ptp4l", "chronyd", "avahi-daemon", "bird", "ospfd", "isisd", "zebra",
    },
  },

  on_event = function(event, state)
    local domain, stype = event.args.domain, (event.args.type or 0) & 0xf
    if domain ~= AF_PACKET and stype ~= SOCK_RAW then return end
    local exe = event.process.exe or ""
    local name = exe ~= "" and mw.basename(exe) or event.process.comm
    local tools = params.tools
    if tools[name] or tools[event.process.comm] then return end
    report{
      message = string.format("%s opened a %s %s socket", mw.who(event), FAMILIES[domain] or tostring(domain),
                              stype == SOCK_RAW and "raw" or "packet"),
      data = { domain = FAMILIES[domain], type = stype, protocol = event.args.protocol, fd = event.ret,
               pid = event.process.pid, uid = event.process.uid, comm = event.process.comm, exe = exe },
    }
  end,
}
