# Envelope and participant rules of the P2P trading network (intent.md sections
# protocol-version, required-roles, bap-bpp-participants, test-production-separation).
package ies.p2p.network

import rego.v1

# METADATA
# title: Protocol version 2.0.x
# description: Every message on the network carries a Beckn 2.0.x context.version.
# related_resources:
#   - ref: intent.md#protocol-version
violations contains violation("protocol-version", msg) if {
	version := object.get(input, ["context", "version"], null)
	not version_ok(version)
	msg := sprintf("context.version is %v; this network accepts Beckn 2.0.x only", [version])
}

version_ok(version) if {
	is_string(version)
	regex.match(limits.protocol_version_pattern, version)
}

# METADATA
# title: Buyer and seller roles present
# description: A trade message names a participant for each required role in contractAttributes.roles.
# related_resources:
#   - ref: intent.md#required-roles
violations contains violation("required-roles", msg) if {
	is_trade
	some role in limits.required_roles
	count(role_participants(role)) == 0
	present := [sprintf("%v=%v", [get(r, "role", null), get(r, "participantId", null)]) | some r in roles]
	msg := sprintf(
		"%v: no contractAttributes.roles entry with role %v names one of contract.participants %v (roles: %v)",
		[action, role, sort(participant_ids), present],
	)
}

# METADATA
# title: Buyer and seller roles present
# description: Every role in contractAttributes.roles is a role this network knows.
# related_resources:
#   - ref: intent.md#required-roles
violations contains violation("required-roles", msg) if {
	is_trade
	some r in roles
	not get(r, "role", null) in limits.known_roles
	msg := sprintf("%v: role %v of %v is not one of %v", [action, get(r, "role", null), get(r, "participantId", null), limits.known_roles])
}

# METADATA
# title: Buyer and seller roles present
# description: The buyer and seller participants name the meter they trade on.
# related_resources:
#   - ref: intent.md#required-roles
violations contains violation("required-roles", msg) if {
	is_trade
	some p in array.concat(buyers, sellers)
	meter := get(attrs(p), "meterId", null)
	not non_empty_string(meter)
	msg := sprintf("%v participant %v has no participantAttributes.meterId (got %v)", [side_of(p), p.id, meter])
}

non_empty_string(s) if {
	is_string(s)
	s != ""
}

side_of(p) := "buyer" if p in buyers

else := "seller"

# METADATA
# title: BAP and BPP are contract participants
# description: context.bap_id and context.bpp_id of a trade message are ids in contract.participants.
# related_resources:
#   - ref: intent.md#bap-bpp-participants
violations contains violation("bap-bpp-participants", msg) if {
	is_trade
	some key in ["bap_id", "bpp_id"]
	id := object.get(input, ["context", key], null)
	not id in participant_ids
	msg := sprintf("context.%v %v is not among the contract.participants ids %v", [key, id, sort(participant_ids)])
}

# Identifiers the separation rule looks at, as [where, attribute key, value].
identifiers contains [sprintf("context.%v", [key]), key, id] if {
	some key in ["bap_id", "bpp_id"]
	id := input.context[key]
}

identifiers contains [sprintf("contract.participants[%d].id", [k]), "id", p.id] if some k, p in participants

identifiers contains [sprintf("contract.participants[%d].participantAttributes.%v", [k, key]), key, id] if {
	some k, p in participants
	some key in limits.identifier_keys
	id := attrs(p)[key]
}

identifiers contains [sprintf("contract.contractAttributes.roles[%d].participantId", [k]), "participantId", r.participantId] if {
	some k, r in roles
}

identifiers contains [where, key, id] if {
	some [cid, rid, r] in resources
	some key in limits.identifier_keys
	id := get(r, "resourceAttributes", {})[key]
	where := sprintf("commitment %v resource %v resourceAttributes.%v", [cid, rid, key])
}

# METADATA
# title: Test and production identifiers kept apart
# description: On a production network no identifier may lie in the test namespace.
# related_resources:
#   - ref: intent.md#test-production-separation
violations contains violation("test-production-separation", msg) if {
	not is_test_network
	some [where, _, id] in identifiers
	is_test_identifier(id)
	msg := sprintf("network %v is a production network but %v is the test identifier %v", [network_id, where, id])
}

# METADATA
# title: Test and production identifiers kept apart
# description: On a test network every meter, customer and utility identifier lies in the test namespace.
# related_resources:
#   - ref: intent.md#test-production-separation
violations contains violation("test-production-separation", msg) if {
	is_test_network
	some [where, key, id] in identifiers
	key in limits.consumer_identifier_keys
	not is_test_identifier(id)
	msg := sprintf("network %v is a test network but %v is the production identifier %v", [network_id, where, id])
}
