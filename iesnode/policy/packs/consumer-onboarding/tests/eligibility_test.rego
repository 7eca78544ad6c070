package ies.onboarding.eligibility_test

import rego.v1

import data.ies.onboarding.eligibility

valid_message := {"order": {"orderAttributes": {
	"@type": "EnergyProgramEnrollment",
	"programId": "ka-p2p-trading-2026",
	"meters": [{"meterId": "umid-ka-000101", "meterNumber": "SM-000101", "connectionType": "LT_DOMESTIC", "sanctionedLoad": 5}],
	"consents": [
		{"type": "DATA_COLLECTION", "granted": true},
		{"type": "CROSS_UTILITY_SHARING", "granted": true},
	],
}}}

rules_for(msg) := rules if {
	found := eligibility.violations with input.message as msg with input.action as "confirm"
	rules := {v.rule | some v in found}
}

patched(ops) := json.patch(valid_message, ops)

test_valid_enrollment_has_no_violations if {
	msg := valid_message
	rules_for(msg) == set()
}

test_contract_attributes_are_read_too if {
	msg := {"contract": {"contractAttributes": valid_message.order.orderAttributes}}
	rules_for(msg) == set()
}

test_not_enforced_on_init if {
	msg := patched([{"op": "replace", "path": "/order/orderAttributes/meters", "value": []}])
	found := eligibility.violations with input.message as msg with input.action as "init"
	count(found) == 0
}

test_programme_known_violation if {
	msg := patched([{"op": "replace", "path": "/order/orderAttributes/programId", "value": "tn-p2p"}])
	"programme-known" in rules_for(msg)
}

test_meters_present_violation if {
	msg := patched([{"op": "replace", "path": "/order/orderAttributes/meters", "value": []}])
	rules_for(msg) == {"meters-present"}
}

test_connection_type_eligible_violation if {
	msg := patched([{"op": "replace", "path": "/order/orderAttributes/meters/0/connectionType", "value": "HT_INDUSTRIAL"}])
	rules_for(msg) == {"connection-type-eligible"}
}

test_connection_type_eligible_in_other_programme if {
	msg := patched([
		{"op": "replace", "path": "/order/orderAttributes/programId", "value": "ka-rooftop-solar-dr"},
		{"op": "replace", "path": "/order/orderAttributes/meters/0/connectionType", "value": "HT_INDUSTRIAL"},
		{"op": "replace", "path": "/order/orderAttributes/meters/0/sanctionedLoad", "value": 120},
		{"op": "replace", "path": "/order/orderAttributes/consents/1/type", "value": "DER_CONTROL"},
	])
	rules_for(msg) == set()
}

test_sanctioned_load_above_limit_violation if {
	msg := patched([{"op": "replace", "path": "/order/orderAttributes/meters/0/sanctionedLoad", "value": 10.5}])
	rules_for(msg) == {"sanctioned-load-limit"}
}

test_sanctioned_load_below_limit_violation if {
	msg := patched([{"op": "replace", "path": "/order/orderAttributes/meters/0/sanctionedLoad", "value": 0.5}])
	rules_for(msg) == {"sanctioned-load-limit"}
}

test_sanctioned_load_at_limit_allowed if {
	msg := patched([{"op": "replace", "path": "/order/orderAttributes/meters/0/sanctionedLoad", "value": 10}])
	rules_for(msg) == set()
}

test_sanctioned_load_missing_violation if {
	msg := patched([{"op": "remove", "path": "/order/orderAttributes/meters/0/sanctionedLoad"}])
	rules_for(msg) == {"sanctioned-load-limit"}
}

test_meter_enrolled_in_register_violation if {
	msg := patched([{"op": "replace", "path": "/order/orderAttributes/meters/0/meterId", "value": "umid-ka-000042"}])
	rules_for(msg) == {"meter-not-already-enrolled"}
}

test_meter_enrolled_in_other_programme_allowed if {
	msg := patched([{"op": "replace", "path": "/order/orderAttributes/meters/0/meterId", "value": "umid-ka-000077"}])
	rules_for(msg) == set()
}

test_meter_conflict_in_payload_violation if {
	msg := patched([{"op": "add", "path": "/order/orderAttributes/conflictCheck", "value": {
		"hasConflict": true,
		"conflictingEnrollments": [{"conflictType": "METER_ALREADY_ENROLLED", "meterId": "umid-ka-000101"}],
	}}])
	rules_for(msg) == {"meter-not-already-enrolled"}
}

test_required_consent_not_granted_violation if {
	msg := patched([{"op": "replace", "path": "/order/orderAttributes/consents/0/granted", "value": false}])
	rules_for(msg) == {"required-consents-granted"}
}

test_required_consent_missing_violation if {
	msg := patched([{"op": "remove", "path": "/order/orderAttributes/consents/1"}])
	rules_for(msg) == {"required-consents-granted"}
}

test_violation_message_names_values if {
	msg := patched([{"op": "replace", "path": "/order/orderAttributes/meters/0/sanctionedLoad", "value": 12.5}])
	found := eligibility.violations with input.message as msg with input.action as "confirm"
	some v in found
	v.message == "meter umid-ka-000101: sanctioned load 12.5 kW is outside 1..10 kW for LT_DOMESTIC"
	v.intent == "intent.md#sanctioned-load-limit"
}
