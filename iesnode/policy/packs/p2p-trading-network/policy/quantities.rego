# Time and quantity rules of the P2P trading network (intent.md sections gate-closure,
# per-hour-cap, minimum-quantity, allocation-within-min).
package ies.p2p.network

import rego.v1

is_gate_action if {
	action in limits.gate_actions
	is_object(contract)
}

lead_ns := (limits.min_delivery_lead_hours * 3600) * 1000000000

# METADATA
# title: Delivery lead time and gate closure
# description: A trade action needs input.now_ns to check the gate; without it the trade is refused.
# related_resources:
#   - ref: intent.md#gate-closure
violations contains violation("gate-closure", msg) if {
	is_gate_action
	not is_number(input.now_ns)
	msg := sprintf("%v: input.now_ns is %v, so gate closure cannot be checked", [action, get(input, "now_ns", null)])
}

# METADATA
# title: Delivery lead time and gate closure
# description: Every commitment of a trade action names its delivery start as an RFC 3339 timestamp.
# related_resources:
#   - ref: intent.md#gate-closure
violations contains violation("gate-closure", msg) if {
	is_gate_action
	all_periods := periods
	some [cid, _, start] in all_periods
	not is_rfc3339(start)
	msg := sprintf("%v: commitment %v has no RFC 3339 commitmentAttributes.intervalPeriod.start (got %v)", [action, cid, start])
}

# METADATA
# title: Delivery lead time and gate closure
# description: No trade is created or changed within data.limits.min_delivery_lead_hours of its delivery start.
# related_resources:
#   - ref: intent.md#gate-closure
violations contains violation("gate-closure", msg) if {
	is_gate_action
	is_number(input.now_ns)
	all_periods := periods
	some [cid, _, start] in all_periods
	is_rfc3339(start)
	lead := rfc3339_ns(start) - input.now_ns
	lead < lead_ns
	msg := sprintf(
		"%v: commitment %v delivers from %v, %v h from now; the gate closes %v h before delivery",
		[action, cid, start, hours_text(lead), limits.min_delivery_lead_hours],
	)
}

# METADATA
# title: Per-hour quantity cap
# description: Quantities can be capped per hour only when the interval duration is one of data.limits.interval_hours.
# related_resources:
#   - ref: intent.md#per-hour-cap
violations contains violation("per-hour-cap", msg) if {
	is_trade
	all_periods := periods
	some period in all_periods
	duration := period[1]
	not interval_hours[duration]
	cid := period[0]
	all_payload_values := payload_values
	some value in all_payload_values
	value[0] == cid
	t := value[2]
	quantity_types[t]
	msg := sprintf("commitment %v: interval duration %v is not one of %v, so the per-hour cap cannot be checked", [cid, duration, sort(object.keys(limits.interval_hours))])
}

# The capped quantity types, capacity attribute and cap fraction of each side.
cap_basis := {
	"buyer": [{"REQUESTED_QTY"}, "sanctionedLoadKw", limits.buyer_cap_fraction_of_sanctioned_load],
	"seller": [{"REQUESTED_QTY", "AVAILABLE_QTY"}, "installedCapacityKw", limits.seller_cap_fraction_of_installed_capacity],
}

# Declared capacities as [side, participant id, attribute key, value].
capacities := array.concat(
	[["buyer", get(p, "id", null), cap_basis.buyer[1], get(attrs(p), cap_basis.buyer[1], null)] | some p in buyers],
	[["seller", get(p, "id", null), cap_basis.seller[1], get(attrs(p), cap_basis.seller[1], null)] | some p in sellers],
)

# Quantities per hour as [commitment, interval, payload type, kWh, hours].
hourly := [[value[0], value[1], t, qty, hours] |
	all_payload_values := payload_values
	some value in all_payload_values
	t := value[2]
	quantity_types[t]
	qty := value[4]
	is_number(qty)
	all_periods := periods
	some period in all_periods
	period[0] == value[0]
	hours := interval_hours[period[1]]
]

# METADATA
# title: Per-hour quantity cap
# description: The buyer declares its sanctioned load and the seller its installed capacity, in kW.
# related_resources:
#   - ref: intent.md#per-hour-cap
violations contains violation("per-hour-cap", msg) if {
	is_trade
	all_capacities := capacities
	some [side, id, key, value] in all_capacities
	not positive_number(value)
	msg := sprintf("%v participant %v declares no positive participantAttributes.%v (got %v)", [side, id, key, value])
}

positive_number(x) if {
	is_number(x)
	x > 0
}

# METADATA
# title: Per-hour quantity cap
# description: Per hour, a buyer requests at most its sanctioned load and a seller commits at most its installed capacity (each times the cap fraction in data.limits).
# related_resources:
#   - ref: intent.md#per-hour-cap
violations contains violation("per-hour-cap", msg) if {
	is_trade
	all_capacities := capacities
	some capacity in all_capacities
	[types, cap, fraction] := capacity_cap(capacity)
	all_hourly := hourly
	some quantity in all_hourly
	rate := rate_over(quantity, types, cap)
	msg := sprintf(
		"commitment %v interval %v: %v %v kWh over %v h is %v kWh per hour, above the %v cap of %v kWh per hour (%v %v kW x %v)",
		[quantity[0], quantity[1], quantity[2], quantity[3], quantity[4], rate, capacity[0], cap, capacity[2], capacity[3], fraction],
	)
}

# The capped types, the cap (kW) and the cap fraction of a declared capacity that is a
# positive number. (Functions keep the evaluation order: the planner would otherwise
# compute these for every hourly quantity.)
capacity_cap(capacity) := [types, kw * fraction, fraction] if {
	kw := capacity[3]
	positive_number(kw)
	[types, _, fraction] := cap_basis[capacity[0]]
}

# The rate of an hourly quantity of one of types when it is above cap.
rate_over(quantity, types, cap) := rate if {
	types[quantity[2]]
	rate := quantity[3] / quantity[4]
	rate > cap
}

# METADATA
# title: Minimum trade quantity
# description: Every requested quantity is a number of at least data.limits.min_trade_kwh.
# related_resources:
#   - ref: intent.md#minimum-quantity
violations contains violation("minimum-quantity", msg) if {
	all_payload_values := payload_values
	some value in all_payload_values
	value[2] == "REQUESTED_QTY"
	qty := value[4]
	not at_least_minimum(qty)
	msg := sprintf("commitment %v interval %v: REQUESTED_QTY %v kWh is below the minimum of %v kWh", [value[0], value[1], qty, limits.min_trade_kwh])
}

# METADATA
# title: Minimum trade quantity
# description: Every resource quantity of a commitment is at least data.limits.min_trade_kwh.
# related_resources:
#   - ref: intent.md#minimum-quantity
violations contains violation("minimum-quantity", msg) if {
	all_resources := resources
	some [cid, rid, r] in all_resources
	q := get(r, "quantity", null)
	is_object(q)
	qty := get(q, "unitQuantity", null)
	not at_least_minimum(qty)
	msg := sprintf("commitment %v resource %v: quantity %v kWh is below the minimum of %v kWh", [cid, rid, qty, limits.min_trade_kwh])
}

at_least_minimum(qty) if {
	is_number(qty)
	qty >= min_trade_kwh
}

# Values of payload type t at the same commitment, interval and index as a FINAL_ALLOC value.
# (Equal arrays have equal elements, so comparing the index and type first only skips work.)
matching(cid, iid, t, j) := {value[4] |
	all_payload_values := payload_values
	some value in all_payload_values
	value[3] == j
	value[2] == t
	[value[0], value[1], value[2], value[3]] == [cid, iid, t, j]
}

# METADATA
# title: Allocation within both DISCOM allocations
# description: Every FINAL_ALLOC value has a BUYER_DISCOM_ALLOC and a SELLER_DISCOM_ALLOC for the same interval.
# related_resources:
#   - ref: intent.md#allocation-within-min
violations contains violation("allocation-within-min", msg) if {
	all_payload_values := payload_values
	some value in all_payload_values
	value[2] == "FINAL_ALLOC"
	cid := value[0]
	iid := value[1]
	j := value[3]
	some t in ["BUYER_DISCOM_ALLOC", "SELLER_DISCOM_ALLOC"]
	count(matching(cid, iid, t, j)) == 0
	msg := sprintf("commitment %v interval %v: FINAL_ALLOC value %v has no %v to bound it", [cid, iid, j, t])
}

# METADATA
# title: Allocation within both DISCOM allocations
# description: FINAL_ALLOC never exceeds min(BUYER_DISCOM_ALLOC, SELLER_DISCOM_ALLOC) of its interval.
# related_resources:
#   - ref: intent.md#allocation-within-min
violations contains violation("allocation-within-min", msg) if {
	all_payload_values := payload_values
	some value in all_payload_values
	value[2] == "FINAL_ALLOC"
	cid := value[0]
	iid := value[1]
	j := value[3]
	final := value[4]
	buyer := matching(cid, iid, "BUYER_DISCOM_ALLOC", j)
	seller := matching(cid, iid, "SELLER_DISCOM_ALLOC", j)
	count(buyer) > 0
	count(seller) > 0
	bound := min(buyer | seller)
	not final <= bound
	msg := sprintf(
		"commitment %v interval %v: FINAL_ALLOC %v kWh exceeds min(BUYER_DISCOM_ALLOC %v, SELLER_DISCOM_ALLOC %v) = %v kWh",
		[cid, iid, final, min(buyer), min(seller), bound],
	)
}
