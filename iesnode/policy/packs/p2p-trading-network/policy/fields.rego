# The message fields the units and payload-type rules read, enumerated explicitly
# (intent.md lists them). walk() over a contract costs ~150 ms in regopy 1.5.2, so the
# sites are named instead. Every "where" is a sprintf format and its arguments, rendered
# (safely, by sprintf) only for a violation, and the bundles are read from each holder in
# place rather than from a list of holders (regopy copies an object put into a new
# collection deeply; common.rego lists the costs).
package ies.p2p.network

import rego.v1

considerations := arr(get(contract, "consideration", []))

# Money fields as [where format, where arguments, value].
currency_fields := array.concat(
	array.concat(
		[["contract.consideration[%d].price.currency", [k], v] | v := considerations[k].price.currency],
		[["contract.consideration[%d].considerationAttributes.currency", [k], v] |
			v := considerations[k].considerationAttributes.currency
		],
	),
	array.concat(
		[["contract.consideration[%d].considerationAttributes.revenueFlows[%d].currency", [k, m], v] |
			flows := arr(considerations[k].considerationAttributes.revenueFlows)
			v := flows[m].currency
		],
		[["commitment %v payloadDescriptors[%d].currency", [cid, d], v] |
			some [cid, n] in labelled_commitments
			v := arr(commitments[n].commitmentAttributes.payloadDescriptors)[d].currency
		],
	),
)

# Energy unit fields as [where format, where arguments, value].
unit_fields := array.concat(
	array.concat(
		array.concat(
			[["commitment %v quantity.%v", [cid, key], v] |
				some [cid, n] in labelled_commitments
				quantity := commitments[n].quantity
				some key in ["unitCode", "unitText"]
				v := quantity[key]
			],
			[["commitment %v resource %v quantity.%v", [cid, rid, key], v] |
				some [cid, rid, r] in resources
				quantity := r.quantity
				some key in ["unitCode", "unitText"]
				v := quantity[key]
			],
		),
		[["commitment %v payloadDescriptors[%d].units", [cid, d], v] |
			some [cid, n] in labelled_commitments
			v := arr(commitments[n].commitmentAttributes.payloadDescriptors)[d].units
		],
	),
	array.concat(
		[["contract.consideration[%d].price.unitText", [k], v] | v := considerations[k].price.unitText],
		[["contract.consideration[%d].considerationAttributes.unitText", [k], v] |
			v := considerations[k].considerationAttributes.unitText
		],
	),
)

# The attribute bundles of an object that may carry them, as [key, declared @type or null]
# (every key of a JSON object is a string).
bundles_of(holder) := [[key, get(value, "@type", null)] |
	is_object(holder)
	value := holder[key]
	endswith(key, "Attributes")
]

# The keys of data.limits.attribute_types (for messages).
attribute_keys := [k | limits.attribute_types[k]]

# Attribute bundles of the contract, its commitments, resources and offers, and of its
# participants, consideration, settlements and performance entries, as
# [where format, where arguments, key, declared @type or null].
bundles := array.concat(
	array.concat(
		[["contract", [], key, declared] | some [key, declared] in bundles_of(contract)],
		[["contract.commitments[%d]", [k], key, declared] |
			c := commitments[k]
			some [key, declared] in bundles_of(c)
		],
	),
	array.concat(
		array.concat(
			[["contract.commitments[%d].resources[%d]", [k, j], key, declared] |
				r := arr(commitments[k].resources)[j]
				some [key, declared] in bundles_of(r)
			],
			[["contract.commitments[%d].offer", [k], key, declared] |
				o := commitments[k].offer
				some [key, declared] in bundles_of(o)
			],
		),
		[["contract.%v[%d]", [list, k], key, declared] |
			some list in ["participants", "consideration", "settlements", "performance"]
			x := arr(get(contract, list, []))[k]
			some [key, declared] in bundles_of(x)
		],
	),
)
