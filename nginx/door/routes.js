// AgentOS 3.1.10's learnings routes (agno/os/routers/learnings/router.py), matched as
// Starlette matches them, and the scope its authentication middleware asks for first.
//
// Starlette matches the percent-decoded path, so agno cannot route an id holding a "/"
// (sent as %2F): the door splits the raw path on "/" and decodes each segment, so that
// every stored id can be read, changed and deleted (a listed difference).

import fastapi from 'fastapi.js';

var PREFIX = '/learnings';

// The bytes of a string that holds one byte per character (a raw request line).
function bytesOf(s) {
    var out = [], i;
    for (i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff);
    return out;
}

// match(method, rawPath) → {route, params} where route is one of list, create, users,
// get, update, delete, delete_user; or {status: 404|405, allow}; or {outside: true} for a
// path that is not AgentOS's learnings API (the door serves nothing else).
function match(method, rawPath) {
    var rest, segments, first;
    if (rawPath !== PREFIX && rawPath.slice(0, PREFIX.length + 1) !== PREFIX + '/') {
        return {outside: true};
    }
    // AgentOS's TrailingSlashMiddleware: /learnings/ is /learnings (every trailing "/").
    rest = rawPath.slice(PREFIX.length).replace(/\/+$/, '');
    if (rest === '') {
        if (method === 'GET') return {route: 'list', params: {}};
        if (method === 'POST') return {route: 'create', params: {}};
        return {status: 405, allow: 'GET'};
    }
    segments = rest.slice(1).split('/').map(function (seg) {
        return fastapi.unquote(bytesOf(seg), false);
    });
    first = segments[0];
    if (segments.length === 1 && first !== '') {
        if (first === 'users' && method === 'GET') return {route: 'users', params: {}};
        if (method === 'GET') return {route: 'get', params: {learning_id: first}};
        if (method === 'PATCH') return {route: 'update', params: {learning_id: first}};
        if (method === 'DELETE') return {route: 'delete', params: {learning_id: first}};
        return {status: 405, allow: 'GET'};
    }
    if (segments.length === 2 && first === 'users' && segments[1] !== '') {
        if (method === 'DELETE') return {route: 'delete_user', params: {user_id: segments[1]}};
        return {status: 405, allow: 'DELETE'};
    }
    return {status: 404};
}

// The scope AgentOS's middleware requires before routing (agno/os/scopes.py:
// "GET /learnings", "GET /learnings/*", "POST /learnings", "PATCH /learnings/*",
// "DELETE /learnings/*"), or null when it requires none (the route then answers 404/405).
function requiredScope(method, rawPath) {
    var rest = rawPath.slice(PREFIX.length).replace(/\/+$/, '');
    if (method === 'GET') return 'read';
    if (method === 'POST' && rest === '') return 'write';
    if (method === 'PATCH' && rest !== '') return 'write';
    if (method === 'DELETE' && rest !== '') return 'delete';
    return null;
}

export default {match: match, requiredScope: requiredScope, bytesOf: bytesOf};
