#!/usr/bin/python3
"""Writes the seed corpora (fuzz/corpus/TARGET/) from the test fixtures and from hand-built
well-formed messages, so each target starts from inputs that reach deep into its decoders.
Run from the repository root: python3 fuzz/seed.py. The committed corpora (fuzz/corpus/) are
these seeds plus what fuzzing found, minimised with `cargo fuzz cmin`."""
import glob, hashlib, json, os, re, struct, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "fuzz", "corpus")


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


fx = os.path.join(root, "tests", "fixtures")
for p in glob.glob(os.path.join(fx, "drbd", "*.txt")):
    put("drbd_status", open(p, "rb").read())
for p in glob.glob(os.path.join(fx, "drbd", "*.xml")):
    put("cluster_xml", open(p, "rb").read())

# IPMI: the known-answer packets of tests/fixtures/ipmi/vectors.json, and framed replies.
vec = json.load(open(os.path.join(fx, "ipmi", "vectors.json")))
for suite in vec.get("rmcp_plus", []):
    for pkt in suite.get("packets", []):
        put("ipmi", bytes.fromhex(pkt["packet"]))
rmcp = bytes([0x06, 0x00, 0xFF, 0x07])


def ipmi_response(netfn, cmd, seq, cc, data):
    rq = bytes([0x81, (netfn + 1) << 2])
    c1 = (-sum(rq)) & 0xFF
    body = bytes([0x20, (seq << 2), cmd, cc]) + data
    return rq + bytes([c1]) + body + bytes([(-sum(body)) & 0xFF])


chassis = ipmi_response(0x00, 0x01, 1, 0, bytes([0x21, 0x00, 0x40]))
put("ipmi", rmcp + bytes([0]) + struct.pack("<II", 0, 0) + bytes([len(chassis)]) + chassis)
put("ipmi", rmcp + bytes([2]) + struct.pack("<II", 5, 0x1234) + bytes(16) + bytes([len(chassis)]) + chassis)
open_resp = bytes([42, 0, 4, 0]) + struct.pack("<II", 0xA0A1A2A3, 0x10203040) + bytes(
    [0, 0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 8, 1, 0, 0, 0, 2, 0, 0, 8, 1, 0, 0, 0])
put("ipmi", rmcp + bytes([6, 0x11]) + struct.pack("<IIH", 0, 0, len(open_resp)) + open_resp)
rakp2 = bytes([42, 0, 0, 0]) + struct.pack("<I", 0xA0A1A2A3) + bytes(range(16)) + bytes(16) + bytes(32)
put("ipmi", rmcp + bytes([6, 0x13]) + struct.pack("<IIH", 0, 0, len(rakp2)) + rakp2)
rakp4 = bytes([42, 0, 0, 0]) + struct.pack("<I", 0xA0A1A2A3) + bytes(16)
put("ipmi", rmcp + bytes([6, 0x15]) + struct.pack("<IIH", 0, 0, len(rakp4)) + rakp4)
put("ipmi", chassis)

# Fence requests: first byte picks stdin (even) or argv lines (odd), IPMI or iDRAC.
stdin = ["action=off\nip=192.0.2.10\nusername=admin\npassword=secret\nlanplus=1\n",
         "action=reboot\nip=bmc\npassword=x\ncipher=17\nprivlvl=operator\nmethod=cycle\npower_timeout=20\n",
         "action=status\nip=10.0.0.1\npassword_script=/bin/true\nhexadecimal_kg=0123456789abcdef\nagent_timeout=60\n",
         "action=on\nipaddr=h\nlogin=u\npasswd=p\nauth=md5\nlanplus=0\ndelay=0\nretry_on=3\n",
         "action=validate-all\nip=h\npassword=p\nport_as_ip=1\nplug=192.0.2.1\nverbose=1\n"]
for s in stdin:
    put("fence_request", b"\x00" + s.encode())
    put("fence_request", b"\x02" + s.encode())
put("fence_request", b"\x01-o\nstatus\n-a\n192.0.2.1\n-l\nadmin\n--lanplus\n-C\n17\n--power-timeout=20\n")
put("fence_request", b"\x03--action=off\n--ip=h\n-p\nx\n--hexadecimal-kg=00ff\n-L\noperator\n")

# OCF environments.
put("ocf_env", "OCF_RESKEY_ip=192.0.2.50\nOCF_RESKEY_cidr_netmask=24\nOCF_RESKEY_nic=eth0\nOCF_RESKEY_label=vip\n"
    "OCF_RESKEY_broadcast=192.0.2.255\nOCF_RESKEY_preferred_lft=forever\nOCF_RESKEY_CRM_meta_timeout=20000\n")
put("ocf_env", "OCF_RESKEY_ip=2001:db8::5\nOCF_RESKEY_cidr_netmask=64\nOCF_RESKEY_nodad=true\nOCF_CHECK_LEVEL=10\n")
put("ocf_env", "OCF_RESKEY_adjust_master_score=0 10 1000 10000\nOCF_RESKEY_remove_master_score_if_peer_primary=unexpected\n"
    "OCF_RESKEY_require_drbd_module_version_ge=8.4.11\nOCF_RESKEY_CRM_meta_clone_max=2\nOCF_RESKEY_CRM_meta_clone_node_max=1\n"
    "OCF_RESKEY_CRM_meta_promoted_max=1\nOCF_RESKEY_CRM_meta_notify=true\nOCF_RESKEY_CRM_meta_notify_promoted_uname=a b\n")
put("ocf_env", "OCF_RESKEY_listeners=smtp:0.0.0.0:25,imap:[::1]:143,cli\nOCF_RESKEY_probe_address=127.0.0.1:7000\n")
put("ocf_env", "DRBD_RESOURCE=r0\nDRBD_PEER_NODE_ID=1\nDRBD_NODE_ID_0=alpha\nDRBD_NODE_ID_1=beta\nDRBD_PEERS=beta\n"
    "--timeout=30 --dc-timeout=20 --unfence-if-all-uptodate\n")

# Axigen: configuration, CLI replies, greetings.
m = re.search(r'const SAMPLE: &str = r#"(.*?)"#;', open(os.path.join(root, "src", "axigen", "config.rs")).read(), re.S)
if m:
    put("axigen", m.group(1))
for g in ["220 mail.example ESMTP Axigen\r\n", "+OK Axigen POP3 ready\r\n", "* OK Axigen IMAP4 ready\r\n",
          "HTTP/1.1 200 OK\r\nServer: Axigen-Webmail\r\n", "Welcome to AXIGEN's Command Line Interface\r\n<login> ",
          "+OK: command successful\r\n<#> ", "-ERR: invalid command\r\n<server#> "]:
    put("axigen", g)

# rtnetlink payloads (native endianness, as the kernel sends them).
def nla(kind, value):
    v = struct.pack("=HH", len(value) + 4, kind) + value
    return v + bytes((-len(v)) % 4)

AF_INET, AF_INET6 = 2, 10
put("rtnl", bytes([AF_INET, 24, 0x80, 0]) + struct.pack("=I", 7) + nla(1, bytes([192, 0, 2, 10])) + nla(2, bytes([192, 0, 2, 10]))
    + nla(3, b"eth0:vip\0") + nla(4, bytes([192, 0, 2, 255])) + nla(8, struct.pack("=I", 0x240)))
put("rtnl", bytes([AF_INET6, 64, 0, 0]) + struct.pack("=I", 3) + nla(1, bytes(16)))
# ifinfomsg: family, pad, type, index, flags, change; IFLA_IFNAME, IFLA_ADDRESS, IFLA_OPERSTATE, IFLA_CARRIER
put("rtnl", struct.pack("=BBHiII", 0, 0, 1, 2, 0x11043, 0) + nla(3, b"eth0\0") + nla(1, bytes([2, 0, 0, 0, 0, 1]))
    + nla(16, bytes([6])) + nla(33, bytes([1])))
# rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags; RTA_DST, RTA_OIF, RTA_PRIORITY, RTA_TABLE
put("rtnl", struct.pack("=BBBBBBBBI", AF_INET, 24, 0, 0, 254, 2, 253, 1, 0) + nla(1, bytes([192, 0, 2, 0]))
    + nla(4, struct.pack("=I", 2)) + nla(6, struct.pack("=I", 100)) + nla(15, struct.pack("=I", 254)))

# SNMP v2c GetResponse messages with outlet status varbinds of the built-in models.
def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    lb = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(lb)]) + lb + body

def integer(v):
    return tlv(0x02, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))

def oid(text):
    arcs = [int(a) for a in text.strip(".").split(".")]
    body = bytes([arcs[0] * 40 + arcs[1]])
    for a in arcs[2:]:
        enc = [a & 0x7F]
        a >>= 7
        while a:
            enc.append(0x80 | (a & 0x7F))
            a >>= 7
        body += bytes(reversed(enc))
    return tlv(0x06, body)

def response(varbinds, version=1):
    vbs = b"".join(tlv(0x30, oid(o) + v) for o, v in varbinds)
    pdu = tlv(0xA2, integer(1234) + integer(0) + integer(0) + tlv(0x30, vbs))
    return tlv(0x30, integer(version) + tlv(0x04, b"private") + pdu)

for o, v in [("1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.3", integer(1)),
             ("1.3.6.1.4.1.318.1.1.4.4.2.1.3.5", integer(2)),
             ("1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.4", integer(1)),
             ("1.3.6.1.4.1.534.6.6.7.6.6.1.2.0.3", integer(0)),
             ("1.3.6.1.4.1.13742.6.4.1.2.1.3.1.2", integer(7)),
             ("1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.4.1.2", integer(1)),
             ("1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.9", bytes([0x81, 0]))]:
    put("snmp_outlet", response([(o, v)]))
    put("snmp_outlet", response([(o, v)], version=0))

# Redfish replies, shaped as DMTF's schema and the public mockups lay them out (service root,
# Systems collection with inline members, ComputerSystem with its Reset action, ActionInfo,
# Task, error document) and the emulator's variants (transitional and null PowerState).
system = {"@odata.id": "/redfish/v1/Systems/1", "Id": "1", "Name": "node-a", "PowerState": "On",
          "Actions": {"#ComputerSystem.Reset": {
              "target": "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset",
              "ResetType@Redfish.AllowableValues": ["On", "ForceOff", "GracefulShutdown",
                                                    "ForceRestart", "PushPowerButton"],
              "@Redfish.ActionInfo": "/redfish/v1/Systems/1/ResetActionInfo"}}}
redfish_docs = [
    {"@odata.id": "/redfish/v1/", "RedfishVersion": "1.6.0", "Systems": {"@odata.id": "/redfish/v1/Systems"},
     "SessionService": {"@odata.id": "/redfish/v1/SessionService"},
     "Links": {"Sessions": {"@odata.id": "/redfish/v1/SessionService/Sessions"}}},
    {"@odata.id": "/redfish/v1/Systems", "Members@odata.count": 2,
     "Members": [{"@odata.id": "/redfish/v1/Systems/1", "Id": "1", "Name": "node-a"},
                 {"@odata.id": "/redfish/v1/Systems/2", "Id": "2", "Name": "node-a"}]},
    system,
    dict(system, PowerState="Off"),
    dict(system, PowerState="PoweringOff"),
    dict(system, PowerState=None),
    {"@odata.id": "/redfish/v1/Systems/1/ResetActionInfo", "Parameters": [
        {"Name": "ResetType", "Required": True, "DataType": "String",
         "AllowableValues": ["On", "GracefulShutdown", "PushPowerButton"]}]},
    {"@odata.id": "/redfish/v1/TaskService/Tasks/7", "TaskState": "Exception", "TaskStatus": "Critical",
     "Messages": [{"Message": "The reset was rejected."}]},
    {"@odata.id": "/redfish/v1/TaskService/Tasks/8", "TaskState": "Completed", "TaskStatus": "OK"},
    {"error": {"code": "Base.1.8.GeneralError", "message": "A general error has occurred.",
               "@Message.ExtendedInfo": [{"MessageId": "Base.1.8.ResourceInUse",
                                          "Message": "The change could not be made: resource in use."}]}},
]
for d in redfish_docs:
    put("redfish", json.dumps(d))
put("redfish", "[2001:db8::7]:8443")
