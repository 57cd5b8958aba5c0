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

-- Header names from the preferences, lower-case: name -> true.
local call_id_names, conv_names = {}, {}
-- The headers to look for, one entry per name that can be a header name:
-- { search = "\n" .. name, length = #name, field = f_call_id or f_conv_id }.
local wanted = {}

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
    wanted = {}
    for _, set in ipairs({ call_id_names, conv_names }) do
        for name in pairs(set) do
            -- Only a token (RFC 3261 section 25.1) can be a header name; a
            -- name in both lists is a call id, so it is looked for once.
            local token = string.find(name, "^[!%%%*%+%-%.%w_`'~]+$")
            local twice = set == conv_names and call_id_names[name]
            if token and not twice then
                wanted[#wanted + 1] = {
                    search = "\n" .. name,
                    length = #name,
                    field = call_id_names[name] and f_call_id or f_conv_id,
                }
            end
        end
    end
end
load_prefs()

function genesys.prefs_changed()
    load_prefs()
end

-- value_span returns the bounds of text[i..j] without leading spaces and
-- tabs and without trailing spaces, tabs and CRs: a header value.
local function value_span(text, i, j)
    local byte = string.byte
    while i <= j do
        local c = byte(text, i)
        if c ~= 32 and c ~= 9 then
            break
        end
        i = i + 1
    end
    while j >= i do
        local c = byte(text, j)
        if c ~= 32 and c ~= 9 and c ~= 13 then
            break
        end
        j = j - 1
    end
    return i, j
end

-- add_header adds header h (an entry of wanted) from the line that starts at
-- position first of text, the header block of range, if the name is followed
-- by optional blanks and a colon (X-Genesys-Call-ID-Not is another header)
-- and the value is not empty. lower is "\n" .. text in lower case. It
-- returns the subtree, which it creates if need be.
-- utf8_safe returns s with every byte that does not belong to a valid
-- UTF-8 sequence replaced by U+FFFD, since field values must be UTF-8 (the
-- header block is read as raw bytes, so that offsets stay exact).
local function utf8_safe(s)
    if not string.find(s, "[\128-\255]") then
        return s
    end
    local out, i, n = {}, 1, #s
    while i <= n do
        local c = string.byte(s, i)
        local len = (c < 0x80 and 1) or (c >= 0xC2 and c <= 0xDF and 2)
            or (c >= 0xE0 and c <= 0xEF and 3) or (c >= 0xF0 and c <= 0xF4 and 4) or 0
        local ok = len > 0 and i + len - 1 <= n
        for k = 1, len - 1 do
            local d = ok and string.byte(s, i + k)
            ok = ok and d >= 0x80 and d <= 0xBF
        end
        if ok then
            out[#out + 1] = string.sub(s, i, i + len - 1)
            i = i + len
        else
            out[#out + 1] = "\239\191\189"
            i = i + 1
        end
    end
    return table.concat(out)
end

local function add_header(tree, subtree, range, text, lower, first, h)
    -- position x of text is position x + 1 of lower
    local _, colon = string.find(lower, "^[ \t]*:", first + h.length + 1)
    if not colon then
        return subtree
    end
    colon = colon - 1
    local eol = string.find(text, "\n", colon, true)
    local vs, ve = value_span(text, colon + 1, (eol or #text + 1) - 1)
    local value = string.sub(text, vs, ve)
    -- the highlighted bytes: the value on the header's first line
    local off, len = vs - 1, ve - vs + 1
    -- Folded header (RFC 3261 section 7.3.1): each following line that
    -- starts with a space or tab continues the value, joined by one space.
    local pos = eol and eol + 1
    while pos do
        local c = string.byte(text, pos) -- nil past the end
        if c ~= 32 and c ~= 9 then
            break
        end
        eol = string.find(text, "\n", pos, true)
        local ms, me = value_span(text, pos, (eol or #text + 1) - 1)
        if me >= ms then
            local more = string.sub(text, ms, me)
            value = (value == "") and more or (value .. " " .. more)
        end
        pos = eol and eol + 1
    end
    if value == "" then
        return subtree
    end
    value = utf8_safe(value)
    if not subtree then
        subtree = tree:add(genesys, range)
    end
    if len > 0 then -- text is the range's raw bytes: off + len never passes its end
        subtree:add(h.field, range:range(off, len), value)
    else
        subtree:add(h.field, value) -- only on continuation lines: no bytes to show
    end
    return subtree
end

-- next_line[i]: where the next line starting with wanted[i]'s name is;
-- reused from message to message so that no table is made per message.
local next_line = {}

-- find_headers adds the configured headers of one SIP header block (a
-- TvbRange), in the order they appear, and returns the subtree.
--
-- A message carries some thirty headers, of which one or two matter, so
-- instead of splitting every line it lower-cases the block once and looks
-- for "\n" .. name with a plain find, which runs at C speed. With a "\n" put
-- in front, the first line is found the same way: a line found at position p
-- of that string starts at position p of the block. Lines that start with a
-- blank are continuations, never headers, and "\n" .. name cannot match them.
local function find_headers(tree, subtree, range)
    local text = range:raw() -- bytes as they are: offsets stay exact after non-ASCII
    local lower = string.lower("\n" .. text)
    local count, found = #wanted, false
    for i = 1, count do
        next_line[i] = string.find(lower, wanted[i].search, 1, true) or false
        found = found or next_line[i] ~= false
    end
    if not found then
        return subtree -- the usual case for a message without Genesys headers
    end
    -- The headers end at the first empty line ("\n\n" or "\n\r\n", the
    -- leading "\n" covering an empty first line); the rest is not searched.
    local stop = string.find(lower, "\n\n", 1, true) or #lower + 1
    local crlf = string.find(lower, "\n\r\n", 1, true)
    if crlf and crlf < stop then
        stop = crlf
    end
    while true do
        -- the nearest line found; a name that is the start of another one
        -- (X-Genesys, X-Genesys-Call-ID) finds the same line
        local first = nil
        for i = 1, count do
            local p = next_line[i]
            if p and (not first or p < first) then
                first = p
            end
        end
        if not first or first >= stop then
            return subtree
        end
        for i = 1, count do
            if next_line[i] == first then
                subtree = add_header(tree, subtree, range, text, lower, first, wanted[i])
                next_line[i] = string.find(lower, wanted[i].search, first + 1, true) or false
            end
        end
    end
end

-- quoted_value reads a double-quoted value whose first character is at
-- position i of s. It returns the value, its \" and \\ undone (a backslash
-- takes the next character as it is), and the position of the closing quote,
-- or of the end of s if there is none. It jumps from one quote or backslash
-- to the next with plain finds rather than going character by character.
local function quoted_value(s, i)
    local n = #s
    local pieces = nil -- the parts of a value with escapes
    local value, stop
    while true do
        local q = string.find(s, '"', i, true)
        local b = string.find(s, "\\", i, true)
        if not b or (q and q < b) then
            -- no backslash before the closing quote, if there is one
            value, stop = string.sub(s, i, (q or n + 1) - 1), q or n
            break
        elseif b == n then
            value, stop = string.sub(s, i), n -- a backslash at the end stays
            break
        end
        pieces = pieces or {}
        pieces[#pieces + 1] = string.sub(s, i, b - 1)
        pieces[#pieces + 1] = string.sub(s, b + 1, b + 1)
        i = b + 2
    end
    if pieces then
        pieces[#pieces + 1] = value
        value = table.concat(pieces)
    end
    return value, stop
end

-- parse_pairs reads the key=value pairs after a comment prefix; values may be
-- double-quoted with \" and \\ escapes.
local function parse_pairs(s)
    local result = {}
    local i = 1
    while true do
        -- key=value, the value up to the next blank ("^" anchors at i)
        local _, e, key, value = string.find(s, "^[ \t]*([%w_%-%.]+)=([^ \t]*)", i)
        if not e then
            break
        end
        if string.byte(value) == 34 then -- '"': a quoted value, may hold blanks
            value, e = quoted_value(s, e - #value + 2)
        end
        result[key] = value
        i = e + 1
    end
    return result
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

-- dissect_comments adds the fields of genesys-sip's packet comments, the
-- frame.comment FieldInfos passed after subtree. It returns the subtree,
-- created if need be.
local function dissect_comments(tree, subtree, ...)
    for i = 1, select("#", ...) do
        local text = (select(i, ...)).value
        if type(text) == "string" then
            if string.sub(text, 1, 8) == "genesys:" then
                subtree = subtree or tree:add(genesys)
                dissect_trace(subtree, text)
            elseif string.sub(text, 1, 14) == "genesys-alert:" then
                subtree = subtree or tree:add(genesys)
                dissect_alert(subtree, text)
            end
        end
    end
    return subtree
end

-- dissect_headers adds the configured headers of every SIP message in the
-- frame, the sip.msg_hdr FieldInfos passed after subtree.
local function dissect_headers(tree, subtree, ...)
    for i = 1, select("#", ...) do
        local range = (select(i, ...)).range
        if range then
            subtree = find_headers(tree, subtree, range)
        end
    end
end

-- Called for every frame. A frame without comments or SIP (RTP, say) costs
-- three field look-ups: both loops above run zero times.
function genesys.dissector(tvb, pinfo, tree)
    local subtree = nil
    local iface = frame_iface()
    if iface and iface.value == GENESYS_IFACE then
        subtree = tree:add(genesys)
        subtree:add(f_only, true)
    end
    subtree = dissect_comments(tree, subtree, frame_comment())
    dissect_headers(tree, subtree, sip_msg_hdr())
end

register_postdissector(genesys)
