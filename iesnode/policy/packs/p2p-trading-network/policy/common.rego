# Shared helpers of the P2P trading network policy (no violations are produced here).
#
# Input: the iesnode decision input (now_ns, action, context with snake_case keys,
# message = the Beckn v2 message as on the wire). Limits come from data.limits
# (data/limits.json). The message fields each rule reads are listed in intent.md.
#
# Written for the cost model of regopy 1.5.2 (rego-cpp), where a network decision took
# ~20 ms: every built-in call copies the evaluator's whole state (every local of the
# policy and every cached rule value); an object lookup compares the key with each member
# key in turn, serialising both; building or iterating a set serialises its members
# against each other; an object put into a new collection is copied deeply. So the
# helpers collect arrays (a repeated element only repeats a violation object, which the
# violations set absorbs) and keep indexes rather than copies of large objects, read
# fields with references rather than built-ins where a missing field already ends the
# iteration, read the limits used in loops through rules of their own, bind a rule's
# collection to a variable before iterating it (a bare `some x in rule` serialises the
# whole collection), and keep each "where" as a sprintf format and its arguments,
# rendered only for a violation. tests/unit/test_policy_p2p_equivalence.py pins the
# decisions to those of the rules as first written.
package ies.p2p.network

import rego.v1

limits := data.limits

# The limits read inside loops, one rule each (a rule's value is computed once per query).
# The lists of strings are also kept as sets: `s[x]` looks x up as `x in list` does
# (comparing serialised values) without a built-in call, and a member is never false.
identifier_keys := limits.identifier_keys

consumer_identifier_keys := {key | some key in limits.consumer_identifier_keys}

currencies := {c | some c in limits.currencies}

energy_units := {u | some u in limits.energy_units}

forbidden_source_types := {t | some t in limits.forbidden_source_types}

attribute_types := limits.attribute_types

# The allowed @types of each attribute bundle, as sets.
attribute_type_sets := {key: {t | some t in types} | types := limits.attribute_types[key]}

interval_hours := limits.interval_hours

payload_types := {t | some t in limits.payload_types}

known_roles := {role | some role in limits.known_roles}

min_trade_kwh := limits.min_trade_kwh

# The payload types of quantities.
quantity_types := {"REQUESTED_QTY", "AVAILABLE_QTY"}

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

# obj[key] when obj is an object that has key, else dflt (input is JSON: every key used
# here is a string, and a reference into an array, a string or a scalar is undefined).
get(obj, key, dflt) := value if {
	value := obj[key]
} else := dflt

# The value if it is an array, else an empty array.
arr(value) := value if is_array(value)

else := []

commitments := arr(get(contract, "commitments", []))

participants := [p | some p in arr(get(contract, "participants", [])); is_object(p)]

# The id of each participant, or null when it has none, by index into participants.
participant_id_list := [get(p, "id", null) | some p in participants]

participant_ids := {id | some id in participant_id_list}

roles := [r | some r in arr(get(get(contract, "contractAttributes", {}), "roles", [])); is_object(r)]

# Who the roles entries of contractAttributes.roles name, as [role, index into
# participants]. (In a rule body `==` is compared in place; in a comprehension it is a
# built-in call.)
role_indexes contains [role, k] if {
	all_roles := roles
	some r in all_roles
	role := r.role
	id := r.participantId
	all_ids := participant_id_list
	some k, participant_id in all_ids
	participant_id == id
}

# A roles entry with role names one of contract.participants.
role_named(role) if {
	all_role_indexes := role_indexes
	some pair in all_role_indexes
	pair[0] == role
}

# Indexes into participants of the buyer and of the seller.
buyer_indexes contains k if {
	all_role_indexes := role_indexes
	some pair in all_role_indexes
	pair[0] == limits.buyer_role
	k := pair[1]
}

seller_indexes contains k if {
	all_role_indexes := role_indexes
	some pair in all_role_indexes
	pair[0] == limits.seller_role
	k := pair[1]
}

# The participants named by the buyer and the seller roles (each at most once, in
# participants order: a violation depends only on which participants they are).
buyers := [participants[k] | some k in buyer_indexes]

sellers := [participants[k] | some k in seller_indexes]

attrs(obj) := get(obj, "participantAttributes", {})

# An object's id, or "#<index>" when it has none (rendered only then).
label(k, obj) := id if {
	id := obj.id
} else := sprintf("#%d", [k])

# Commitments as [commitment label, index into commitments].
labelled_commitments := [[label(k, c), k] | c := commitments[k]]

# Resources of every commitment as [commitment label, resource label, resource].
resources := [[cid, label(k, r), r] |
	all_labelled_commitments := labelled_commitments
	some [cid, n] in all_labelled_commitments
	r := arr(commitments[n].resources)[k]
]

series(c) := get(c, "commitmentAttributes", {})

# Every interval payload value as [commitment label, interval label, payload type, value index, value].
payload_values := [[cid, iid, t, j, x] |
	all_labelled_commitments := labelled_commitments
	some [cid, n] in all_labelled_commitments
	i := arr(commitments[n].commitmentAttributes.intervals)[m]
	iid := label(m, i)
	some p in arr(i.payloads)
	t := get(p, "type", null)
	x := arr(p.values)[j]
]

# The time series period of every commitment as [commitment label, duration, start].
periods := [[cid, get(period, "duration", null), get(period, "start", null)] |
	all_labelled_commitments := labelled_commitments
	some [cid, n] in all_labelled_commitments
	period := get(series(commitments[n]), "intervalPeriod", {})
]

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
	regex.match(test_identifier_pattern, s)
}

test_identifier_pattern := limits.test_identifier_pattern

rfc3339_pattern := `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`

is_rfc3339(s) if {
	is_string(s)
	regex.match(rfc3339_pattern, s)
}

# time.parse_rfc3339_ns of regopy 1.5.2 rejects a trailing "Z", so it is rewritten first.
rfc3339_ns(s) := time.parse_rfc3339_ns(regex.replace(s, `[Zz]$`, "+00:00"))

# Hours, rounded to two decimals, for messages.
hours_text(ns) := sprintf("%v", [round(ns / 36000000000) / 100])
