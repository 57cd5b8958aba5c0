-- harness.lua: runs dissector/genesys.lua outside Wireshark, under the
-- plain Lua interpreters of Wireshark 4.0 (Lua 5.2) and 4.4+ (Lua 5.4), with
-- a stub of the parts of Wireshark's Lua API the dissector uses. It proves
-- the dissector loads and behaves the same on both language versions.
--
-- usage: lua5.x harness.lua path/to/genesys.lua   (prints "ok" or fails)

local dissector_path = arg[1]

-- Wireshark API stubs ------------------------------------------------------

local current = {}     -- field name -> list of FieldInfo for the frame
local registered = nil

ENC_UTF_8 = 2

local REPLACEMENT = "\239\191\189" -- U+FFFD

-- as_utf8 keeps valid UTF-8 (up to 3-byte sequences, enough here) and
-- replaces every other non-ASCII byte by U+FFFD.
local function as_utf8(s)
    local out, i = {}, 1
    while i <= #s do
        local c = string.byte(s, i)
        local n = (c < 0x80 and 1) or (c >= 0xC2 and c <= 0xDF and 2) or (c >= 0xE0 and c <= 0xEF and 3) or 0
        local ok = n > 0
        for k = 1, n - 1 do
            local d = string.byte(s, i + k)
            ok = ok and d ~= nil and d >= 0x80 and d <= 0xBF
        end
        if ok then
            out[#out + 1] = string.sub(s, i, i + n - 1)
            i = i + n
        else
            out[#out + 1] = REPLACEMENT
            i = i + 1
        end
    end
    return table.concat(out)
end

local function new_range(text, off, len)
    off = off or 0
    len = len or #text
    local r = { offset = off }
    local bytes = string.sub(text, off + 1, off + len)
    -- Like Wireshark: the default encoding is ASCII, so every non-ASCII
    -- byte becomes U+FFFD (three bytes); raw gives the bytes as they are.
    function r:string(enc)
        if enc == ENC_UTF_8 then
            return as_utf8(bytes)
        end
        return (string.gsub(bytes, "[\128-\255]", REPLACEMENT))
    end
    function r:raw() return bytes end
    function r:len() return len end
    function r:range(o, l)
        assert(o >= 0 and o + l <= len, "range out of bounds")
        return new_range(text, off + o, l)
    end
    return r
end

function Proto(name, desc)
    local p = { name = name, description = desc, fields = {} }
    p.prefs = setmetatable({}, {
        __newindex = function(t, k, v) rawset(t, k, v.default) end,
    })
    return p
end

local function field_ctor(kind)
    return function(abbr, name, ...) return { abbr = abbr, name = name, kind = kind } end
end
ProtoField = setmetatable({}, { __index = function(_, kind) return field_ctor(kind) end })

Pref = {
    string = function(label, default, desc) return { default = default } end,
    bool = function(label, default, desc) return { default = default } end,
}

Field = {
    new = function(name)
        return function()
            local list = current[name] or {}
            return (table.unpack or unpack)(list)
        end
    end,
}

function register_postdissector(p) registered = p end

base = { DEC = 1, HEX = 2, UTC = 3, LOCAL = 4 }
expert = {
    group = setmetatable({}, { __index = function(_, k) return k end }),
    severity = setmetatable({}, { __index = function(_, k) return k end }),
}
ProtoExpert = { new = function(abbr, text, group, severity) return { expert = abbr } end }
NSTime = {
    new = function(secs, nsecs)
        assert(math.type == nil or math.type(secs) == "integer", "NSTime seconds must be an integer")
        assert(math.type == nil or math.type(nsecs) == "integer", "NSTime nanoseconds must be an integer")
        return setmetatable({ secs = secs, nsecs = nsecs }, {
            __tostring = function(t) return string.format("%d.%09d", t.secs, t.nsecs) end,
        })
    end,
}

-- A tree records what the dissector adds: "abbr=value" strings, and with
-- ranges set, "abbr=value@offset,length" for items with bytes and "genesys@..."
-- for the protocol item.
local function new_tree(out, ranges)
    local t = {}
    function t:add_proto_expert_info(e, text)
        out[#out + 1] = "expert:" .. e.expert
    end
    function t:add(what, range_or_value, value)
        local r = type(range_or_value) == "table" and range_or_value.string and range_or_value
        local at = (ranges and r) and ("@" .. r.offset .. "," .. r:len()) or ""
        if what.abbr then
            if r then
                -- The highlighted bytes must be the displayed value, or its
                -- first line if the header was folded.
                local bytes = r:string(ENC_UTF_8)
                assert(value == nil or value == bytes or string.sub(value, 1, #bytes + 1) == bytes .. " ",
                    string.format("%s: value %q, highlighted bytes %q", what.abbr, tostring(value), bytes))
                out[#out + 1] = what.abbr .. "=" .. tostring(value or bytes) .. at
            else
                out[#out + 1] = what.abbr .. "=" .. tostring(range_or_value)
            end
        elseif ranges then
            out[#out + 1] = what.name .. at
        end
        return t
    end
    return t
end

-- Load the dissector -------------------------------------------------------

dofile(dissector_path)
assert(registered, "the dissector did not register a post-dissector")

local function dissect(header_blocks, comments, iface, ranges)
    local infos = {}
    for i, text in ipairs(header_blocks) do
        infos[i] = { range = new_range(text), value = text }
    end
    local cinfos = {}
    for i, text in ipairs(comments or {}) do
        cinfos[i] = { value = text }
    end
    current = {
        ["sip.msg_hdr"] = infos,
        ["frame.comment"] = cinfos,
        ["frame.interface_name"] = iface and { { value = iface } } or {},
    }
    local out = {}
    registered.dissector(nil, {}, new_tree(out, ranges))
    return table.concat(out, ";")
end

-- Cases --------------------------------------------------------------------

local cases = {
    { { "Call-ID: a\r\nX-Genesys-Call-ID: 8d2f-1\r\nCSeq: 1 INVITE\r\n" }, "genesys.call_id=8d2f-1" },
    { { "x-genesys-call-id   :  8d2f-2\r\n" }, "genesys.call_id=8d2f-2" },
    { { "X-GENESYS-CALL-ID: a\r\nX-Genesys-Call-ID: b\r\n" }, "genesys.call_id=a;genesys.call_id=b" },
    { { "X-Genesys-Call-ID:\r\n  8d2f-folded\r\nTo: x\r\n" }, "genesys.call_id=8d2f-folded" },
    { { "x-inin-cnv: conv-1\r\n" }, "genesys.conversation_id=conv-1" },
    { { "X-Genesys-Call-ID-Not: n\r\nX-Other: o\r\n" }, "" },
    { { "X-Genesys-Call-ID:\t8d2f-tab \r\nX-Inin-Cnv: c\r\n" }, "genesys.call_id=8d2f-tab;genesys.conversation_id=c" },
    { { "X-Genesys-Call-ID: first\r\n", "X-Genesys-Call-ID: second\r\n" }, "genesys.call_id=first;genesys.call_id=second" },
    { { "X-Genesys-Call-ID: lf-only\nTo: x\n\nbody: X-Genesys-Call-ID: no\n" }, "genesys.call_id=lf-only" },
    { { "X-Genesys-Call-ID:\r\n" }, "" },
    { {}, "" },
    -- folding: several continuation lines, blanks and CRs trimmed, a blank one skipped
    { { "X-Genesys-Call-ID:\r\n\tpart1 \r\n  part2\t\r\n \r\nTo: x\r\n" }, "genesys.call_id=part1 part2" },
    { { "X-Genesys-Call-ID: a\r\n b\r\nTo: x\r\n" }, "genesys.call_id=a b" },
    -- a continuation line is never a header, even if it reads like one
    { { "Subject: s\r\n X-Genesys-Call-ID: no\r\n" }, "" },
    -- the empty line ends the headers, even as the first line
    { { "\r\nX-Genesys-Call-ID: no\r\n" }, "" },
    { { "\nX-Genesys-Call-ID: no\n" }, "" },
    { { "X-Genesys-Call-ID: a\r\n\r\nX-Genesys-Call-ID: body\r\n" }, "genesys.call_id=a" },
    -- order of appearance, look-alike names, no line end at all
    { { "x-inin-cnv: c\r\nX-Genesys-Call-IDx: no\r\nX-Genesys-Call-ID : g\r\nX-Genesys-Call-ID: last" },
        "genesys.conversation_id=c;genesys.call_id=g;genesys.call_id=last" },
    { { "X-Genesys-Call-ID: a\r\r\nX-Genesys-Call-ID:b \t\r\r\n" }, "genesys.call_id=a;genesys.call_id=b" },
}

-- Byte ranges: the value on the header's first line; none for a value only on
-- continuation lines. The protocol item covers the header block.
local range_cases = {
    -- non-ASCII before the header (a UTF-8 display name) shifts nothing
    { { "From: \"Jos\195\169\" <sip:x@y>\r\nX-Genesys-Call-ID: after\r\n" }, "genesys@0,51;genesys.call_id=after@44,5" },
    -- a value that is not UTF-8 shows U+FFFD where Wireshark would
    { { "X-Genesys-Call-ID: val\233ue\r\n" }, "genesys@0,27;genesys.call_id=val" .. REPLACEMENT .. "ue@19,6" },
    { { "x-genesys-call-id \t :  v1 \r\n" }, "genesys@0,28;genesys.call_id=v1@23,2" },
    { { "To: x\r\nX-Genesys-Call-ID:\r\n folded\r\n" }, "genesys@0,36;genesys.call_id=folded" },
    { { "To: x\r\nX-Genesys-Call-ID: a\r\n b\r\nx-inin-cnv:c" },
        "genesys@0,45;genesys.call_id=a b@26,1;genesys.conversation_id=c@44,1" },
    { { "To: x\r\n", "X-Genesys-Call-ID: 2nd\r\n" }, "genesys@0,24;genesys.call_id=2nd@19,3" },
}

-- Preferences: more names, a name in both lists (a call id), a name that is
-- the start of another, a compact form, a name that cannot be a header name.
local prefs_cases = {
    { { "Subject: s1\r\nX-Genesys-Call-ID: g\r\nx-genesys : p\r\nTo: t\r\ni: compact\r\nx:y: z\r\nx: no\r\n" },
        "genesys.call_id=s1;genesys.call_id=g;genesys.call_id=p;genesys.conversation_id=t;genesys.call_id=compact" },
}

local full = 'genesys: call=8d2f4c1e-1 conv=conv-1 event="408 Request Timeout" method=INVITE cseq="1 INVITE" ' ..
    'dir=out node=edge-1 t=2026-11-25T10:05:01.123456Z skew=-850ms key=x-genesys-call-id'
local comment_cases = {
    { {}, { full }, nil,
        "genesys.trace=" .. full .. ";genesys.trace.call_id=8d2f4c1e-1;genesys.trace.conversation_id=conv-1;" ..
        "genesys.trace.event=408 Request Timeout;genesys.trace.status=408;expert:genesys.trace.status.expert;" ..
        "genesys.trace.method=INVITE;genesys.trace.cseq=1 INVITE;genesys.trace.dir=out;genesys.trace.node=edge-1;" ..
        "genesys.trace.time=1795601101.123456000;genesys.trace.skew=-0.85;genesys.trace.key=x-genesys-call-id" },
    { {}, { 'genesys: event=BYE key=call-id match=order warn="matched on Call-ID \\"only\\"" skew=+2.333s' }, "Genesys Cloud",
        "genesys.genesys_only=true;genesys.trace=genesys: event=BYE key=call-id match=order warn=\"matched on Call-ID \\\"only\\\"\" skew=+2.333s;" ..
        "genesys.trace.event=BYE;genesys.trace.skew=2.333;genesys.trace.key=call-id;genesys.trace.match=order;" ..
        "genesys.trace.warn=matched on Call-ID \"only\";expert:genesys.trace.warn.expert" },
    { {}, { "unrelated comment", 'genesys-alert: status=503 event="503 Service Unavailable"' }, nil,
        "genesys.alert=genesys-alert: status=503 event=\"503 Service Unavailable\";genesys.alert.status=503;" ..
        "genesys.alert.event=503 Service Unavailable;expert:genesys.alert.expert" },
    { { "X-Genesys-Call-ID: a\r\n" }, { "genesys: t=garbage skew=fast" }, "eth0",
        "genesys.trace=genesys: t=garbage skew=fast;genesys.call_id=a" },
    -- quoting: an escaped backslash, any escaped character, no closing quote,
    -- a backslash at the very end, empty values, a pair after a quoted value
    -- without a blank, parsing stops at a word that is not a pair
    { {}, { 'genesys: call="a\\\\b\\xc\\"d"key=k node=',
        'genesys: cseq="" warn="no closing \\"quote',
        'genesys: warn="backslash at the end\\',
        'genesys: call=c1 junk call=c2' }, nil,
        'genesys.trace=genesys: call="a\\\\b\\xc\\"d"key=k node=;genesys.trace.call_id=a\\bxc"d;genesys.trace.key=k;' ..
        'genesys.trace=genesys: cseq="" warn="no closing \\"quote;genesys.trace.warn=no closing "quote;expert:genesys.trace.warn.expert;' ..
        'genesys.trace=genesys: warn="backslash at the end\\;genesys.trace.warn=backslash at the end\\;expert:genesys.trace.warn.expert;' ..
        'genesys.trace=genesys: call=c1 junk call=c2;genesys.trace.call_id=c1' },
    -- the Genesys Cloud interface without comments; an alert without pairs
    { {}, {}, "Genesys Cloud", "genesys.genesys_only=true" },
    { {}, { "genesys-alert:" }, nil, "genesys.alert=genesys-alert:;expert:genesys.alert.expert" },
}

local failed = 0
for i, c in ipairs(comment_cases) do
    local got = dissect(c[1], c[2], c[3])
    if got ~= c[4] then
        failed = failed + 1
        io.stderr:write(string.format("comment case %d:\n got %s\nwant %s\n", i, got, c[4]))
    end
end
for i, c in ipairs(cases) do
    local got = dissect(c[1])
    if got ~= c[2] then
        failed = failed + 1
        io.stderr:write(string.format("case %d: got %q, want %q\n", i, got, c[2]))
    end
end
for i, c in ipairs(range_cases) do
    local got = dissect(c[1], nil, nil, true)
    if got ~= c[2] then
        failed = failed + 1
        io.stderr:write(string.format("range case %d: got %q, want %q\n", i, got, c[2]))
    end
end
registered.prefs.call_id_headers = "X-Genesys-Call-ID, x-genesys, Subject ,i,x:y"
registered.prefs.conversation_headers = "x-inin-cnv,subject,To"
registered.prefs_changed()
for i, c in ipairs(prefs_cases) do
    local got = dissect(c[1])
    if got ~= c[2] then
        failed = failed + 1
        io.stderr:write(string.format("prefs case %d: got %q, want %q\n", i, got, c[2]))
    end
end
if failed > 0 then
    os.exit(1)
end
print("ok " .. _VERSION)
