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

genesys.fields = { f_call_id, f_conv_id }

genesys.prefs.call_id_headers = Pref.string("Call-ID headers", "X-Genesys-Call-ID",
    "Comma-separated SIP header names whose value is the Genesys call id")
genesys.prefs.conversation_headers = Pref.string("Conversation headers", "x-inin-cnv",
    "Comma-separated SIP header names whose value is the Genesys conversation id")

local sip_msg_hdr = Field.new("sip.msg_hdr")

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

function genesys.dissector(tvb, pinfo, tree)
    local blocks = { sip_msg_hdr() }
    if #blocks == 0 then
        return
    end
    for _, block in ipairs(blocks) do
        local range = block.range
        if range then
            local text = range:string()
            local subtree = nil
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
