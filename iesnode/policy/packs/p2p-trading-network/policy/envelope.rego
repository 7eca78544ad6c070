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
	not role_named(role)
	msg := sprintf(
		"%v: no contractAttributes.roles entry with role %v names one of contract.participants %v (roles: %v)",
		[action, role, sort(participant_ids), roles_present],
	)
}

# METADATA
# title: Buyer and seller roles present
# description: Every role in contractAttributes.roles is a role this network knows.
# related_resources:
#   - ref: intent.md#required-roles
violations contains violation("required-roles", msg) if {
	is_trade
	all_roles := roles
	some r in all_roles
	not known_roles[get(r, "role", null)]
	msg := sprintf("%v: role %v of %v is not one of %v", [action, get(r, "role", null), get(r, "participantId", null), limits.known_roles])
}

# METADATA
# title: Buyer and seller roles present
# description: The buyer and seller participants name the meter they trade on.
# related_resources:
#   - ref: intent.md#required-roles
violations contains violation("required-roles", msg) if {
	is_trade
	sides := array.concat(buyers, sellers)
	some p in sides
	meter := get(attrs(p), "meterId", null)
	not non_empty_string(meter)
	msg := sprintf("%v participant %v has no participantAttributes.meterId (got %v)", [side_of(p), p.id, meter])
}

# Every roles entry as "<role>=<participantId>" (for messages).
roles_present := [sprintf("%v=%v", [get(r, "role", null), get(r, "participantId", null)]) | some r in roles]

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

# Identifiers the separation rule looks at, as [where format, where arguments, attribute key,
# value]: sprintf(format, arguments) says where the identifier sits.
identifiers := identifiers_keyed(identifier_key_set)

# The distinct identifier values that are test identifiers (each value tested once; no
# member is false, so test_identifiers[id] holds exactly when is_test_identifier(id)).
test_identifiers := {id | some id in identifier_values; is_test_identifier(id)}

identifier_values := {identifier[3] | some identifier in identifiers}

# The identifiers that are consumer identifiers (what a test network checks).
consumer_identifiers := identifiers_keyed(consumer_identifier_keys)

# Every key an identifier is read from.
identifier_key_set := {"bap_id", "bpp_id", "id", "participantId"} | {key | some key in identifier_keys}

# The identifiers read from a key in the set keys.
identifiers_keyed(keys) := array.concat(
	array.concat(
		[["context.%v", [key], key, id] |
			some key in ["bap_id", "bpp_id"]
			keys[key]
			id := input.context[key]
		],
		[["contract.participants[%d].id", [k], "id", id] |
			keys.id
			p := participants[k]
			id := p.id
		],
	),
	array.concat(
		array.concat(
			[["contract.participants[%d].participantAttributes.%v", [k, key], key, id] |
				p := participants[k]
				attributes := p.participantAttributes
				some key in identifier_keys
				keys[key]
				id := attributes[key]
			],
			[["contract.contractAttributes.roles[%d].participantId", [k], "participantId", id] |
				keys.participantId
				r := roles[k]
				id := r.participantId
			],
		),
		[["commitment %v resource %v resourceAttributes.%v", [cid, rid, key], key, id] |
			some [cid, rid, r] in resources
			attributes := r.resourceAttributes
			some key in identifier_keys
			keys[key]
			id := attributes[key]
		],
	),
)

# METADATA
# title: Test and production identifiers kept apart
# description: On a production network no identifier may lie in the test namespace.
# related_resources:
#   - ref: intent.md#test-production-separation
violations contains violation("test-production-separation", msg) if {
	not is_test_network
	all_identifiers := identifiers
	some identifier in all_identifiers
	id := identifier[3]
	test_identifiers[id]
	msg := sprintf("network %v is a production network but %v is the test identifier %v", [network_id, sprintf(identifier[0], identifier[1]), id])
}

# METADATA
# title: Test and production identifiers kept apart
# description: On a test network every meter, customer and utility identifier lies in the test namespace.
# related_resources:
#   - ref: intent.md#test-production-separation
violations contains violation("test-production-separation", msg) if {
	is_test_network
	all_identifiers := consumer_identifiers
	some identifier in all_identifiers
	id := identifier[3]
	not is_test_identifier(id)
	msg := sprintf("network %v is a test network but %v is the production identifier %v", [network_id, sprintf(identifier[0], identifier[1]), id])
}
