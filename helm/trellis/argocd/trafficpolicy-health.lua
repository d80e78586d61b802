-- Argo CD health of a trellis.dev TrafficPolicy, from the conditions Trellis writes (README: "Argo CD").
-- Healthy: Accepted and Programmed. Degraded: not accepted (Invalid, TargetNotFound), references that do not
-- resolve, part of it unusable, fields held by another policy, or not programmed (Rejected by a proxy, and the
-- rest). Progressing: no status yet, a status of an older generation, or Programmed Pending.
local hs = { status = "Progressing", message = "Waiting for Trellis to report the policy's status" }
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= nil and obj.status.observedGeneration < generation then
  hs.message = "Trellis has not yet reported on generation " .. generation
  return hs
end
local c = {}
for _, condition in ipairs(obj.status.conditions) do
  c[condition.type] = condition
end
local function say(condition)
  return condition.type .. "=" .. condition.status .. " (" .. (condition.reason or "") .. "): " .. (condition.message or "")
end
if c.Accepted ~= nil and c.Accepted.status == "False" then
  return { status = "Degraded", message = say(c.Accepted) }
end
if c.ResolvedRefs ~= nil and c.ResolvedRefs.status == "False" then
  return { status = "Degraded", message = say(c.ResolvedRefs) }
end
if c.PartiallyInvalid ~= nil and c.PartiallyInvalid.status == "True" then
  return { status = "Degraded", message = say(c.PartiallyInvalid) }
end
if c.Conflicted ~= nil and c.Conflicted.status == "True" then
  return { status = "Degraded", message = say(c.Conflicted) }
end
if c.Programmed ~= nil and c.Programmed.status == "False" then
  if c.Programmed.reason == "Pending" then
    return { status = "Progressing", message = say(c.Programmed) }
  end
  return { status = "Degraded", message = say(c.Programmed) }
end
if c.Accepted ~= nil and c.Accepted.status == "True" and c.Programmed ~= nil and c.Programmed.status == "True" then
  return { status = "Healthy", message = say(c.Programmed) }
end
return hs
