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
	some [where, value] in currency_fields
	not value in limits.currencies
	msg := sprintf("%v is %v; money must be in %v", [where, value, limits.currencies])
}

# METADATA
# title: Money in INR, energy in kWh
# description: Every quantity unit field of the contract (see fields.rego) is an energy unit (kWh).
# related_resources:
#   - ref: intent.md#units
violations contains violation("units", msg) if {
	some [where, value] in unit_fields
	not energy_unit(value)
	msg := sprintf("%v is %v; energy must be in %v", [where, value, limits.energy_units])
}

energy_unit(value) if {
	is_string(value)
	upper(value) in limits.energy_units
}

# METADATA
# title: Money in INR, energy in kWh
# description: A resource quantity names its unit.
# related_resources:
#   - ref: intent.md#units
violations contains violation("units", msg) if {
	some [cid, rid, r] in resources
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
	some [cid, c] in labelled_commitments
	some d in arr(get(series(c), "payloadDescriptors", []))
	t := get(d, "payloadType", "")
	some [suffix, field] in [["_QTY", "units"], ["_ALLOC", "units"], ["_PER_KWH", "currency"]]
	endswith(t, suffix)
	get(d, field, null) == null
	msg := sprintf("commitment %v: payload descriptor %v declares no %v", [cid, t, field])
}

# METADATA
# title: No self-trade
# description: The buyer and the seller do not trade on the same meter.
# related_resources:
#   - ref: intent.md#no-self-trade
violations contains violation("no-self-trade", msg) if {
	some b in buyers
	some s in sellers
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
	some b in buyers
	meter := get(attrs(b), "meterId", null)
	non_empty_string(meter)
	some [cid, rid, r] in resources
	meter == get(get(r, "resourceAttributes", {}), "meterId", null)
	msg := sprintf("commitment %v resource %v is supplied from meter %v, the meter of buyer %v", [cid, rid, meter, b.id])
}

# METADATA
# title: No GRID source
# description: P2P energy comes from the seller's own assets, never from a GRID source type.
# related_resources:
#   - ref: intent.md#no-grid-source
violations contains violation("no-grid-source", msg) if {
	some [cid, rid, r] in resources
	some key in ["sourceType", "type"]
	source := get(get(r, "resourceAttributes", {}), key, null)
	is_string(source)
	upper(source) in limits.forbidden_source_types
	msg := sprintf("commitment %v resource %v has resourceAttributes.%v %v, which P2P trades may not use", [cid, rid, key, source])
}

# METADATA
# title: Every payload type declared
# description: Only the attribute bundles listed in data.limits.attribute_types appear in a contract.
# related_resources:
#   - ref: intent.md#payload-types-declared
violations contains violation("payload-types-declared", msg) if {
	some [where, key, _] in bundles
	not limits.attribute_types[key]
	allowed := [k | limits.attribute_types[k]]
	msg := sprintf("%v.%v: this attribute bundle is not allowed in a P2P contract (allowed: %v)", [where, key, allowed])
}

# METADATA
# title: Every payload type declared
# description: Each attribute bundle declares an @type allowed for it.
# related_resources:
#   - ref: intent.md#payload-types-declared
violations contains violation("payload-types-declared", msg) if {
	some [where, key, declared] in bundles
	allowed := limits.attribute_types[key]
	not declared in allowed
	msg := sprintf("%v.%v declares @type %v; expected one of %v", [where, key, declared, allowed])
}

# METADATA
# title: Every payload type declared
# description: Every commitment carries commitmentAttributes and every resource carries resourceAttributes.
# related_resources:
#   - ref: intent.md#payload-types-declared
violations contains violation("payload-types-declared", msg) if {
	some [cid, c] in labelled_commitments
	not is_object(get(c, "commitmentAttributes", null))
	msg := sprintf("commitment %v carries no commitmentAttributes, so its type is undeclared", [cid])
}

# METADATA
# title: Every payload type declared
# description: Every resource of a commitment carries resourceAttributes.
# related_resources:
#   - ref: intent.md#payload-types-declared
violations contains violation("payload-types-declared", msg) if {
	some [cid, rid, r] in resources
	not is_object(get(r, "resourceAttributes", null))
	msg := sprintf("commitment %v resource %v carries no resourceAttributes, so its type is undeclared", [cid, rid])
}

# METADATA
# title: Every payload type declared
# description: Every interval payload type is declared in the commitment's payloadDescriptors.
# related_resources:
#   - ref: intent.md#payload-types-declared
violations contains violation("payload-types-declared", msg) if {
	some [cid, c] in labelled_commitments
	declared := {get(d, "payloadType", null) | some d in arr(get(series(c), "payloadDescriptors", []))}
	some n, i in arr(get(series(c), "intervals", []))
	some p in arr(get(i, "payloads", []))
	t := get(p, "type", null)
	not t in declared
	msg := sprintf("commitment %v interval %v carries payload type %v, which payloadDescriptors do not declare (declared: %v)", [cid, label(n, i), t, sort(declared)])
}

# METADATA
# title: Every payload type declared
# description: Every declared payload type is one of data.limits.payload_types.
# related_resources:
#   - ref: intent.md#payload-types-declared
violations contains violation("payload-types-declared", msg) if {
	some [cid, c] in labelled_commitments
	some d in arr(get(series(c), "payloadDescriptors", []))
	t := get(d, "payloadType", null)
	not t in limits.payload_types
	msg := sprintf("commitment %v declares payload type %v, not one of %v", [cid, t, limits.payload_types])
}
