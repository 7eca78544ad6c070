# METADATA
# title: DISCOM contract policy (P2P trading)
# description: >-
#   Contract policy a DISCOM publishes for P2P trades it takes part in, referenced from the
#   payload (contractAttributes.policy). Enforces counterpart DISCOMs, declared charges and the
#   platform charge cap; computes net-zero revenue flows in integer paise at settlement.
#   See energy-domain research section 5.3 and intent.md.
# related_resources:
#   - ref: intent.md
package ies.contracts.discom

import rego.v1

cfg := data.contract

discom_roles := {"buyerDiscom", "sellerDiscom"}

enforced if input.action in cfg.enforced_actions

contract := object.get(input, ["message", "contract"], {})

roles := object.get(contract, ["contractAttributes", "roles"], [])

considerations := object.get(contract, "consideration", [])

commitments := object.get(contract, "commitments", [])

# Every participantId bound to a role in the contract.
ids_of(role) := {r.participantId | some r in roles; r.role == role}

# The single participantId bound to a role (undefined when absent or ambiguous).
id_of(role) := id if {
	ids := ids_of(role)
	count(ids) == 1
	some id in ids
}

# Declared considerations of one JSON-LD @type.
declared(kind) := [a |
	some c in considerations
	a := object.get(c, "considerationAttributes", {})
	object.get(a, "@type", "") == kind
]

paise(inr) := round(inr * 100)

violation(rule, title, message) := {
	"rule": rule,
	"title": title,
	"message": message,
	"intent": concat("", ["intent.md#", rule]),
}

# METADATA
# title: DISCOM roles present
# description: The contract binds exactly one participant to buyerDiscom and to sellerDiscom.
# related_resources:
#   - ref: intent.md#discom-roles-present
violations contains v if {
	enforced
	some role in discom_roles
	n := count(ids_of(role))
	n != 1
	v := violation(
		"discom-roles-present",
		"DISCOM roles present",
		sprintf("role %v is bound to %d participants; exactly 1 is required", [role, n]),
	)
}

# METADATA
# title: Counterpart DISCOM allowed
# description: Every DISCOM in the contract is one this policy has an agreement (and wheeling rates) with.
# related_resources:
#   - ref: intent.md#counterpart-discom-allowed
violations contains v if {
	enforced
	some role in discom_roles
	some id in ids_of(role)
	not cfg.discoms[id]
	v := violation(
		"counterpart-discom-allowed",
		"Counterpart DISCOM allowed",
		sprintf("%v %v is not an allowed counterpart (allowed: %v)", [role, id, sort(object.keys(cfg.discoms))]),
	)
}

# METADATA
# title: Currency allowed
# description: Prices and declared charges are in an allowed currency (INR).
# related_resources:
#   - ref: intent.md#currency-allowed
violations contains v if {
	enforced
	some where, currency in declared_currencies
	not currency in cfg.allowed_currencies
	v := violation(
		"currency-allowed",
		"Currency allowed",
		sprintf("%v uses currency %v; allowed: %v", [where, currency, cfg.allowed_currencies]),
	)
}

declared_currencies[where] := currency if {
	some ci, c in commitments
	some di, d in object.get(c, ["commitmentAttributes", "payloadDescriptors"], [])
	currency := d.currency
	where := sprintf("commitments[%d].payloadDescriptors[%d]", [ci, di])
}

declared_currencies[where] := currency if {
	some ci, c in considerations
	currency := c.considerationAttributes.currency
	where := sprintf("consideration[%d]", [ci])
}

# METADATA
# title: Wheeling charge as configured
# description: A declared WheelingCharge for a DISCOM role equals the rate configured for that DISCOM.
# related_resources:
#   - ref: intent.md#wheeling-charge-matches
violations contains v if {
	enforced
	some a in declared("WheelingCharge")
	id := id_of(a.role)
	expected := configured_wheeling(a.role, id)
	got := paise(a.ratePerKwh)
	got != expected
	v := violation(
		"wheeling-charge-matches",
		"Wheeling charge as configured",
		sprintf("declared wheeling for %v %v is %d paise/kWh; configured is %d", [a.role, id, got, expected]),
	)
}

configured_wheeling("buyerDiscom", id) := cfg.discoms[id].buyer_wheeling_paise_per_kwh

configured_wheeling("sellerDiscom", id) := cfg.discoms[id].seller_wheeling_paise_per_kwh

# METADATA
# title: Shortfall penalty as configured
# description: A declared ShortfallPenalty rate equals the configured shortfall penalty rate.
# related_resources:
#   - ref: intent.md#shortfall-penalty-matches
violations contains v if {
	enforced
	some a in declared("ShortfallPenalty")
	got := paise(a.ratePerKwh)
	got != cfg.shortfall_penalty.paise_per_kwh
	v := violation(
		"shortfall-penalty-matches",
		"Shortfall penalty as configured",
		sprintf("declared shortfall penalty is %d paise/kWh; configured is %d", [got, cfg.shortfall_penalty.paise_per_kwh]),
	)
}

# METADATA
# title: Platform charge cap
# description: A declared PlatformCharge rate does not exceed the platform charge cap.
# related_resources:
#   - ref: intent.md#platform-charge-cap
violations contains v if {
	enforced
	some a in declared("PlatformCharge")
	got := paise(a.ratePerKwh)
	got > cfg.platform_charge_cap_paise_per_kwh
	v := violation(
		"platform-charge-cap",
		"Platform charge cap",
		sprintf("%v charges %d paise/kWh; the cap is %d", [a.role, got, cfg.platform_charge_cap_paise_per_kwh]),
	)
}
