# The message fields the units and payload-type rules read, enumerated explicitly
# (intent.md lists them). walk() over a contract costs ~150 ms in regopy 1.5.2, so the
# sites are named instead; every "where" is built with sprintf, which regopy renders safely.
package ies.p2p.network

import rego.v1

considerations := arr(get(contract, "consideration", []))

descriptors(c) := arr(get(series(c), "payloadDescriptors", []))

# Money fields as [where, value].
currency_fields contains [sprintf("contract.consideration[%d].price.currency", [k]), v] if {
	v := considerations[k].price.currency
}

currency_fields contains [sprintf("contract.consideration[%d].considerationAttributes.currency", [k]), v] if {
	v := considerations[k].considerationAttributes.currency
}

currency_fields contains [where, v] if {
	flows := arr(considerations[k].considerationAttributes.revenueFlows)
	v := flows[m].currency
	where := sprintf("contract.consideration[%d].considerationAttributes.revenueFlows[%d].currency", [k, m])
}

currency_fields contains [sprintf("commitment %v payloadDescriptors[%d].currency", [cid, d]), v] if {
	some [cid, c] in labelled_commitments
	v := descriptors(c)[d].currency
}

# Energy unit fields as [where, value].
unit_fields contains [sprintf("commitment %v quantity.%v", [cid, key]), v] if {
	some [cid, c] in labelled_commitments
	some key in ["unitCode", "unitText"]
	v := c.quantity[key]
}

unit_fields contains [sprintf("commitment %v resource %v quantity.%v", [cid, rid, key]), v] if {
	some [cid, rid, r] in resources
	some key in ["unitCode", "unitText"]
	v := r.quantity[key]
}

unit_fields contains [sprintf("commitment %v payloadDescriptors[%d].units", [cid, d]), v] if {
	some [cid, c] in labelled_commitments
	v := descriptors(c)[d].units
}

unit_fields contains [sprintf("contract.consideration[%d].price.unitText", [k]), v] if {
	v := considerations[k].price.unitText
}

unit_fields contains [sprintf("contract.consideration[%d].considerationAttributes.unitText", [k]), v] if {
	v := considerations[k].considerationAttributes.unitText
}

# Objects that may carry attribute bundles, as [where, object].
holders := array.concat(
	array.concat(
		[["contract", contract]],
		[[sprintf("contract.commitments[%d]", [k]), c] | c := commitments[k]],
	),
	array.concat(
		array.concat(
			[[sprintf("contract.commitments[%d].resources[%d]", [k, j]), r] | r := arr(commitments[k].resources)[j]],
			[[sprintf("contract.commitments[%d].offer", [k]), o] | o := commitments[k].offer],
		),
		[[sprintf("contract.%v[%d]", [list, k]), x] |
			some list in ["participants", "consideration", "settlements", "performance"]
			x := arr(get(contract, list, []))[k]
		],
	),
)

# Attribute bundles as [where, key, declared @type or null].
bundles contains [where, key, get(value, "@type", null)] if {
	some [where, holder] in holders
	is_object(holder)
	value := holder[key]
	is_string(key)
	endswith(key, "Attributes")
}
