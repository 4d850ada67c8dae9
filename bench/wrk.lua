-- wrk script of `bash scripts/bench.sh http`: one kind of request, set by the environment
-- (wrk passes its own arguments to init() only, and the same environment to every thread).
--
--   BENCH_LABEL   name printed in the result line
--   BENCH_METHOD  GET (default) or POST
--   BENCH_PATH    path and query; "{id}" in it is replaced by the ids of BENCH_IDS in turn
--   BENCH_IDS     file with one id a line (each thread starts at a different line)
--   BENCH_BODY    request body, sent as application/json (POST)
--   BENCH_TOKEN   bearer token
--   BENCH_HEADER  one more header, "Name: value" (PostgREST's Accept-Profile/Content-Profile)
--
-- done() prints one line:
--   BENCH <label> rps=<req/s> p50=<ms> p99=<ms> requests=<n> non2xx=<n> socket_errors=<n>
-- and, when a response was not 2xx, a BENCH-SAMPLE line with the first one's status and body.

local label = os.getenv("BENCH_LABEL") or "wrk"
local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local body = os.getenv("BENCH_BODY")
if body == "" then
    body = nil
end

local function headers()
    local h = {}
    local token = os.getenv("BENCH_TOKEN")
    if token and token ~= "" then
        h["Authorization"] = "Bearer " .. token
    end
    if body then
        h["Content-Type"] = "application/json"
    end
    local extra = os.getenv("BENCH_HEADER")
    if extra and extra ~= "" then
        local name, value = extra:match("^([^:]+):%s*(.*)$")
        h[name] = value
    end
    return h
end

-- setup() runs in the main Lua state, once per thread: number the threads, and keep them
-- so that done() can add up what each counted.
local threads = {}
function setup(thread)
    thread:set("thread_no", #threads)
    table.insert(threads, thread)
end

-- The rest runs in each thread's own Lua state.
local ids, next_id, fixed_request
local request_headers = headers()

function init(args)
    non2xx = 0
    first_bad = nil
    local ids_file = os.getenv("BENCH_IDS")
    if ids_file and ids_file ~= "" and path:find("{id}", 1, true) then
        ids = {}
        for line in io.lines(ids_file) do
            if line ~= "" then
                table.insert(ids, line)
            end
        end
        assert(#ids > 0, "no ids in " .. ids_file)
        next_id = (thread_no * 257) % #ids -- threads start apart, then go round the list
    else
        -- A request that never changes is formatted once.
        fixed_request = wrk.format(method, path, request_headers, body)
    end
end

function request()
    if fixed_request then
        return fixed_request
    end
    next_id = next_id % #ids + 1
    local at = path:find("{id}", 1, true)
    local p = path:sub(1, at - 1) .. ids[next_id] .. path:sub(at + 4)
    return wrk.format(method, p, request_headers, body)
end

-- Every status is looked at: a benchmark of errors is worthless, so each one is counted.
function response(status, _, response_body)
    if status < 200 or status > 299 then
        non2xx = non2xx + 1
        if not first_bad then
            first_bad = status .. " " .. (response_body or ""):sub(1, 300):gsub("\n", " ")
        end
    end
end

function done(summary, latency, _)
    local bad, sample = 0, nil
    for _, thread in ipairs(threads) do
        bad = bad + thread:get("non2xx")
        sample = sample or thread:get("first_bad")
    end
    local e = summary.errors
    io.write(string.format("BENCH %s rps=%.1f p50=%.3f p99=%.3f requests=%d non2xx=%d socket_errors=%d\n",
        label, summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        summary.requests, bad, e.connect + e.read + e.write + e.timeout))
    if sample then
        io.write("BENCH-SAMPLE ", label, " ", sample, "\n")
    end
end
