# Settlement computation for the DISCOM contract policy: net-zero revenue flows in integer paise.
# See intent.md#revenue-flows and energy-domain research sections 2.2 and 5.3.
package ies.contracts.discom

import rego.v1

# The value of the first payload of a type in one interval.
payload(iv, kind) := v if {
	vals := [p.values[0] | some p in object.get(iv, "payloads", []); p.type == kind]
	count(vals) > 0
	v := vals[0]
}

requested_kwh(iv, alloc) := v if {
	v := payload(iv, "REQUESTED_QTY")
} else := alloc

# Paise for a quantity in Wh at a rate in paise/kWh, rounded half away from zero.
charge(wh, paise_per_kwh) := round((wh * paise_per_kwh) / 1000)

# The platform rate in paise/kWh actually charged: the declared rate, never above the cap.
platform_rate(role) := min([paise(a.ratePerKwh), cfg.platform_charge_cap_paise_per_kwh]) if {
	rates := [a | some a in declared("PlatformCharge"); a.role == role]
	count(rates) > 0
	a := rates[0]
} else := 0

# One entry per settled interval (an interval with FINAL_ALLOC and PRICE_PER_KWH), holding each
# charge of that interval in paise. Charges are computed per interval here, so that the sums below
# need no comprehension that captures a local variable.
settled contains s if {
	buyer_wheeling := cfg.discoms[id_of("buyerDiscom")].buyer_wheeling_paise_per_kwh
	seller_wheeling := cfg.discoms[id_of("sellerDiscom")].seller_wheeling_paise_per_kwh
	some ci, c in commitments
	some iv in object.get(c, ["commitmentAttributes", "intervals"], [])
	alloc := payload(iv, "FINAL_ALLOC")
	price := payload(iv, "PRICE_PER_KWH")
	alloc_wh := round(alloc * 1000)
	shortfall_wh := max([0, round(requested_kwh(iv, alloc) * 1000) - alloc_wh])
	s := {
		"key": [ci, iv.id],
		"energy_payment": charge(alloc_wh, paise(price)),
		"buyer_wheeling": charge(alloc_wh, buyer_wheeling),
		"seller_wheeling": charge(alloc_wh, seller_wheeling),
		"shortfall_penalty": charge(shortfall_wh, cfg.shortfall_penalty.paise_per_kwh),
		"buyer_platform": charge(alloc_wh, platform_rate("buyerPlatform")),
		"seller_platform": charge(alloc_wh, platform_rate("sellerPlatform")),
	}
}

total := {
	"energy_payment": sum([s.energy_payment | some s in settled]),
	"buyer_wheeling": sum([s.buyer_wheeling | some s in settled]),
	"seller_wheeling": sum([s.seller_wheeling | some s in settled]),
	"shortfall_penalty": sum([s.shortfall_penalty | some s in settled]),
	"buyer_platform": sum([s.buyer_platform | some s in settled]),
	"seller_platform": sum([s.seller_platform | some s in settled]),
}

# Transfers {from, to, amount, reason}: who pays whom, before double entry.
transfers := {
	{"from": "buyer", "to": "seller", "amount": total.energy_payment, "reason": "energy_payment"},
	{"from": "buyer", "to": "buyerDiscom", "amount": total.buyer_wheeling, "reason": "wheeling_charge"},
	{"from": "seller", "to": "sellerDiscom", "amount": total.seller_wheeling, "reason": "wheeling_charge"},
	{
		"from": cfg.shortfall_penalty.payer,
		"to": cfg.shortfall_penalty.payee,
		"amount": total.shortfall_penalty,
		"reason": "shortfall_penalty",
	},
	{"from": "buyer", "to": "buyerPlatform", "amount": total.buyer_platform, "reason": "platform_charge"},
	{"from": "seller", "to": "sellerPlatform", "amount": total.seller_platform, "reason": "platform_charge"},
}

# Double entry: each non-zero transfer of X paise is a debit posting (-X) and a credit posting (+X)
# with the same from/to/reason, so the postings sum to zero.
postings contains p if {
	some t in transfers
	t.amount > 0
	some sign in [-1, 1]
	p := {"from": t.from, "to": t.to, "amount_paise": sign * t.amount, "reason": t.reason}
}

# METADATA
# title: Revenue flows
# description: >-
#   Net-zero settlement postings {from, to, amount_paise, reason} in integer paise; empty until
#   the contract has settled intervals (FINAL_ALLOC) and both DISCOM roles are bound.
# related_resources:
#   - ref: intent.md#revenue-flows
revenue_flows := sort([p | some p in postings]) if {
	count(settled) > 0
	cfg.discoms[id_of("buyerDiscom")]
	cfg.discoms[id_of("sellerDiscom")]
} else := []
