-- Mixed reads and writes for wrk: a CI token, trains listed and read,
-- artifacts registered and their checks reported. Every answer that is not
-- 2xx, and every body mentioning a locked database, is counted.
local token = os.getenv("RAILYARD_LOAD_TOKEN")
local train = os.getenv("RAILYARD_LOAD_TRAIN")
local artifact = os.getenv("RAILYARD_LOAD_ARTIFACT")
local threads = {}
local counter = 0
local id = 0

function setup(thread)
  id = id + 1
  thread:set("id", id)
  table.insert(threads, thread)
end

function init(args)
  failures = 0
  locked = 0
  writes = 0
end

local function json_headers()
  return { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

function request()
  counter = counter + 1
  local pick = counter % 10
  if pick < 3 then
    return wrk.format("GET", "/api/v1/trains?from=2026-01-01&to=2027-01-01", json_headers())
  elseif pick < 5 then
    return wrk.format("GET", "/api/v1/trains/" .. train, json_headers())
  elseif pick < 7 then
    return wrk.format("GET", "/api/v1/artifacts/" .. artifact, json_headers())
  elseif pick < 8 then
    writes = writes + 1
    local body = string.format('{"kind":"tests","name":"load-%d-%d","status":"passed"}', id, counter)
    return wrk.format("POST", "/api/v1/artifacts/" .. artifact .. "/checks", json_headers(), body)
  else
    writes = writes + 1
    local digest = string.format("sha256:%02d%062d", id, counter)
    local body = string.format(
      '{"service":"wallet","version":"2.%d.%d","digest":"%s","commit":"1234567","author":"load","changes":[]}',
      id, counter, digest)
    return wrk.format("POST", "/api/v1/artifacts", json_headers(), body)
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    failures = failures + 1
    if failures <= 3 then io.stderr:write("unexpected ", status, ": ", body, "\n") end
  end
  if body and string.find(body, "locked", 1, true) then
    locked = locked + 1
  end
end

function done(summary, latency, requests)
  local failed, stuck, written = 0, 0, 0
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("failures")
    stuck = stuck + thread:get("locked")
    written = written + thread:get("writes")
  end
  io.write(string.format("railyard requests %d\n", summary.requests))
  io.write(string.format("railyard writes %d\n", written))
  io.write(string.format("railyard failures %d\n", failed))
  io.write(string.format("railyard locked %d\n", stuck))
  io.write(string.format("railyard socket_errors %d\n",
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("railyard p50_ms %.1f\n", latency:percentile(50) / 1000))
  io.write(string.format("railyard p99_ms %.1f\n", latency:percentile(99) / 1000))
end
