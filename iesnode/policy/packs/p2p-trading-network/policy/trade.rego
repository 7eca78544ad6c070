# Trade validity rules of the P2P trading network (intent.md sections units,
# no-self-trade, no-grid-source, payload-types-declared).
package ies.p2p.network

import rego.v1

# METADATA
# title: Money in INR, energy in kWh
# description: Every money field of the contract (see fields.rego) is an allowed currency (INR).
# related_resources:
#   - ref: intent.md#units
violations contains violation("units", msg) if {
	all_currency_fields := currency_fields
	some [where, args, value] in all_currency_fields
	not currencies[value]
	msg := sprintf("%v is %v; money must be in %v", [sprintf(where, args), value, limits.currencies])
}

# METADATA
# title: Money in INR, energy in kWh
# description: Every quantity unit field of the contract (see fields.rego) is an energy unit (kWh).
# related_resources:
#   - ref: intent.md#units
violations contains violation("units", msg) if {
	all_unit_fields := unit_fields
	some [where, args, value] in all_unit_fields
	not energy_unit(value)
	msg := sprintf("%v is %v; energy must be in %v", [sprintf(where, args), value, limits.energy_units])
}

energy_unit(value) if {
	is_string(value)
	energy_units[upper(value)]
}

# METADATA
# title: Money in INR, energy in kWh
# description: A resource quantity names its unit.
# related_resources:
#   - ref: intent.md#units
violations contains violation("units", msg) if {
	all_resources := resources
	some [cid, rid, r] in all_resources
	q := get(r, "quantity", null)
	is_object(q)
	not q.unitCode
	not q.unitText
	msg := sprintf("commitment %v resource %v: quantity %v has neither unitCode nor unitText", [cid, rid, q])
}

# METADATA
# title: Money in INR, energy in kWh
# description: Quantity payload descriptors declare units and price descriptors declare a currency.
# related_resources:
#   - ref: intent.md#units
violations contains violation("units", msg) if {
	all_labelled_commitments := labelled_commitments
	some [cid, n] in all_labelled_commitments
	some d in arr(commitments[n].commitmentAttributes.payloadDescriptors)
	t := get(d, "payloadType", "")
	some suffix_field in [["_QTY", "units"], ["_ALLOC", "units"], ["_PER_KWH", "currency"]]
	endswith(t, suffix_field[0])
	field := suffix_field[1]
	get(d, field, null) == null
	msg := sprintf("commitment %v: payload descriptor %v declares no %v", [cid, t, field])
}

# METADATA
# title: No self-trade
# description: The buyer and the seller do not trade on the same meter.
# related_resources:
#   - ref: intent.md#no-self-trade
violations contains violation("no-self-trade", msg) if {
	all_buyers := buyers
	some b in all_buyers
	all_sellers := sellers
	some s in all_sellers
	meter := get(attrs(b), "meterId", null)
	non_empty_string(meter)
	meter == get(attrs(s), "meterId", null)
	msg := sprintf("buyer %v and seller %v both trade on meter %v", [b.id, s.id, meter])
}

# METADATA
# title: No self-trade
# description: No resource is supplied from the buyer's own meter.
# related_resources:
#   - ref: intent.md#no-self-trade
violations contains violation("no-self-trade", msg) if {
	all_buyers := buyers
	some b in all_buyers
	meter := get(attrs(b), "meterId", null)
	non_empty_string(meter)
	all_resources := resources
	some [cid, rid, r] in all_resources
	meter == get(get(r, "resourceAttributes", {}), "meterId", null)
	msg := sprintf("commitment %v resource %v is supplied from meter %v, the meter of buyer %v", [cid, rid, meter, b.id])
}

# METADATA
# title: No GRID source
# description: P2P energy comes from the seller's own assets, never from a GRID source type.
# related_resources:
#   - ref: intent.md#no-grid-source
violations contains violation("no-grid-source", msg) if {
	all_resources := resources
	some [cid, rid, r] in all_resources
	some key in ["sourceType", "type"]
	source := get(get(r, "resourceAttributes", {}), key, null)
	is_string(source)
	forbidden_source_types[upper(source)]
	msg := sprintf("commitment %v resource %v has resourceAttributes.%v %v, which P2P trades may not use", [cid, rid, key, source])
}

# METADATA
# title: Every payload type declared
# description: Only the attribute bundles listed in data.limits.attribute_types appear in a contract.
# related_resources:
#   - ref: intent.md#payload-types-declared
violations contains violation("payload-types-declared", msg) if {
	all_bundles := bundles
	some bundle in all_bundles
	key := bundle[2]
	not attribute_types[key]
	msg := sprintf("%v.%v: this attribute bundle is not allowed in a P2P contract (allowed: %v)", [sprintf(bundle[0], bundle[1]), key, attribute_keys])
}

# METADATA
# title: Every payload type declared
# description: Each attribute bundle declares an @type allowed for it.
# related_resources:
#   - ref: intent.md#payload-types-declared
violations contains violation("payload-types-declared", msg) if {
	all_bundles := bundles
	some bundle in all_bundles
	key := bundle[2]
	allowed := attribute_types[key]
	declared := bundle[3]
	not attribute_type_sets[key][declared]
	msg := sprintf("%v.%v declares @type %v; expected one of %v", [sprintf(bundle[0], bundle[1]), key, declared, allowed])
}

# METADATA
# title: Every payload type declared
# description: Every commitment carries commitmentAttributes and every resource carries resourceAttributes.
# related_resources:
#   - ref: intent.md#payload-types-declared
violations contains violation("payload-types-declared", msg) if {
	all_labelled_commitments := labelled_commitments
	some [cid, n] in all_labelled_commitments
	not is_object(get(commitments[n], "commitmentAttributes", null))
	msg := sprintf("commitment %v carries no commitmentAttributes, so its type is undeclared", [cid])
}

# METADATA
# title: Every payload type declared
# description: Every resource of a commitment carries resourceAttributes.
# related_resources:
#   - ref: intent.md#payload-types-declared
violations contains violation("payload-types-declared", msg) if {
	all_resources := resources
	some [cid, rid, r] in all_resources
	not is_object(get(r, "resourceAttributes", null))
	msg := sprintf("commitment %v resource %v carries no resourceAttributes, so its type is undeclared", [cid, rid])
}

# METADATA
# title: Every payload type declared
# description: Every interval payload type is declared in the commitment's payloadDescriptors.
# related_resources:
#   - ref: intent.md#payload-types-declared
violations contains violation("payload-types-declared", msg) if {
	all_labelled_commitments := labelled_commitments
	some [cid, n] in all_labelled_commitments
	c := commitments[n]
	declared := {get(d, "payloadType", null) | some d in arr(c.commitmentAttributes.payloadDescriptors)}
	some m, i in arr(c.commitmentAttributes.intervals)
	some p in arr(i.payloads)
	t := get(p, "type", null)
	not t in declared
	msg := sprintf("commitment %v interval %v carries payload type %v, which payloadDescriptors do not declare (declared: %v)", [cid, label(m, i), t, sort(declared)])
}

# METADATA
# title: Every payload type declared
# description: Every declared payload type is one of data.limits.payload_types.
# related_resources:
#   - ref: intent.md#payload-types-declared
violations contains violation("payload-types-declared", msg) if {
	all_labelled_commitments := labelled_commitments
	some [cid, n] in all_labelled_commitments
	some d in arr(commitments[n].commitmentAttributes.payloadDescriptors)
	t := get(d, "payloadType", null)
	not payload_types[t]
	msg := sprintf("commitment %v declares payload type %v, not one of %v", [cid, t, limits.payload_types])
}
