-- genesys.lua: Genesys Cloud correlation fields for SIP in Wireshark.
--
-- A post-dissector from the genesys-sip project. It reads the header block of
-- every SIP message in a frame (the sip.msg_hdr field, so it works on UDP,
-- reassembled TCP, WebSocket, decrypted TLS and exported PDUs alike) and adds:
--
--   genesys.call_id          X-Genesys-Call-ID (and any header listed in the
--                            "Call-ID headers" preference)
--   genesys.conversation_id  x-inin-cnv, the Genesys conversation id
--
-- and, from the pcapng comments genesys-sip attaches (one per matched Genesys
-- Cloud trace record, see the README for the format):
--
--   genesys.trace.call_id, .conversation_id, .event, .status, .method, .cseq,
--   .dir, .node, .time (absolute), .skew (seconds), .key, .match, .warn
--   genesys.genesys_only     true on frames of the "Genesys Cloud" interface:
--                            messages Genesys traced that this capture lacks
--   genesys.alert.status, genesys.alert.event   from "genesys-alert:" comments
--
-- Expert info flags Call-ID-only matches (warn=) and error statuses (>= 400).
--
-- Header names match case-insensitively, whitespace before the colon and
-- folded (continued) lines are accepted (RFC 3261 section 7.3.1), and every
-- occurrence of a repeated header becomes a field, so a display filter such as
--   genesys.call_id == "0f6f1c5e-..."
-- matches whichever message of the frame carries it.
--
-- Runs on Wireshark 4.0 (Lua 5.2) through 4.6 (Lua 5.4).

local genesys = Proto("genesys", "Genesys Cloud SIP correlation")

local f_call_id = ProtoField.string("genesys.call_id", "X-Genesys-Call-ID",
    "Genesys Cloud call id (X-Genesys-Call-ID header)")
local f_conv_id = ProtoField.string("genesys.conversation_id", "Conversation ID",
    "Genesys Cloud conversation id (x-inin-cnv header)")

local f_trace = ProtoField.string("genesys.trace", "Genesys Cloud trace record")
local f_t_call_id = ProtoField.string("genesys.trace.call_id", "Call ID", "X-Genesys-Call-ID of the trace record")
local f_t_conv_id = ProtoField.string("genesys.trace.conversation_id", "Conversation ID")
local f_t_event = ProtoField.string("genesys.trace.event", "Event", "Method, or status and reason")
local f_t_status = ProtoField.uint32("genesys.trace.status", "Status", base.DEC)
local f_t_method = ProtoField.string("genesys.trace.method", "Method", "Request method, or the CSeq method of a response")
local f_t_cseq = ProtoField.string("genesys.trace.cseq", "CSeq")
local f_t_dir = ProtoField.string("genesys.trace.dir", "Direction", "in: Genesys received it; out: Genesys sent it")
local f_t_node = ProtoField.string("genesys.trace.node", "Node", "Genesys Cloud node (edge) that traced the message")
local f_t_time = ProtoField.absolute_time("genesys.trace.time", "Time", base.UTC,
    "When Genesys traced the message, corrected onto the capture clock")
local f_t_skew = ProtoField.double("genesys.trace.skew", "Clock skew (s)",
    "Genesys clock minus capture clock, in seconds (positive: Genesys ahead)")
local f_t_key = ProtoField.string("genesys.trace.key", "Matched by", "x-genesys-call-id, x-inin-cnv or call-id")
local f_t_match = ProtoField.string("genesys.trace.match", "Pairing", "order: paired by order of appearance (B2BUA)")
local f_t_warn = ProtoField.string("genesys.trace.warn", "Warning")
local f_only = ProtoField.bool("genesys.genesys_only", "Seen only by Genesys Cloud")
local f_alert = ProtoField.string("genesys.alert", "Alert")
local f_a_status = ProtoField.uint32("genesys.alert.status", "Alert status", base.DEC)
local f_a_event = ProtoField.string("genesys.alert.event", "Alert event")

genesys.fields = {
    f_call_id, f_conv_id, f_trace, f_t_call_id, f_t_conv_id, f_t_event, f_t_status, f_t_method,
    f_t_cseq, f_t_dir, f_t_node, f_t_time, f_t_skew, f_t_key, f_t_match, f_t_warn, f_only,
    f_alert, f_a_status, f_a_event,
}

local ef_warn = ProtoExpert.new("genesys.trace.warn.expert", "Genesys trace match warning",
    expert.group.SEQUENCE, expert.severity.WARN)
local ef_status = ProtoExpert.new("genesys.trace.status.expert", "Genesys traced an error response",
    expert.group.RESPONSE_CODE, expert.severity.NOTE)
local ef_alert = ProtoExpert.new("genesys.alert.expert", "Genesys SIP alert",
    expert.group.RESPONSE_CODE, expert.severity.WARN)
genesys.experts = { ef_warn, ef_status, ef_alert }

genesys.prefs.call_id_headers = Pref.string("Call-ID headers", "X-Genesys-Call-ID",
    "Comma-separated SIP header names whose value is the Genesys call id")
genesys.prefs.conversation_headers = Pref.string("Conversation headers", "x-inin-cnv",
    "Comma-separated SIP header names whose value is the Genesys conversation id")

local sip_msg_hdr = Field.new("sip.msg_hdr")
local frame_comment = Field.new("frame.comment")
local frame_iface = Field.new("frame.interface_name")

-- The interface genesys-sip writes Genesys-only records on.
local GENESYS_IFACE = "Genesys Cloud"

-- name sets built from the preferences, lower-case
local call_id_names, conv_names = {}, {}

local function name_set(list)
    local set = {}
    for name in string.gmatch(list or "", "[^,%s]+") do
        set[string.lower(name)] = true
    end
    return set
end

local function load_prefs()
    call_id_names = name_set(genesys.prefs.call_id_headers)
    conv_names = name_set(genesys.prefs.conversation_headers)
end
load_prefs()

function genesys.prefs_changed()
    load_prefs()
end

local function trim(s)
    return (string.gsub(s, "^[ \t]+", ""):gsub("[ \t\r]+$", ""))
end

-- parse_headers splits a SIP header block into
-- { name = lower-case name, value = unfolded value, off = 0-based offset of
--   the value in the block, len = length of the value on its first line }.
local function parse_headers(text)
    local headers = {}
    local pos, n = 1, #text
    local current = nil
    while pos <= n do
        local eol = string.find(text, "\n", pos, true)
        local stop = eol and (eol - 1) or n
        local line = string.sub(text, pos, stop)
        if string.sub(line, -1) == "\r" then
            line = string.sub(line, 1, -2)
        end
        if line == "" then
            break -- the empty line ends the headers
        end
        local first = string.sub(line, 1, 1)
        if (first == " " or first == "\t") and current then
            -- folded continuation of the previous header
            local more = trim(line)
            if more ~= "" then
                current.value = trim(current.value .. " " .. more)
            end
        else
            local name, ws, rest = string.match(line, "^([!%%%*%+%-%.%w_`'~]+)([ \t]*):(.*)$")
            if name then
                local lead = string.match(rest, "^[ \t]*")
                local value = trim(rest)
                current = {
                    name = string.lower(name),
                    value = value,
                    off = (pos - 1) + #name + #ws + 1 + #lead,
                    len = #value,
                }
                headers[#headers + 1] = current
            else
                current = nil
            end
        end
        pos = (eol or n) + 1
    end
    return headers
end

-- parse_pairs reads the key=value pairs after a comment prefix; values may be
-- double-quoted with \" and \\ escapes.
local function parse_pairs(s)
    local pairs_ = {}
    local i, n = 1, #s
    while i <= n do
        local ks, ke = string.find(s, "^[ \t]*[%w_%-%.]+=", i)
        if not ks then
            break
        end
        local key = string.match(string.sub(s, ks, ke - 1), "[%w_%-%.]+$")
        i = ke + 1
        local value
        if string.sub(s, i, i) == '"' then
            local buf = {}
            i = i + 1
            while i <= n do
                local c = string.sub(s, i, i)
                if c == "\\" and i < n then
                    buf[#buf + 1] = string.sub(s, i + 1, i + 1)
                    i = i + 2
                elseif c == '"' then
                    i = i + 1
                    break
                else
                    buf[#buf + 1] = c
                    i = i + 1
                end
            end
            value = table.concat(buf)
        else
            local vs, ve = string.find(s, "^[^ \t]*", i)
            value = string.sub(s, vs, ve)
            i = ve + 1
        end
        pairs_[key] = value
    end
    return pairs_
end

-- days_from_civil: days since 1970-01-01 of a proleptic Gregorian date
-- (Howard Hinnant's algorithm), without os.time, which is local time.
local function days_from_civil(y, m, d)
    if m <= 2 then
        y = y - 1
    end
    local era = math.floor(y / 400)
    local yoe = y - era * 400
    local mp = (m + 9) % 12
    local doy = math.floor((153 * mp + 2) / 5) + d - 1
    local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
    return era * 146097 + doe - 719468
end

-- parse_time turns "2026-11-25T10:05:01.123456Z" into an NSTime.
local function parse_time(s)
    local y, mo, d, h, mi, sec, frac = string.match(s or "",
        "^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)%.?(%d*)Z$")
    if not y then
        return nil
    end
    local secs = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
        + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
    local nsecs = 0
    if frac ~= "" then
        nsecs = math.floor(tonumber(string.sub(frac .. "000000000", 1, 9)))
    end
    return NSTime.new(math.floor(secs), nsecs)
end

-- parse_skew turns "+2.333s", "-850ms" or "+400µs" into seconds.
local function parse_skew(s)
    local num, unit = string.match(s or "", "^([%+%-]?[%d%.]+)(.*)$")
    num = tonumber(num)
    if not num then
        return nil
    end
    if unit == "s" then
        return num
    elseif unit == "ms" then
        return num / 1000
    elseif unit == "µs" or unit == "us" then
        return num / 1000000
    end
    return nil
end

local function add_string(tree, field, value)
    if value and value ~= "" then
        tree:add(field, value)
    end
end

local function dissect_trace(tree, text)
    local p = parse_pairs(string.sub(text, #"genesys:" + 1))
    local sub = tree:add(f_trace, text)
    add_string(sub, f_t_call_id, p.call)
    add_string(sub, f_t_conv_id, p.conv)
    add_string(sub, f_t_event, p.event)
    local status = tonumber(string.match(p.event or "", "^(%d%d%d)"))
    if status then
        sub:add(f_t_status, status)
        if status >= 400 then
            sub:add_proto_expert_info(ef_status, "Genesys traced " .. p.event)
        end
    end
    add_string(sub, f_t_method, p.method)
    add_string(sub, f_t_cseq, p.cseq)
    add_string(sub, f_t_dir, p.dir)
    add_string(sub, f_t_node, p.node)
    local t = parse_time(p.t)
    if t then
        sub:add(f_t_time, t)
    end
    local skew = parse_skew(p.skew)
    if skew then
        sub:add(f_t_skew, skew)
    end
    add_string(sub, f_t_key, p.key)
    add_string(sub, f_t_match, p.match)
    if p.warn and p.warn ~= "" then
        sub:add(f_t_warn, p.warn)
        sub:add_proto_expert_info(ef_warn, p.warn)
    end
end

local function dissect_alert(tree, text)
    local p = parse_pairs(string.sub(text, #"genesys-alert:" + 1))
    local sub = tree:add(f_alert, text)
    local status = tonumber(p.status)
    if status then
        sub:add(f_a_status, status)
    end
    add_string(sub, f_a_event, p.event)
    sub:add_proto_expert_info(ef_alert, "Alert: " .. (p.event or text))
end

-- dissect_comments adds the fields of genesys-sip's packet comments; it
-- returns the subtree it created, if any.
local function dissect_comments(tree)
    local subtree = nil
    local function st()
        if not subtree then
            subtree = tree:add(genesys)
        end
        return subtree
    end
    local iface = frame_iface()
    if iface and iface.value == GENESYS_IFACE then
        st():add(f_only, true)
    end
    for _, c in ipairs({ frame_comment() }) do
        local text = c.value
        if type(text) == "string" then
            if string.sub(text, 1, 8) == "genesys:" then
                dissect_trace(st(), text)
            elseif string.sub(text, 1, 14) == "genesys-alert:" then
                dissect_alert(st(), text)
            end
        end
    end
    return subtree
end

function genesys.dissector(tvb, pinfo, tree)
    local subtree = dissect_comments(tree)
    local blocks = { sip_msg_hdr() }
    for _, block in ipairs(blocks) do
        local range = block.range
        if range then
            local text = range:string()
            for _, h in ipairs(parse_headers(text)) do
                local field = nil
                if call_id_names[h.name] then
                    field = f_call_id
                elseif conv_names[h.name] then
                    field = f_conv_id
                end
                if field and h.value ~= "" then
                    if not subtree then
                        subtree = tree:add(genesys, range)
                    end
                    local len = h.len
                    if h.off + len > range:len() then
                        len = range:len() - h.off
                    end
                    if len > 0 then
                        subtree:add(field, range:range(h.off, len), h.value)
                    else
                        subtree:add(field, h.value)
                    end
                end
            end
        end
    end
end

register_postdissector(genesys)
