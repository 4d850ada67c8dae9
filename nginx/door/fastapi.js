// How AgentOS (FastAPI 0.165 on Starlette, pydantic 2) reads a request before its
// handler runs: the query string, the path, the body, and the 422 it answers when they do
// not validate ({"detail": [{type, loc, msg, input, ctx}, ...]}, pydantic's error list).
// The door answers these itself, so that PostgREST only ever receives JSON it built.

import pyjson from 'pyjson.js';

// ---------------------------------------------------------------------------------------
// Percent-decoding as Python's urllib.parse.unquote(s, errors='replace') does on a str
// that Starlette decoded as Latin-1: runs of ASCII are percent-decoded to bytes and read
// as UTF-8 (an invalid sequence becomes U+FFFD); any other byte stays one Latin-1 char.

var utf8 = new TextDecoder('utf-8');

function hexByte(a, b) {
    var h = '0123456789abcdef', x = h.indexOf(a.toLowerCase()), y = h.indexOf(b.toLowerCase());
    return x < 0 || y < 0 ? -1 : x * 16 + y;
}

// bytes: a Buffer (or array of byte values). plusIsSpace: a query field ('+' is ' ').
function unquote(bytes, plusIsSpace) {
    var out = '', run = [], i, b, v;
    function flush() {
        if (run.length) {
            out += utf8.decode(new Uint8Array(run));
            run = [];
        }
    }
    for (i = 0; i < bytes.length; i++) {
        b = bytes[i];
        if (b >= 0x80) {
            flush();
            out += String.fromCharCode(b);
        } else if (b === 0x25 && i + 2 < bytes.length &&
                   (v = hexByte(String.fromCharCode(bytes[i + 1]), String.fromCharCode(bytes[i + 2]))) >= 0) {
            run.push(v);
            i += 2;
        } else if (b === 0x2b && plusIsSpace) {
            run.push(0x20);
        } else {
            run.push(b);
        }
    }
    flush();
    return out;
}

// Query parameters as Starlette's QueryParams holds them (parse_qsl with blank values
// kept); `get` returns the last value of a repeated name, as FastAPI reads a scalar.
function parseQuery(raw) {
    var params = {}, start = 0, i, field, eq, name, value;
    if (!raw || raw.length === 0) return params;
    for (i = 0; i <= raw.length; i++) {
        if (i < raw.length && raw[i] !== 0x26) continue; // '&'
        field = raw.slice(start, i);
        start = i + 1;
        if (field.length === 0) continue;
        eq = -1;
        for (var k = 0; k < field.length; k++) {
            if (field[k] === 0x3d) { eq = k; break; } // '='
        }
        name = unquote(eq < 0 ? field : field.slice(0, eq), true);
        value = eq < 0 ? '' : unquote(field.slice(eq + 1), true);
        params[name] = value;
    }
    return params;
}

// ---------------------------------------------------------------------------------------
// pydantic's int from a str (lax mode): surrounding Unicode whitespace (Rust's
// char::is_whitespace), an optional sign, digits with single underscores between them,
// and an optional fraction of zeros. Returns a Number, a huge sentinel, or null.

var WS = '\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006' +
    '\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

function rustTrim(s) {
    var a = 0, b = s.length;
    while (a < b && WS.indexOf(s[a]) >= 0) a++;
    while (b > a && WS.indexOf(s[b - 1]) >= 0) b--;
    return s.slice(a, b);
}

function parseInt_(s) {
    var m = /^([+-]?)([0-9]+(?:_[0-9]+)*)(?:\.0+)?$/.exec(rustTrim(s)), digits;
    if (!m) return null;
    digits = m[2].replace(/_/g, '').replace(/^0+(?=.)/, '');
    var n = digits.length > 12 ? 1e15 : Number(digits);
    return m[1] === '-' ? -n : n;
}

// ---------------------------------------------------------------------------------------
// Errors. An error's `input` is kept as JSON text (a body member's raw text), so that
// numbers are echoed as sent.

function err(type, loc, msg, inputJson, ctx) {
    return {type: type, loc: loc, msg: msg, input: inputJson, ctx: ctx};
}

function errorsBody(errors) {
    var parts = errors.map(function (e) {
        var s = '{"type":' + JSON.stringify(e.type) + ',"loc":' + JSON.stringify(e.loc) +
            ',"msg":' + JSON.stringify(e.msg) + ',"input":' + e.input;
        if (e.ctx !== undefined) s += ',"ctx":' + JSON.stringify(e.ctx);
        return s + '}';
    });
    return '{"detail":[' + parts.join(',') + ']}';
}

// An int query parameter with bounds: [value, error or null].
function intParam(query, name, dflt, ge, le) {
    if (!Object.prototype.hasOwnProperty.call(query, name)) return [dflt, null];
    var raw = query[name], n = parseInt_(raw), input = JSON.stringify(raw);
    if (n === null) {
        return [null, err('int_parsing', ['query', name],
                          'Input should be a valid integer, unable to parse string as an integer', input)];
    }
    if (ge !== undefined && n < ge) {
        return [null, err('greater_than_equal', ['query', name],
                          'Input should be greater than or equal to ' + ge, input, {ge: ge})];
    }
    if (le !== undefined && n > le) {
        return [null, err('less_than_equal', ['query', name],
                          'Input should be less than or equal to ' + le, input, {le: le})];
    }
    return [n, null];
}

// AgentOS's SortOrder enum.
function sortOrderParam(query) {
    if (!Object.prototype.hasOwnProperty.call(query, 'sort_order')) return ['desc', null];
    var raw = query.sort_order;
    if (raw === 'asc' || raw === 'desc') return [raw, null];
    return [null, err('enum', ['query', 'sort_order'], "Input should be 'asc' or 'desc'", JSON.stringify(raw),
                      {expected: "'asc' or 'desc'"})];
}

// ---------------------------------------------------------------------------------------
// The body, as FastAPI reads a pydantic model parameter: JSON when the Content-Type is
// absent or application/json (or +json), else the raw bytes (which no model accepts).
// Returns {ok: true, value} (a pyjson value, or null for no body), or {ok: false, status,
// body} (the answer to send).

function isJsonContentType(header) {
    if (header === undefined || header === null || header === '') return true;
    var ctype = header.split(';')[0].trim().toLowerCase(), parts = ctype.split('/');
    if (parts.length !== 2) return false; // email.message falls back to text/plain
    return parts[0] === 'application' && (parts[1] === 'json' || parts[1].slice(-5) === '+json');
}

var BAD_BODY = {ok: false, status: 400, body: '{"detail":"There was an error parsing the body"}'};

function readBody(buffer, contentType) {
    var text, parsed;
    if (!buffer || buffer.length === 0) return {ok: true, value: null};
    try {
        text = new TextDecoder('utf-8', {fatal: true}).decode(buffer);
    } catch (e) {
        return BAD_BODY;
    }
    if (!isJsonContentType(contentType)) {
        return {ok: true, value: {type: 'bytes', rawText: JSON.stringify(text)}};
    }
    // json.loads(bytes) decodes UTF-8 with a BOM as utf-8-sig.
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    parsed = pyjson.parse(text);
    if (parsed.tooDeep) return BAD_BODY;
    if (!parsed.ok) {
        return {ok: false, status: 422, body: errorsBody([
            err('json_invalid', ['body', parsed.pos], 'JSON decode error', '{}', {error: parsed.msg})])};
    }
    return {ok: true, value: parsed.value, loneSurrogate: parsed.loneSurrogate};
}

// A body validated as a pydantic model with the given fields ({name, kind: 'str' |
// 'dict', required}), in declaration order. Returns {ok: true, fields: {name: value}} or
// {ok: false, errors}.
function validateModel(value, fields) {
    var errors = [], out = {}, members = {}, i, f, v;
    if (value === null || value.type === 'null') {
        return {ok: false, errors: [err('missing', ['body'], 'Field required', 'null')]};
    }
    if (value.type !== 'object') {
        return {ok: false, errors: [err('model_attributes_type', ['body'],
            'Input should be a valid dictionary or object to extract fields from', inputOf(value))]};
    }
    for (i = 0; i < value.members.length; i++) members[value.members[i][0]] = value.members[i][1];
    for (i = 0; i < fields.length; i++) {
        f = fields[i];
        if (!Object.prototype.hasOwnProperty.call(members, f.name)) {
            if (f.required) errors.push(err('missing', ['body', f.name], 'Field required', inputOf(value)));
            continue;
        }
        v = members[f.name];
        if (v.type === 'null' && !f.required) {
            out[f.name] = v;
            continue;
        }
        if (f.kind === 'str' && v.type !== 'string') {
            errors.push(err('string_type', ['body', f.name], 'Input should be a valid string', inputOf(v)));
        } else if (f.kind === 'dict' && v.type !== 'object') {
            errors.push(err('dict_type', ['body', f.name], 'Input should be a valid dictionary', inputOf(v)));
        } else {
            out[f.name] = v;
        }
    }
    if (errors.length) return {ok: false, errors: errors};
    return {ok: true, fields: out, members: members};
}

// The JSON FastAPI echoes for a value (NaN/Infinity cannot be JSON: null).
function inputOf(v) {
    return pyjson.hasNonFinite(v) ? 'null' : pyjson.raw(v);
}

export default {
    unquote: unquote,
    parseQuery: parseQuery,
    intParam: intParam,
    sortOrderParam: sortOrderParam,
    readBody: readBody,
    validateModel: validateModel,
    errorsBody: errorsBody,
};
