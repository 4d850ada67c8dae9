// Calling the SQL API through PostgREST, and turning PostgREST's answers into AgentOS's.
//
// Every call is `POST /rpc/<function>` with a JSON body the door built (never the
// caller's query string, headers or body: PostgREST 12 answers 500 to non-UTF-8 bytes
// there, can crash on text/csv bodies and parses form bodies in quadratic time). The
// internal location /_pgrst/ (nginx/door.conf.in) forwards only the caller's
// Authorization header, unchanged, and sets Content-Type and Accept itself.

var FUNCTIONS = {
    list: 'learnings_list',
    create: 'learnings_create',
    users: 'learnings_list_users',
    get: 'learnings_get',
    update: 'learnings_update',
    delete: 'learnings_delete',
    delete_user: 'learnings_delete_user',
    authenticate: 'learnings_authenticate',
};

// The answer to a request PostgREST could not serve now (no database connection, schema
// cache not loaded, PostgREST down): 503 with Retry-After, never a 500.
var UNAVAILABLE = {
    status: 503,
    body: '{"detail":"The learnings database is temporarily unavailable; retry the request"}',
    headers: {'Retry-After': '1'},
};

// fn: a key of FUNCTIONS; args: an object of JSON texts (already serialized values).
// Resolves to {status, text}; a failed subrequest resolves to status 502.
function call(r, fn, args) {
    var names = Object.keys(args), body = '{' + names.map(function (k) {
        return JSON.stringify(k) + ':' + args[k];
    }).join(',') + '}';
    return r.subrequest('/_pgrst/rpc/' + FUNCTIONS[fn], {method: 'POST', body: body})
        .then(function (reply) {
            return {status: reply.status, text: reply.responseText || ''};
        }, function () {
            return {status: 502, text: ''};
        });
}

// PostgREST's error object ({code, message, details, hint}), or null when the body is not
// one (then it was not PostgREST that answered).
function errorOf(text) {
    var e;
    try {
        e = JSON.parse(text);
    } catch (x) {
        return null;
    }
    if (e === null || typeof e !== 'object' || typeof e.message !== 'string') return null;
    return e;
}

// Whether an answer means "PostgREST could not serve it now": a 5xx, a 502/504 from nginx,
// the empty-code 400 PostgREST 12 gives when its connection died mid-request, or an
// unknown function (its schema cache is not loaded, e.g. right after a restart).
function transient(status, e) {
    if (status >= 500 || status < 200) return true;
    if (e === null) return status >= 400;
    if (status === 400 && (e.code === '' || e.code === undefined)) return true;
    if (status === 404 && typeof e.code === 'string' && e.code.slice(0, 4) === 'PGRS') return true;
    return false;
}

// AgentOS's wording for what the extension and PostgREST say.
function detailOf(status, e) {
    var m = e.message, scope;
    if (status === 401) {
        if (m === 'JWT expired') return 'Token has expired';
        return 'Invalid token: ' + m;
    }
    if (status === 403) {
        scope = /^Insufficient permissions: the (learnings:[a-z]+) scope is required$/.exec(m);
        if (scope) return 'Insufficient permissions. Required scope(s): ' + scope[1];
    }
    return m;
}

// An error answer from PostgREST, as AgentOS answers it: {status, body, headers}.
function translateError(status, text) {
    var e = errorOf(text);
    if (transient(status, e)) return UNAVAILABLE;
    // Statuses the contract gives the API keep theirs; anything else PostgreSQL refused in
    // a value the caller sent (a NUL character, 22P05) is that caller's error: 422.
    if ([400, 401, 403, 404, 409, 422].indexOf(status) < 0 || (status === 400 && e.code !== '22023')) {
        status = 422;
    }
    var headers = status === 401 ? {'WWW-Authenticate': 'Bearer'} : {};
    return {status: status, body: JSON.stringify({detail: detailOf(status, e)}), headers: headers};
}

export default {
    call: call,
    errorOf: errorOf,
    translateError: translateError,
    transient: transient,
    UNAVAILABLE: UNAVAILABLE,
};
