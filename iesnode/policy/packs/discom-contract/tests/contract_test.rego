package ies.contracts.discom_test

import rego.v1

import data.ies.contracts.discom

# A settled two-interval P2P contract between BESCOM-KA (buyer side) and HESCOM-KA (seller side).
valid_message := {"contract": {
	"id": "contract-001",
	"commitments": [{
		"id": "commitment-001",
		"commitmentAttributes": {
			"@type": "TimeSeries",
			"payloadDescriptors": [
				{"payloadType": "PRICE_PER_KWH", "currency": "INR"},
				{"payloadType": "REQUESTED_QTY", "units": "KWH"},
				{"payloadType": "FINAL_ALLOC", "units": "KWH"},
			],
			"intervals": [
				{"id": 0, "payloads": [
					{"type": "PRICE_PER_KWH", "values": [12.5]},
					{"type": "REQUESTED_QTY", "values": [20.5]},
					{"type": "FINAL_ALLOC", "values": [18.25]},
				]},
				{"id": 1, "payloads": [
					{"type": "PRICE_PER_KWH", "values": [11]},
					{"type": "REQUESTED_QTY", "values": [10]},
					{"type": "FINAL_ALLOC", "values": [10]},
				]},
			],
		},
	}],
	"consideration": [
		{"id": "wheel-b", "considerationAttributes": {"@type": "WheelingCharge", "role": "buyerDiscom", "ratePerKwh": 0.45, "currency": "INR"}},
		{"id": "wheel-s", "considerationAttributes": {"@type": "WheelingCharge", "role": "sellerDiscom", "ratePerKwh": 0.35, "currency": "INR"}},
		{"id": "penalty", "considerationAttributes": {"@type": "ShortfallPenalty", "ratePerKwh": 1.5, "currency": "INR"}},
		{"id": "platform-b", "considerationAttributes": {"@type": "PlatformCharge", "role": "buyerPlatform", "ratePerKwh": 0.25, "currency": "INR"}},
	],
	"contractAttributes": {
		"@type": "DEGContract",
		"roles": [
			{"role": "buyerPlatform", "participantId": "buyerapp.example.com"},
			{"role": "sellerPlatform", "participantId": "sellerapp.example.com"},
			{"role": "buyerDiscom", "participantId": "BESCOM-KA"},
			{"role": "sellerDiscom", "participantId": "HESCOM-KA"},
		],
	},
}}

rules_for(msg) := rules if {
	found := discom.violations with input.message as msg with input.action as "on_status"
	rules := {v.rule | some v in found}
}

flows_for(msg) := flows if {
	flows := discom.revenue_flows with input.message as msg with input.action as "on_status"
}

patched(ops) := json.patch(valid_message, ops)

test_valid_contract_has_no_violations if {
	msg := valid_message
	rules_for(msg) == set()
}

test_not_enforced_on_other_actions if {
	msg := patched([{"op": "replace", "path": "/contract/contractAttributes/roles/2/participantId", "value": "UNKNOWN"}])
	found := discom.violations with input.message as msg with input.action as "discover"
	count(found) == 0
}

test_discom_roles_present_violation if {
	msg := patched([{"op": "remove", "path": "/contract/contractAttributes/roles/3"}])
	rules_for(msg) == {"discom-roles-present"}
}

test_discom_roles_present_duplicate_violation if {
	msg := patched([{"op": "add", "path": "/contract/contractAttributes/roles/-", "value": {"role": "buyerDiscom", "participantId": "MESCOM-KA"}}])
	rules_for(msg) == {"discom-roles-present"}
}

test_counterpart_discom_allowed_violation if {
	msg := patched([{"op": "replace", "path": "/contract/contractAttributes/roles/3/participantId", "value": "TPDDL-DL"}])
	"counterpart-discom-allowed" in rules_for(msg)
}

test_currency_allowed_violation if {
	msg := patched([{"op": "replace", "path": "/contract/commitments/0/commitmentAttributes/payloadDescriptors/0/currency", "value": "USD"}])
	rules_for(msg) == {"currency-allowed"}
}

test_currency_allowed_consideration_violation if {
	msg := patched([{"op": "replace", "path": "/contract/consideration/3/considerationAttributes/currency", "value": "EUR"}])
	rules_for(msg) == {"currency-allowed"}
}

test_wheeling_charge_matches_violation if {
	msg := patched([{"op": "replace", "path": "/contract/consideration/0/considerationAttributes/ratePerKwh", "value": 0.4}])
	rules_for(msg) == {"wheeling-charge-matches"}
}

test_shortfall_penalty_matches_violation if {
	msg := patched([{"op": "replace", "path": "/contract/consideration/2/considerationAttributes/ratePerKwh", "value": 1}])
	rules_for(msg) == {"shortfall-penalty-matches"}
}

test_platform_charge_cap_violation if {
	msg := patched([{"op": "replace", "path": "/contract/consideration/3/considerationAttributes/ratePerKwh", "value": 0.75}])
	rules_for(msg) == {"platform-charge-cap"}
}

test_platform_charge_at_cap_allowed if {
	msg := patched([{"op": "replace", "path": "/contract/consideration/3/considerationAttributes/ratePerKwh", "value": 0.5}])
	rules_for(msg) == set()
}

test_violation_message_names_values if {
	msg := patched([{"op": "replace", "path": "/contract/consideration/3/considerationAttributes/ratePerKwh", "value": 0.75}])
	found := discom.violations with input.message as msg with input.action as "init"
	some v in found
	v.message == "buyerPlatform charges 75 paise/kWh; the cap is 50"
	v.intent == "intent.md#platform-charge-cap"
}

amount_of(flows, from, to, reason) := [f.amount_paise | some f in flows; f.from == from; f.to == to; f.reason == reason; f.amount_paise > 0][0]

test_revenue_flows_amounts if {
	msg := valid_message
	flows := flows_for(msg)
	amount_of(flows, "buyer", "seller", "energy_payment") == 33813
	amount_of(flows, "buyer", "buyerDiscom", "wheeling_charge") == 1271
	amount_of(flows, "seller", "sellerDiscom", "wheeling_charge") == 989
	amount_of(flows, "seller", "buyerDiscom", "shortfall_penalty") == 338
	amount_of(flows, "buyer", "buyerPlatform", "platform_charge") == 706
	count(flows) == 10
}

test_revenue_flows_sum_to_zero if {
	msg := valid_message
	flows := flows_for(msg)
	count(flows) > 0
	sum([f.amount_paise | some f in flows]) == 0
}

test_revenue_flows_are_integers if {
	msg := valid_message
	every f in flows_for(msg) {
		is_number(f.amount_paise)
		f.amount_paise == round(f.amount_paise)
	}
}

test_revenue_flows_empty_before_settlement if {
	msg := patched([
		{"op": "remove", "path": "/contract/commitments/0/commitmentAttributes/intervals/0/payloads/2"},
		{"op": "remove", "path": "/contract/commitments/0/commitmentAttributes/intervals/1/payloads/2"},
	])
	flows_for(msg) == []
}

test_revenue_flows_empty_for_unknown_discom if {
	msg := patched([{"op": "replace", "path": "/contract/contractAttributes/roles/2/participantId", "value": "TPDDL-DL"}])
	flows_for(msg) == []
}
