// A JSON reader that accepts, refuses and reports exactly what Python's json.loads does
// (CPython 3.11's C scanner, strict mode), because AgentOS answers an unparseable body
// with FastAPI's 422 `json_invalid` error, which names Python's message and position.
//
// It does not build JavaScript values for numbers: a member's raw text is kept (`raw`),
// so content and metadata reach PostgreSQL byte for byte and a large integer is never
// rounded through a double. Positions are counted in code points, as Python counts.
//
// parse(text) → {ok: true, value} or {ok: false, msg, pos} (a JSONDecodeError) or
// {ok: false, tooDeep: true} (Python's RecursionError, which FastAPI answers with 400).
// A value is {type, src, start, end, nf}: type "object" (the outermost one also has
// members: [[key, value], ...], the last of a repeated key winning as in a dict), "array",
// "string" (str: its text), "number", "bool", "null", or "nonfinite" (NaN, Infinity,
// -Infinity: Python accepts them, JSON and jsonb do not; nf says a value holds one).
// raw(value) is its JSON text.

// Python's recursion limit is 1000 frames; a request handler already uses some.
var MAX_DEPTH = 900;

function DecodeError(msg, pos) {
    this.msg = msg;
    this.pos = pos;
}

function TooDeep() {}

function isWs(c) {
    return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

function isDigit(c) {
    return c >= '0' && c <= '9';
}

function hexValue(c) {
    if (c >= '0' && c <= '9') return c.charCodeAt(0) - 48;
    if (c >= 'a' && c <= 'f') return c.charCodeAt(0) - 87;
    if (c >= 'A' && c <= 'F') return c.charCodeAt(0) - 55;
    return -1;
}

function Reader(s) {
    this.s = s;
    this.len = s.length;
}

Reader.prototype.ws = function (i) {
    while (i < this.len && isWs(this.s[i])) i++;
    return i;
};

// scanstring: `i` is just after the opening quote. Returns [value, next index].
Reader.prototype.string = function (i) {
    var s = this.s, len = this.len, begin = i - 1, out = [], next, c, code, code2, k, end, d;
    for (;;) {
        for (next = i; next < len; next++) {
            c = s[next];
            if (c === '"' || c === '\\') break;
            if (s.charCodeAt(next) <= 0x1f) throw new DecodeError('Invalid control character at', next);
        }
        if (next >= len) throw new DecodeError('Unterminated string starting at', begin);
        if (next > i) out.push(s.slice(i, next));
        if (c === '"') return [out.join(''), next + 1];
        next++;
        if (next >= len) throw new DecodeError('Unterminated string starting at', begin);
        c = s[next];
        if (c !== 'u') {
            end = next + 1;
            switch (c) {
            case '"': case '\\': case '/': out.push(c); break;
            case 'b': out.push('\b'); break;
            case 'f': out.push('\f'); break;
            case 'n': out.push('\n'); break;
            case 'r': out.push('\r'); break;
            case 't': out.push('\t'); break;
            default: throw new DecodeError('Invalid \\escape', end - 2);
            }
            i = end;
            continue;
        }
        next++;
        end = next + 4;
        if (end >= len) throw new DecodeError('Invalid \\uXXXX escape', next - 1);
        code = 0;
        for (k = next; k < end; k++) {
            d = hexValue(s[k]);
            if (d < 0) throw new DecodeError('Invalid \\uXXXX escape', end - 5);
            code = code * 16 + d;
        }
        next = end;
        if (code >= 0xd800 && code <= 0xdbff && end + 6 < len && s[next] === '\\' && s[next + 1] === 'u') {
            code2 = 0;
            for (k = end + 2; k < end + 6; k++) {
                d = hexValue(s[k]);
                if (d < 0) throw new DecodeError('Invalid \\uXXXX escape', end + 1);
                code2 = code2 * 16 + d;
            }
            if (code2 >= 0xdc00 && code2 <= 0xdfff) {
                out.push(String.fromCharCode(code, code2));
                i = end + 6;
                continue;
            }
        }
        if (code >= 0xd800 && code <= 0xdfff) {
            // Python keeps a lone surrogate in a str; no UTF-8 text (nor PostgreSQL) can.
            this.loneSurrogate = true;
        }
        out.push(String.fromCharCode(code));
        i = end;
    }
};

// A scalar at index i (a string, a named constant or a number, as scan_once reads them):
// [value, next index]. "Expecting value" otherwise.
Reader.prototype.scalar = function (i) {
    var s = this.s, len = this.len, c = s[i], r, start;
    switch (c) {
    case '"':
        r = this.string(i + 1);
        return [{type: 'string', str: r[0], src: s, start: i, end: r[1]}, r[1]];
    case 'n':
        if (i + 3 < len && s.slice(i, i + 4) === 'null') return [this.leaf('null', i, i + 4), i + 4];
        break;
    case 't':
        if (i + 3 < len && s.slice(i, i + 4) === 'true') return [this.leaf('bool', i, i + 4), i + 4];
        break;
    case 'f':
        if (i + 4 < len && s.slice(i, i + 5) === 'false') return [this.leaf('bool', i, i + 5), i + 5];
        break;
    case 'N':
        if (i + 2 < len && s.slice(i, i + 3) === 'NaN') return [this.leaf('nonfinite', i, i + 3), i + 3];
        break;
    case 'I':
        if (i + 7 < len && s.slice(i, i + 8) === 'Infinity') return [this.leaf('nonfinite', i, i + 8), i + 8];
        break;
    case '-':
        if (i + 8 < len && s.slice(i, i + 9) === '-Infinity') return [this.leaf('nonfinite', i, i + 9), i + 9];
        break;
    }
    // _match_number_unicode
    start = i;
    if (s[i] === '-') {
        i++;
        if (i >= len) throw new DecodeError('Expecting value', start);
    }
    if (s[i] >= '1' && s[i] <= '9') {
        i++;
        while (i < len && isDigit(s[i])) i++;
    } else if (s[i] === '0') {
        i++;
    } else {
        throw new DecodeError('Expecting value', start);
    }
    if (i < len - 1 && s[i] === '.' && isDigit(s[i + 1])) {
        i += 2;
        while (i < len && isDigit(s[i])) i++;
    }
    if (i < len - 1 && (s[i] === 'e' || s[i] === 'E')) {
        var eStart = i;
        i++;
        if (i < len - 1 && (s[i] === '-' || s[i] === '+')) i++;
        while (i < len && isDigit(s[i])) i++;
        if (!isDigit(s[i - 1])) i = eStart;
    }
    return [this.leaf('number', start, i), i];
};

Reader.prototype.leaf = function (type, start, end) {
    return {type: type, src: this.s, start: start, end: end, nf: type === 'nonfinite'};
};

// An object's next key (at i, after "{" or ","): [key, index of its value].
Reader.prototype.key = function (i) {
    var s = this.s, len = this.len, r;
    if (i >= len || s[i] !== '"') throw new DecodeError('Expecting property name enclosed in double quotes', i);
    r = this.string(i + 1);
    i = this.ws(r[1]);
    if (i >= len || s[i] !== ':') throw new DecodeError("Expecting ':' delimiter", i);
    return [r[0], this.ws(i + 1)];
};

// scan_once, without recursion (njs has a small stack): a value at index i; [value, next
// index]. Only the outermost object keeps its members (what a model validates); nested
// values keep their type, their place in the text and whether they hold NaN/Infinity.
Reader.prototype.value = function (i) {
    var s = this.s, len = this.len, stack = [], top, v, r, c;
    for (;;) {
        // A value starts at i.
        if (i >= len) throw new DecodeError('Expecting value', i);
        c = s[i];
        if (c === '{' || c === '[') {
            if (stack.length >= MAX_DEPTH) throw new TooDeep();
            top = {type: c === '{' ? 'object' : 'array', src: s, start: i, nf: false,
                   members: stack.length === 0 && c === '{' ? [] : null, index: {}, key: null};
            i = this.ws(i + 1);
            if (i < len && s[i] === (c === '{' ? '}' : ']')) {
                top.end = i + 1;
                v = top;
                i = i + 1;
            } else {
                if (c === '{') {
                    r = this.key(i);
                    top.key = r[0];
                    i = r[1];
                }
                stack.push(top);
                continue;
            }
        } else {
            r = this.scalar(i);
            v = r[0];
            i = r[1];
        }
        // A value ended at i: give it to the containers it closes.
        for (;;) {
            if (stack.length === 0) return [v, i];
            top = stack[stack.length - 1];
            if (v.nf) top.nf = true;
            if (top.members !== null) {
                // A dict keeps one value per key: the last one, in the first key's place.
                if (Object.prototype.hasOwnProperty.call(top.index, top.key)) {
                    top.members[top.index[top.key]][1] = v;
                } else {
                    top.index[top.key] = top.members.length;
                    top.members.push([top.key, v]);
                }
            }
            i = this.ws(i);
            if (i < len && s[i] === (top.type === 'object' ? '}' : ']')) {
                stack.pop();
                top.end = i + 1;
                v = top;
                i = i + 1;
                continue;
            }
            if (i >= len || s[i] !== ',') throw new DecodeError("Expecting ',' delimiter", i);
            i = this.ws(i + 1);
            if (top.type === 'object') {
                r = this.key(i);
                top.key = r[0];
                i = r[1];
            }
            break;
        }
    }
};

// Code points before UTF-16 index i (Python's str index).
function codePoints(s, i) {
    var n = 0, k, c;
    for (k = 0; k < i && k < s.length; k++) {
        c = s.charCodeAt(k);
        if (c >= 0xd800 && c <= 0xdbff && k + 1 < s.length) {
            var c2 = s.charCodeAt(k + 1);
            if (c2 >= 0xdc00 && c2 <= 0xdfff) k++;
        }
        n++;
    }
    return n;
}

function parse(text) {
    var reader = new Reader(text), r, end;
    try {
        r = reader.value(reader.ws(0));
        end = reader.ws(r[1]);
        if (end !== text.length) throw new DecodeError('Extra data', end);
    } catch (e) {
        if (e instanceof DecodeError) return {ok: false, msg: e.msg, pos: codePoints(text, e.pos)};
        if (e instanceof TooDeep) return {ok: false, tooDeep: true};
        throw e;
    }
    return {ok: true, value: r[0], loneSurrogate: !!reader.loneSurrogate};
}

// A value's JSON text, as sent.
function raw(v) {
    return v.rawText !== undefined ? v.rawText : v.src.slice(v.start, v.end);
}

// Whether a value holds NaN or ±Infinity anywhere.
function hasNonFinite(v) {
    return !!v.nf;
}

export default {parse: parse, raw: raw, hasNonFinite: hasNonFinite};
