// The AgentOS door: agno 3.1.10's `/learnings` REST API (paths, methods, query
// parameters, bodies, statuses, envelopes and {"detail": ...} errors) served by nginx in
// front of PostgREST's `/rpc/learnings_*`.
//
// Checks run in AgentOS's order:
//   1. its authentication middleware: no token → 401; then, for the paths and methods it
//      maps to a scope, a bad token → 401 and a missing scope → 403;
//   2. routing: 404 / 405;
//   3. FastAPI's validation of the query and body: 422 (pydantic's error list);
//   4. the handler (the SQL function): 403 for another user or no user id, 400/404 for
//      db_id/table, 404, 409, 422.
// The extension checks the token itself, so when the door answers 2. or 3. itself it first
// asks PostgREST whether the token is good and holds the scope (a "probe": the same
// function called with an argument it refuses after its own authorization), so that a bad
// token is 401, not 404 or 422, as in AgentOS.

import fastapi from 'fastapi.js';
import routes from 'routes.js';
import postgrest from 'postgrest.js';
import pyjson from 'pyjson.js';

function send(r, answer) {
    var h;
    for (h in answer.headers || {}) r.headersOut[h] = answer.headers[h];
    if (answer.body === undefined) {
        r.return(answer.status);
        return;
    }
    r.headersOut['Content-Type'] = 'application/json';
    r.return(answer.status, answer.body);
}

function detail(status, message, headers) {
    return {status: status, body: JSON.stringify({detail: message}), headers: headers || {}};
}

var NOT_FOUND = detail(404, 'Not Found');

// The bearer token as AgentOS's middleware extracts it ("Bearer <token>" or the bare
// token, stripped), or '' when there is none.
function tokenOf(r) {
    var h = r.headersIn.Authorization;
    if (h === undefined || h === null) return '';
    h = String(h);
    if (h.slice(0, 7).toLowerCase() === 'bearer ') h = h.slice(7);
    return h.trim();
}

// The probe for a scope: a call that the function refuses with 422 right after its own
// authorization (401, 403 for the scope; 403 for a token with no user id, which AgentOS
// checks later, in the handler, and so is not an answer here).
var PROBES = {
    read: ['get', {learning_id: 'null'}],
    write: ['create', {}],
    delete: ['delete', {learning_id: 'null'}],
};

// Resolves to an answer when authentication refuses the request, else null.
function checkAuth(r, scope) {
    var probe = scope ? PROBES[scope] : ['authenticate', {token: JSON.stringify(tokenOf(r))}];
    return postgrest.call(r, probe[0], probe[1]).then(function (reply) {
        var e;
        if (reply.status < 300) return null;
        e = postgrest.errorOf(reply.text);
        if (postgrest.transient(reply.status, e)) return postgrest.UNAVAILABLE;
        if (reply.status === 401) return postgrest.translateError(401, reply.text);
        if (reply.status === 403 && e.message !== 'Authenticated request is missing a user identity') {
            return postgrest.translateError(403, reply.text);
        }
        return null;
    });
}

// A local answer (404, 405, 422) after the authentication AgentOS runs before it.
function afterAuth(r, scope, answer) {
    return checkAuth(r, scope).then(function (refused) {
        return refused || answer;
    });
}

function str(v) {
    return JSON.stringify(v);
}

// Optional string query parameters, as JSON texts for the function's arguments.
function strParams(query, names, args) {
    names.forEach(function (n) {
        if (Object.prototype.hasOwnProperty.call(query, n)) args[n] = str(query[n]);
    });
    return args;
}

// A successful list: AgentOS's PaginationInfo also carries search_time_ms (always 0.0 in
// the learnings router). Spliced into the text, so that records pass through untouched.
function withSearchTime(text) {
    var t = text.replace(/\s+$/, '');
    if (t.slice(-2) !== '}}' || t.indexOf('"meta"') < 0) return null;
    return t.slice(0, -2) + ', "search_time_ms": 0.0}}';
}

// Calls the function and turns its answer into AgentOS's.
function forward(r, fn, args, okStatus) {
    return postgrest.call(r, fn, args).then(function (reply) {
        var body;
        if (reply.status === 200 || reply.status === 201) {
            if (fn === 'list' || fn === 'users') {
                body = withSearchTime(reply.text);
                if (body === null) return postgrest.UNAVAILABLE;
                return {status: 200, body: body};
            }
            return {status: okStatus, body: reply.text};
        }
        if (reply.status === 204) return {status: 204};
        return postgrest.translateError(reply.status, reply.text);
    });
}

// ---------------------------------------------------------------------------------------
// The seven routes. Each returns a Promise of an answer.

var LIST_FILTERS = ['learning_type', 'user_id', 'agent_id', 'team_id', 'session_id', 'namespace',
                    'entity_id', 'entity_type'];

function pageArgs(query, filters, defaultLimit, args) {
    var errors = [], limit, page, order;
    strParams(query, filters, args);
    limit = fastapi.intParam(query, 'limit', defaultLimit, 1, 1000);
    page = fastapi.intParam(query, 'page', 1, 1);
    strParams(query, ['sort_by'], args);
    order = fastapi.sortOrderParam(query);
    [limit, page, order].forEach(function (p) {
        if (p[1]) errors.push(p[1]);
    });
    strParams(query, ['db_id', 'table'], args);
    args.limit = String(limit[0]);
    args.page = String(page[0]);
    args.sort_order = str(order[0]);
    return errors;
}

function list(r, ctx) {
    var args = {}, errors = pageArgs(ctx.query, LIST_FILTERS, 100, args);
    if (errors.length) return afterAuth(r, 'read', {status: 422, body: fastapi.errorsBody(errors)});
    return forward(r, 'list', args, 200);
}

function users(r, ctx) {
    var args = {}, errors = pageArgs(ctx.query, ['learning_type', 'user_id'], 20, args);
    if (errors.length) return afterAuth(r, 'read', {status: 422, body: fastapi.errorsBody(errors)});
    return forward(r, 'users', args, 200);
}

var CREATE_FIELDS = [
    {name: 'learning_type', kind: 'str', required: true},
    {name: 'content', kind: 'dict', required: true},
    {name: 'namespace', kind: 'str'},
    {name: 'user_id', kind: 'str'},
    {name: 'agent_id', kind: 'str'},
    {name: 'team_id', kind: 'str'},
    {name: 'session_id', kind: 'str'},
    {name: 'entity_id', kind: 'str'},
    {name: 'entity_type', kind: 'str'},
    {name: 'metadata', kind: 'dict'},
];

var UPDATE_FIELDS = [
    {name: 'content', kind: 'dict'},
    {name: 'metadata', kind: 'dict'},
];

// The body validated against a model; {answer} when it is refused.
function modelOf(r, ctx, scope, fields) {
    var body = fastapi.readBody(r.requestBuffer, r.headersIn['Content-Type']), model;
    if (!body.ok) return {answer: afterAuth(r, scope, {status: body.status, body: body.body})};
    model = fastapi.validateModel(body.value, fields);
    if (!model.ok) return {answer: afterAuth(r, scope, {status: 422, body: fastapi.errorsBody(model.errors)})};
    if (body.loneSurrogate || hasNonFinite(model.fields)) {
        // Python accepts both, then cannot store them (agno answers 500); no JSON text
        // PostgreSQL accepts can hold them.
        return {answer: afterAuth(r, scope, detail(422,
            'The body holds a lone UTF-16 surrogate escape or NaN/Infinity, which JSON documents cannot store'))};
    }
    return {fields: model.fields, members: model.members, value: body.value};
}

function hasNonFinite(fields) {
    return Object.keys(fields).some(function (k) {
        return pyjson.hasNonFinite(fields[k]);
    });
}

function create(r, ctx) {
    var m = modelOf(r, ctx, 'write', CREATE_FIELDS), args = {};
    if (m.answer) return m.answer;
    CREATE_FIELDS.forEach(function (f) {
        if (m.fields[f.name] !== undefined) args[f.name] = pyjson.raw(m.fields[f.name]);
    });
    strParams(ctx.query, ['db_id', 'table'], args);
    return forward(r, 'create', args, 201).then(function (a) {
        // AgentOS names the user-namespace rule whenever an entity_memory under
        // namespace "user" lacks a field of its key (the extension names it only when the
        // entity is complete and the user is missing).
        var ns = m.fields.namespace, type = m.fields.learning_type;
        if (a.status === 422 && type.str === 'entity_memory' && ns !== undefined && ns.type === 'string' &&
            ns.str === 'user' && a.body.indexOf("is keyed by its identity fields") >= 0) {
            return detail(422, USER_NAMESPACE_KEY);
        }
        return a;
    });
}

var USER_NAMESPACE_KEY = 'entity_memory under namespace="user" is keyed by the owning user as well as the ' +
    "entity; provide user_id together with entity_id + entity_type so the record reconciles with the " +
    "agent's store.";

function get(r, ctx) {
    var args = strParams(ctx.query, ['db_id', 'table'], {learning_id: str(ctx.params.learning_id)});
    return forward(r, 'get', args, 200);
}

function update(r, ctx) {
    var m = modelOf(r, ctx, 'write', UPDATE_FIELDS), args, others, nullContent;
    if (m.answer) return m.answer;
    args = strParams(ctx.query, ['db_id', 'table'], {learning_id: str(ctx.params.learning_id)});
    nullContent = m.fields.content !== undefined && m.fields.content.type === 'null';
    others = Object.keys(m.members).some(function (k) {
        return k !== 'content' && k !== 'metadata';
    });
    if (!nullContent && !others) {
        args.changes = pyjson.raw(m.value);
        return forward(r, 'update', args, 200);
    }
    // AgentOS looks the record up and checks who may change it before it refuses a null
    // content: ask the function the same with no changes first ({} returns the record).
    args.changes = '{}';
    return postgrest.call(r, 'update', args).then(function (reply) {
        if (reply.status !== 200) return postgrest.translateError(reply.status, reply.text);
        if (nullContent) return detail(422, 'content cannot be null; omit the field to leave it unchanged');
        args.changes = pyjson.raw(m.value);
        return forward(r, 'update', args, 200);
    });
}

function del(r, ctx) {
    var args = strParams(ctx.query, ['db_id', 'table'], {learning_id: str(ctx.params.learning_id)});
    return forward(r, 'delete', args, 204);
}

function deleteUser(r, ctx) {
    var args = strParams(ctx.query, ['learning_type', 'db_id', 'table'], {user_id: str(ctx.params.user_id)});
    return forward(r, 'delete_user', args, 204);
}

var HANDLERS = {list: list, users: users, create: create, get: get, update: update, delete: del,
                delete_user: deleteUser};

// ---------------------------------------------------------------------------------------

function rawString(buf) {
    var s = '', i;
    if (!buf) return '';
    for (i = 0; i < buf.length; i++) s += String.fromCharCode(buf[i]);
    return s;
}

function handle(r) {
    try {
        route(r);
    } catch (e) {
        // A bug of the door must not become nginx's 500 page.
        r.error('door: ' + (e && e.stack ? e.stack : e));
        send(r, postgrest.UNAVAILABLE);
    }
}

function route(r) {
    var uri = rawString(r.rawVariables.request_uri), q = uri.indexOf('?'), rawPath, rawQuery, m, scope,
        method = r.method, ctx, answer;
    rawPath = q < 0 ? uri : uri.slice(0, q);
    rawQuery = q < 0 ? [] : routes.bytesOf(uri.slice(q + 1));
    m = routes.match(method, rawPath);
    if (m.outside) return send(r, NOT_FOUND);
    // CORS preflights pass AgentOS's middleware; no learnings route takes OPTIONS.
    if (method === 'OPTIONS') {
        return send(r, m.route || m.status === 405 ? detail(405, 'Method Not Allowed', {Allow: m.allow || 'GET'})
                                                    : NOT_FOUND);
    }
    if (tokenOf(r) === '') return send(r, detail(401, 'Authorization header missing'));
    if (/[^\x20-\x7e]/.test(r.headersIn.Authorization)) {
        // No token is made of anything but printable ASCII (PostgREST answers 500 to others).
        return send(r, detail(401, 'Invalid token: the Authorization header holds characters no token has'));
    }
    scope = routes.requiredScope(method, rawPath);
    if (!m.route) {
        answer = m.status === 405 ? detail(405, 'Method Not Allowed', {Allow: m.allow}) : NOT_FOUND;
        if (method === 'HEAD') answer = {status: answer.status, headers: answer.headers};
        return afterAuth(r, scope, answer).then(function (a) {
            send(r, a);
        }, function () {
            send(r, postgrest.UNAVAILABLE);
        });
    }
    ctx = {params: m.params, query: fastapi.parseQuery(rawQuery)};
    try {
        answer = HANDLERS[m.route](r, ctx);
    } catch (e) {
        r.error('door: ' + (e && e.stack ? e.stack : e));
        return send(r, postgrest.UNAVAILABLE);
    }
    answer.then(function (a) {
        send(r, a);
    }, function (e) {
        r.error('door: ' + (e && e.stack ? e.stack : e));
        send(r, postgrest.UNAVAILABLE);
    });
}

// For nginx's own refusals (error_page): the same {"detail": ...} body.
function nginxError(r) {
    var status = Number(r.uri.slice('/_door_error/'.length)) || 400, messages = {
        400: 'Bad Request',
        404: 'Not Found',
        405: 'Method Not Allowed',
        408: 'Request Timeout',
        411: 'Length Required',
        413: 'Request body too large: at most ' + r.variables.door_max_body + ' are accepted',
        414: 'Request URI too long',
        431: 'Request header fields too large',
    };
    if (status >= 500) {
        r.headersOut['Retry-After'] = '1';
        return send(r, detail(503, 'The learnings API is temporarily unavailable; retry the request'));
    }
    send(r, detail(status, messages[status] || 'Bad Request'));
}

export default {handle: handle, nginxError: nginxError};
