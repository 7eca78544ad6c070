# Shared helpers of the P2P trading network policy (no violations are produced here).
#
# Input: the iesnode decision input (now_ns, action, context with snake_case keys,
# message = the Beckn v2 message as on the wire). Limits come from data.limits
# (data/limits.json). The message fields each rule reads are listed in intent.md.
package ies.p2p.network

import rego.v1

limits := data.limits

titles := {
	"protocol-version": "Protocol version 2.0.x",
	"required-roles": "Buyer and seller roles present",
	"units": "Money in INR, energy in kWh",
	"no-self-trade": "No self-trade",
	"no-grid-source": "No GRID source",
	"bap-bpp-participants": "BAP and BPP are contract participants",
	"payload-types-declared": "Every payload type declared",
	"test-production-separation": "Test and production identifiers kept apart",
	"gate-closure": "Delivery lead time and gate closure",
	"per-hour-cap": "Per-hour quantity cap",
	"minimum-quantity": "Minimum trade quantity",
	"allocation-within-min": "Allocation within both DISCOM allocations",
}

violation(anchor, msg) := {
	"rule": anchor,
	"title": titles[anchor],
	"message": msg,
	"intent": concat("", ["intent.md#", anchor]),
}

action := input.action

# A trade message: a negotiation action that carries a contract object.
is_trade if {
	action in limits.trade_actions
	is_object(contract)
}

# The contract of the message; undefined for messages without one (discover, catalogs).
contract := c if {
	c := input.message.contract
	is_object(c)
}

# object.get that tolerates a non-object (strict built-in errors are on).
get(obj, key, dflt) := object.get(obj, key, dflt) if is_object(obj)

else := dflt

# The value if it is an array, else an empty array.
arr(value) := value if is_array(value)

else := []

commitments := arr(get(contract, "commitments", []))

participants := [p | some p in arr(get(contract, "participants", [])); is_object(p)]

participant_ids := {get(p, "id", null) | some p in participants}

roles := [r | some r in arr(get(get(contract, "contractAttributes", {}), "roles", [])); is_object(r)]

# Participants named by a role entry of contractAttributes.roles. Collections of objects
# are arrays, not sets: regopy 1.5.2 iterates a set of objects ~10x slower.
role_participants(role) := [p |
	some r in roles
	r.role == role
	some p in participants
	get(p, "id", null) == r.participantId
]

buyers := role_participants(limits.buyer_role)

sellers := role_participants(limits.seller_role)

attrs(obj) := get(obj, "participantAttributes", {})

# An object's id, or "#<index>" when it has none.
label(k, obj) := get(obj, "id", sprintf("#%d", [k]))

# Commitments as [commitment label, commitment].
labelled_commitments := [[label(k, c), c] | c := commitments[k]]

# Resources of every commitment as [commitment label, resource label, resource].
resources := [[cid, label(k, r), r] |
	some [cid, c] in labelled_commitments
	r := arr(get(c, "resources", []))[k]
]

series(c) := get(c, "commitmentAttributes", {})

# Every interval payload value as [commitment label, interval label, payload type, value index, value].
payload_values contains [cid, label(n, i), get(p, "type", null), j, x] if {
	some [cid, c] in labelled_commitments
	intervals := arr(get(series(c), "intervals", []))
	i := intervals[n]
	some p in arr(get(i, "payloads", []))
	values := arr(get(p, "values", []))
	x := values[j]
}

# The time series period of every commitment as [commitment label, duration, start].
periods contains [cid, get(period, "duration", null), get(period, "start", null)] if {
	some [cid, c] in labelled_commitments
	period := get(series(c), "intervalPeriod", {})
}

# The network id: context.network_id, else the top-level network_id, else "" (production).
network_id := n if {
	n := input.context.network_id
	is_string(n)
} else := n if {
	n := input.network_id
	is_string(n)
} else := ""

is_test_network if regex.match(limits.test_network_pattern, network_id)

is_test_identifier(s) if {
	is_string(s)
	regex.match(limits.test_identifier_pattern, s)
}

rfc3339_pattern := `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`

is_rfc3339(s) if {
	is_string(s)
	regex.match(rfc3339_pattern, s)
}

# time.parse_rfc3339_ns of regopy 1.5.2 rejects a trailing "Z", so it is rewritten first.
rfc3339_ns(s) := time.parse_rfc3339_ns(regex.replace(s, `[Zz]$`, "+00:00"))

# Hours, rounded to two decimals, for messages.
hours_text(ns) := sprintf("%v", [round(ns / 36000000000) / 100])
