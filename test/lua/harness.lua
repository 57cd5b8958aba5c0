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

local function new_range(text, off, len)
    off = off or 0
    len = len or #text
    local r = {}
    function r:string() return string.sub(text, off + 1, off + len) end
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

-- A tree records what the dissector adds: "abbr=value" strings.
local function new_tree(out)
    local t = {}
    function t:add(what, range_or_value, value)
        if what.abbr then
            if type(range_or_value) == "table" then
                -- The displayed value must equal the highlighted bytes
                -- unless the header was folded.
                out[#out + 1] = what.abbr .. "=" .. tostring(value or range_or_value:string())
            else
                out[#out + 1] = what.abbr .. "=" .. tostring(range_or_value)
            end
        end
        return t
    end
    return t
end

-- Load the dissector -------------------------------------------------------

dofile(dissector_path)
assert(registered, "the dissector did not register a post-dissector")

local function dissect(header_blocks)
    local infos = {}
    for i, text in ipairs(header_blocks) do
        infos[i] = { range = new_range(text), value = text }
    end
    current = { ["sip.msg_hdr"] = infos }
    local out = {}
    registered.dissector(nil, {}, new_tree(out))
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
}

local failed = 0
for i, c in ipairs(cases) do
    local got = dissect(c[1])
    if got ~= c[2] then
        failed = failed + 1
        io.stderr:write(string.format("case %d: got %q, want %q\n", i, got, c[2]))
    end
end
if failed > 0 then
    os.exit(1)
end
print("ok " .. _VERSION)
