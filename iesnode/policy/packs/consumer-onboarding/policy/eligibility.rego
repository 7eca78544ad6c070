# METADATA
# title: Consumer onboarding eligibility
# description: >-
#   Eligibility of a consumer's meters for an energy programme at enrollment confirm: programme
#   known, meters given, connection type and sanctioned load within the programme's limits, meter
#   not already enrolled, required consents granted. See energy-domain research section 2.5.
# related_resources:
#   - ref: intent.md
package ies.onboarding.eligibility

import rego.v1

cfg := data.programmes

enforced if input.action in cfg.enforced_actions

# The enrollment payload: order attributes (v2 enrollment) or contract attributes.
enrollment := a if {
	a := input.message.order.orderAttributes
} else := a if {
	a := input.message.contract.contractAttributes
} else := {}

programme_id := object.get(enrollment, "programId", "")

programme := cfg.programmes[programme_id]

meters := object.get(enrollment, "meters", [])

consents := object.get(enrollment, "consents", [])

violation(rule, title, message) := {
	"rule": rule,
	"title": title,
	"message": message,
	"intent": concat("", ["intent.md#", rule]),
}

# METADATA
# title: Programme known
# description: The enrollment names a programme this pack has eligibility rules for.
# related_resources:
#   - ref: intent.md#programme-known
violations contains v if {
	enforced
	not cfg.programmes[programme_id]
	v := violation(
		"programme-known",
		"Programme known",
		sprintf("programme %v is not known (known: %v)", [programme_id, sort(object.keys(cfg.programmes))]),
	)
}

# METADATA
# title: Meters present
# description: The enrollment lists at least one meter.
# related_resources:
#   - ref: intent.md#meters-present
violations contains v if {
	enforced
	count(meters) == 0
	v := violation("meters-present", "Meters present", "no meter specified for enrollment")
}

# METADATA
# title: Connection type eligible
# description: Each meter's connection type is one the programme admits.
# related_resources:
#   - ref: intent.md#connection-type-eligible
violations contains v if {
	enforced
	some m in meters
	kind := object.get(m, "connectionType", "")
	not programme.connection_types[kind]
	v := violation(
		"connection-type-eligible",
		"Connection type eligible",
		sprintf("meter %v: connection type %v is not eligible for %v (eligible: %v)", [
			object.get(m, "meterId", "?"), kind, programme_id,
			sort(object.keys(programme.connection_types)),
		]),
	)
}

# METADATA
# title: Sanctioned load within limits
# description: Each meter's sanctioned load (kW) is given and within the limits for its connection type.
# related_resources:
#   - ref: intent.md#sanctioned-load-limit
violations contains v if {
	enforced
	some m in meters
	limits := programme.connection_types[m.connectionType]
	problem := load_problem(object.get(m, "sanctionedLoad", null), limits, m.connectionType)
	v := violation(
		"sanctioned-load-limit",
		"Sanctioned load within limits",
		sprintf("meter %v: %v", [object.get(m, "meterId", "?"), problem]),
	)
}

load_problem(load, _, _) := "sanctioned load is missing" if not is_number(load)

load_problem(load, limits, kind) := msg if {
	is_number(load)
	not within(load, limits)
	msg := sprintf("sanctioned load %v kW is outside %v..%v kW for %v", [
		load, limits.min_sanctioned_load_kw, limits.max_sanctioned_load_kw, kind,
	])
}

within(load, limits) if {
	load >= limits.min_sanctioned_load_kw
	load <= limits.max_sanctioned_load_kw
}

# METADATA
# title: Meter not already enrolled
# description: >-
#   No meter is already enrolled in the programme, per the enrollment register (data) or a
#   METER_ALREADY_ENROLLED conflict reported in the payload.
# related_resources:
#   - ref: intent.md#meter-not-already-enrolled
violations contains v if {
	enforced
	some meter_id in already_enrolled
	v := violation(
		"meter-not-already-enrolled",
		"Meter not already enrolled",
		sprintf("meter %v is already enrolled in %v", [meter_id, programme_id]),
	)
}

already_enrolled contains meter_id if {
	some m in meters
	meter_id := m.meterId
	programme_id in object.get(data.enrollments.meters, meter_id, [])
}

already_enrolled contains meter_id if {
	some c in object.get(enrollment, ["conflictCheck", "conflictingEnrollments"], [])
	c.conflictType == "METER_ALREADY_ENROLLED"
	meter_id := object.get(c, "meterId", "(unnamed)")
}

# METADATA
# title: Required consents granted
# description: Every consent type the programme requires is present with granted true.
# related_resources:
#   - ref: intent.md#required-consents-granted
violations contains v if {
	enforced
	some kind in programme.required_consents
	not granted(kind)
	v := violation(
		"required-consents-granted",
		"Required consents granted",
		sprintf("consent %v is required by %v and was not granted", [kind, programme_id]),
	)
}

granted(kind) if {
	some c in consents
	c.type == kind
	c.granted == true
}
